"""The one-shot searches (DARTS, GDAS, TE-NAS) at a CPU budget: each seed's derived cell, its
NAS-Bench-201 accuracy, and the measured search seconds, as a markdown table for
docs/paper_table.md. Every run checkpoints under the cache root (``KNAS_CACHE_DIR``), so an
interrupted study resumes where it stopped.

    python -m benchmarks.oneshot_cpu --data CIFAR10.npz --truth nb201_accuracies.csv \
        [--seeds 3] [--darts-epochs 2] [--gdas-epochs 10] [--channels 8] [--cells 2] [--out F.md]

The CPU budget is stated in the output: DARTS and GDAS on a reduced supernet (``--channels``,
``--cells`` per stage; the benchmark's is 16 and 5) for a few epochs over half of the training
images; TE-NAS at its official NAS-Bench-201 settings (3 channels, one cell per stage, NTK batch
16, 3 repeats), which need no training.
"""
import argparse
import platform
import time

import torch

import knas.oneshot as oneshot
from knas.oneshot.common import settings_for
from knas import paths, spaces
from knas.data import benchmark, readers


def run(space, dataset, settings, checkpoint):
    generator = oneshot.search(space, dataset, settings, "cpu", checkpoint=checkpoint)
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--darts-epochs", type=float, default=2)
    parser.add_argument("--gdas-epochs", type=float, default=10)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=2)
    parser.add_argument("--methods", default="tenas,darts,gdas")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    space = spaces.get("nb201")
    dataset = readers.load_named("cifar10", args.data)
    truth = benchmark.load_table(args.truth, space)
    column = space.truth_columns("cifar10").test
    folder = paths.root() / "oneshot"
    lines = [f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
             f"torch threads, torch {torch.__version__}; {len(dataset):,} CIFAR-10 training "
             f"images ({args.data.rsplit('/', 1)[-1]}); accuracy: {column} (200 epochs).", "",
             "| method | budget | seed | derived cell | accuracy | search seconds |",
             "|---|---|---|---|---:|---:|"]
    for method in args.methods.split(","):
        for seed in range(args.seeds):
            if method == "tenas":
                settings = oneshot.OneShotSettings.tenas_defaults(seed=seed)
                budget = "official: 3 ch, 1 cell/stage, NTK batch 16, 3 repeats"
            else:
                epochs = args.darts_epochs if method == "darts" else args.gdas_epochs
                settings = settings_for(method, len(dataset), epochs, seed,
                                        channels=args.channels, n_cells=args.cells)
                budget = (f"{epochs:g} epochs ({settings.steps} steps), {args.channels} ch, "
                          f"{args.cells} cells/stage")
            start = time.perf_counter()
            result = run(space, dataset, settings, folder / f"{method}-{seed}-{settings.steps}-"
                         f"{settings.channels}-{settings.n_cells}.pt")
            accuracy = truth[column].get(result.index)
            line = (f"| {method} | {budget} | {seed} | `{result.arch}` | {accuracy:.2f} | "
                    f"{result.seconds:.0f} |")
            print(line, f"(wall {time.perf_counter() - start:.0f} s)", flush=True)
            lines.append(line)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
