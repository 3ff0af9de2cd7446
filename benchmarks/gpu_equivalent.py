"""A GPU-equivalent for CPU scoring seconds: a model calibrated on NAS-Bench-201's own records.

NAS-Bench-201 records how long its GPU took to train each cell (200 epochs of the 25,000
cifar10-valid training images). This script trains the same cells for a few SGD steps on this CPU,
one thread, on real CIFAR-10 images, and divides: CPU seconds per training image over the
recorded GPU seconds per training image, cell by cell. Their median is how many times faster
NAS-Bench-201's GPU ran these networks than one core of this CPU. A coarse stage's measured CPU
seconds divided by it (times the cores the stage kept busy) is its GPU-equivalent, in the unit
of the recorded training it is set beside.

It is a model, labelled as such: it assumes scoring a network (forward and backward passes on a
small batch) speeds up on that GPU as much as training it does. A measured figure needs a GPU
(``benchmarks/gpu_check.py``).

    python -m benchmarks.gpu_equivalent --data ../shared/data/cifar10/cifar10_small.npz \\
        --costs ../shared/data/nb201/nb201_costs.csv --cells 48 --cpu-seconds 3045 --cores 2
"""
import argparse
import time

import numpy as np
import torch

from benchmarks._report import machine
from knas import spaces
from knas.data import readers
from knas.scoring import scorer
from knas.spaces.nb201 import traincost

TRAIN_IMAGES = 25_000  # cifar10-valid's training split, what the recorded CIFAR-10 times are for


def cpu_seconds_per_image(space, index: int, batch, steps: int) -> float:
    """One core's seconds per image of SGD training steps (forward, backward, update)."""
    net = space.build(space.arch_at(index), batch.num_classes)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    loss = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss(net(batch.x), batch.y).backward()
        optimizer.step()

    step()  # warm-up: first-call allocations
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / (steps * len(batch.x))


def speedups(cpu_per_image, gpu_seconds_per_epoch) -> np.ndarray:
    """Per cell, how many times faster NAS-Bench-201's GPU trained it than one core here."""
    return np.asarray(cpu_per_image) / (np.asarray(gpu_seconds_per_epoch) / TRAIN_IMAGES)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CIFAR-10 (.npz or official layout)")
    parser.add_argument("--costs", required=True, help="NAS-Bench-201 training costs table")
    parser.add_argument("--cells", type=int, default=48)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpu-seconds", type=float, help="a coarse stage's measured wall seconds")
    parser.add_argument("--cores", type=int, default=1, help="cores that stage kept busy")
    args = parser.parse_args()
    if min(args.cells, args.batch, args.steps, args.cores) < 1:
        parser.error("--cells, --batch, --steps and --cores must each be 1 or more")
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    space = spaces.get("nb201")
    batch = scorer.make_batch(readers.load_named("cifar10", args.data), args.batch, args.seed, space)
    per_epoch, _ = space.seconds_per_epoch("cifar10", traincost.load_costs(args.costs))
    cells = space.sample(args.cells, seed=args.seed)
    ratios = speedups([cpu_seconds_per_image(space, index, batch, args.steps) for index in cells],
                      per_epoch[cells])
    low, mid, high = np.percentile(ratios, [25, 50, 75])
    print(f"{machine()}; {args.cells} random cells (seed {args.seed}), {args.steps} SGD steps of "
          f"{args.batch} CIFAR-10 images each, one thread")
    print(f"one CPU core is {mid:.1f}x slower than NAS-Bench-201's GPU at training these cells "
          f"(median; quartiles {low:.1f}–{high:.1f}x, range {ratios.min():.1f}–{ratios.max():.1f}x)")
    if args.cpu_seconds:
        core_seconds = args.cpu_seconds * args.cores
        print(f"{args.cpu_seconds:,.0f} s on {args.cores} core(s) ≈ {core_seconds / mid:,.0f} "
              f"GPU-equivalent s (quartiles {core_seconds / high:,.0f}–{core_seconds / low:,.0f}; "
              "a model, not a GPU measurement)")


if __name__ == "__main__":
    main()
