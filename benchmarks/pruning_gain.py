"""What pruning dead edges saves: forward MACs over the space, and MGM time on cells that have them.

    python -m benchmarks.pruning_gain --data ../shared/data/cifar10/cifar10_small.npz --archs 12 --n 32

MACs: ``count_flops`` (full cell) against ``pruning.pruned_flops`` over the 5,273 networks a
whole-space run builds (the lowest index of each ``space.canonical`` group) and over all 15,625
cells. Time: MGM on the same seeded networks, full and pruned, on random cells with dead convs;
each pass is timed ``--repeats`` times and the minimum kept (other work may share the CPU).
"""
import argparse
import random
import time

import torch

from knas.data import readers
from knas.spaces.nb201 import nets, pruning, cells as space
from knas.scoring import scorer
from knas.proxies import mgm
from knas import spaces

NB201 = spaces.get("nb201")


def _share_saved(indices):
    full = sum(nets.count_flops(space.arch_at(i)) for i in indices)
    pruned = sum(pruning.pruned_flops(space.arch_at(i)) for i in indices)
    with_dead = sum(1 for i in indices if pruning.skipped_convs(space.arch_at(i)))
    return 1 - pruned / full, with_dead


def _seconds(arch, prune, batch, seed, repeats):
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        torch.manual_seed(seed)
        value = mgm.mgm(nets.build(arch, batch.num_classes, prune=prune), batch.x, batch.y)
        best = min(best, time.perf_counter() - start)
    return best, value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    representatives = [group[0] for group in space.canonical_groups().values()]
    for label, indices in (("distinct networks (whole-space run)", representatives),
                           ("all cells", range(space.N_ARCHS))):
        saved, with_dead = _share_saved(indices)
        print(f"{label}: {len(indices)}, {with_dead} with dead convs; "
              f"forward MACs pruning removes: {100 * saved:.3f}%")

    batch = scorer.make_batch(readers.load_named("cifar10", args.data), args.n, args.seed, NB201)
    dead = [i for i in range(space.N_ARCHS) if pruning.skipped_convs(space.arch_at(i))]
    sample = random.Random(args.seed).sample(dead, args.archs)
    _seconds(space.arch_at(sample[0]), False, batch, args.seed, 1)  # warm-up
    full_total = pruned_total = 0.0
    for index in sample:
        arch = space.arch_at(index)
        full_s, full_value = _seconds(arch, False, batch, args.seed, args.repeats)
        pruned_s, pruned_value = _seconds(arch, True, batch, args.seed, args.repeats)
        full_total, pruned_total = full_total + full_s, pruned_total + pruned_s
        print(f"  cell {index:5d}: MACs {pruning.pruned_flops(arch) / nets.count_flops(arch):.3f} "
              f"of full, time {pruned_s / full_s:.3f} of full, same MGM: {full_value == pruned_value}")
    print(f"{len(sample)} cells with dead convs, n={args.n}, torch threads {torch.get_num_threads()}: "
          f"full {full_total:.2f} s, pruned {pruned_total:.2f} s (build + MGM, min of {args.repeats}), "
          f"speed-up {full_total / pruned_total:.2f}x")


if __name__ == "__main__":
    main()
