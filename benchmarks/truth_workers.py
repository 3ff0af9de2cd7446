"""A ground-truth build in one process (the CPU's threads) against ``--workers`` processes (the
threads shared out), on the same cells, recipe and data, each into a fresh store, ``--repeats``
times in alternating order; prints the wall times, the median ratio with its range, and whether
the accuracies came out the same.

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.truth_workers \\
        --space text --dataset sst2 --data ../shared/data/text/sst2 --cells 8 --epochs 1 --repeats 3

Run it with nothing else busy on the CPU: both ways share it.
"""
import argparse
import tempfile
import time

import numpy as np

from benchmarks._report import machine
from knas import spaces
from knas.search import truth


def timed_build(space, args, workers: int):
    recipe = truth.Recipe(epochs=args.epochs, seeds=args.seeds)
    cells = truth.cells_to_train(space, args.cells, args.seed)
    with tempfile.TemporaryDirectory() as store:
        start = time.perf_counter()
        steps = truth.build(space, args.dataset, args.data, cells, recipe, store_dir=store,
                            workers=workers)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return time.perf_counter() - start, stop.value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="text")
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--data", required=True)
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.workers < 2 or args.repeats < 1:
        parser.error("--workers must be 2 or more (one process is the other side), "
                     "--repeats 1 or more")
    space = spaces.get(args.space)
    times, tables = {1: [], args.workers: []}, {}
    for repeat in range(args.repeats):
        order = (1, args.workers) if repeat % 2 == 0 else (args.workers, 1)
        for workers in order:  # alternating, so a drift in the machine's speed hits both ways
            seconds, tables[workers] = timed_build(space, args, workers)
            times[workers].append(seconds)
    test = space.truth_columns(args.dataset).test
    same = (tables[1][test].to_numpy() == tables[args.workers][test].to_numpy()).all()
    ratios = np.array(times[1]) / np.array(times[args.workers])
    print(f"{machine()}; {args.cells} cells of {space.name} on {args.dataset}, {args.epochs} "
          f"epoch(s), {args.seeds} seed(s), {args.repeats} repeat(s) in alternating order")
    print(f"one process: {_seconds(times[1])} s; {args.workers} worker processes: "
          f"{_seconds(times[args.workers])} s (start-up and data loading included)")
    print(f"ratio: median {np.median(ratios):.2f}x (range {ratios.min():.2f}–{ratios.max():.2f}); "
          f"test accuracies {'identical' if same else 'differ (threads reduce in another order)'}")


def _seconds(values) -> str:
    return ", ".join(f"{v:.1f}" for v in values)

if __name__ == "__main__":
    main()
