"""Estimate the whole-space MGM run from a sample of the networks it builds, without running it.

    python -m benchmarks.space_estimate --data ../shared/data/cifar10/cifar10_small.npz --archs 24 --n 32

Scores a seeded sample of the 5,273 distinct networks (lowest index of each ``space.canonical``
group) in this process with one torch thread, as a scoring worker does (build + MGM, pruned),
and times each one's CPU seconds (``process_time``: what the process itself used, so other work
on the machine inflates it less than wall time). Projection: CPU seconds per forward MAC of the
sample x forward MACs of all 5,273 networks / ``--workers``, assuming the workers scale perfectly
(``benchmarks.cpu_options`` measures how well two do). An estimate, not a measurement of the run.
"""
import argparse
import random
import time

import torch

from knas.spaces.nb201 import costs, nets, cells as space
from knas.data import readers
from knas.scoring import scorer
from knas.proxies import mgm
from knas import spaces

NB201 = spaces.get("nb201")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", type=int, default=24)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    batch = scorer.make_batch(readers.load_named("cifar10", args.data), args.n, args.seed, NB201)
    representatives = [group[0] for group in space.canonical_groups().values()]
    sample = random.Random(args.seed).sample(representatives, args.archs)
    macs = {i: costs.count_flops(space.arch_at(i)) for i in representatives}

    def score(index):
        torch.manual_seed(args.seed)
        return mgm.mgm(nets.build(space.arch_at(index), batch.num_classes, prune=True), batch.x, batch.y)

    score(sample[0])  # warm-up
    cpu = wall = 0.0
    for index in sample:
        start, start_cpu = time.perf_counter(), time.process_time()
        score(index)
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
    per_mac = cpu / sum(macs[i] for i in sample)
    projected = per_mac * sum(macs.values()) / args.workers
    print(f"{args.archs} of {len(representatives)} distinct networks, n={args.n}, 1 torch thread: "
          f"{cpu / args.archs:.3f} CPU s/network ({wall / args.archs:.3f} s wall); mean forward "
          f"MACs {sum(macs[i] for i in sample) / args.archs / 1e6:.1f} M (all: "
          f"{sum(macs.values()) / len(macs) / 1e6:.1f} M)")
    print(f"ESTIMATE, whole space with {args.workers} perfectly scaling single-thread workers: "
          f"{projected:.0f} s = {projected / 60:.1f} min (scoring only; no cache or process start-up)")


if __name__ == "__main__":
    main()
