"""A ground-truth build in one process (the CPU's threads) against ``--workers`` processes (the
threads shared out), on the same cells, recipe and data, each into a fresh store; prints both wall
times, their ratio, and whether the accuracies came out the same.

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.truth_workers \\
        --space text --dataset sst2 --data ../shared/data/text/sst2 --cells 8 --epochs 1

Run it with nothing else busy on the CPU: both ways share it.
"""
import argparse
import tempfile
import time

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
    args = parser.parse_args()
    space = spaces.get(args.space)
    one, table_one = timed_build(space, args, 1)
    many, table_many = timed_build(space, args, args.workers)
    test = space.truth_columns(args.dataset).test
    same = (table_one[test].to_numpy() == table_many[test].to_numpy()).all()
    print(f"{machine()}; {args.cells} cells of {space.name} on {args.dataset}, {args.epochs} "
          f"epoch(s), {args.seeds} seed(s)")
    print(f"one process: {one:.1f} s; {args.workers} worker processes: {many:.1f} s "
          f"(start-up and data loading included); ratio {one / many:.2f}x; "
          f"test accuracies {'identical' if same else 'differ (threads reduce in another order)'}")


if __name__ == "__main__":
    main()
