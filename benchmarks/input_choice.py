"""Which inputs the label-free proxies see, and whether it matters: a 1,000-cell sample of
NAS-Bench-201 scored under four conditions, each ranked against CIFAR-10, CIFAR-100 and
ImageNet16-120 accuracy (Spearman ρ, nDCG as ``docs/rankings.md`` defines it).

- ``cifar10``: 32 real CIFAR-10 images, the 10-class head (what every other study here uses);
- ``gaussian``: 32 inputs drawn from N(0, 1) with the same shape and labels, 10-class head (as
  AZ-NAS and VKDNW score on random inputs);
- ``head100`` / ``head120``: the CIFAR-10 images with CIFAR-100's or ImageNet16-120's head size
  (no images of either data set are on this machine; ImageNet16-120's networks see 16x16 images,
  these see 32x32).

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.input_choice \\
        --data ../shared/data/cifar10/cifar10_small.npz \\
        --truth ../shared/data/nb201/nb201_accuracies.csv --out docs/input_choice.md

Scores are cached (``KNAS_CACHE_DIR``) per condition, so a rerun costs nothing.
"""
import argparse
import time

import pandas as pd
import torch

from benchmarks._report import header, publish
from knas import proxies, spaces
from knas.data import benchmark, readers
from knas.results import stats
from knas.scoring import backends, scorer
from knas.scoring.cache import ScoreCache
from knas.search.specs import Method

NB201 = spaces.get("nb201")
DATASETS = ("cifar10", "cifar100", "imagenet16-120")
N, SEED, CELLS = 32, 0, 1000


def batches(data: str) -> dict:
    dataset = readers.load_named("cifar10", data)
    real = scorer.make_batch(dataset, N, SEED, NB201)
    noise = torch.randn(real.x.shape, generator=torch.Generator().manual_seed(SEED))
    return {"cifar10": real,
            "gaussian": scorer.Batch(noise, real.y, real.num_classes, f"gaussian:{SEED}:{N}"),
            "head100": scorer.Batch(real.x, real.y, 100, f"{real.digest}:head100"),
            "head120": scorer.Batch(real.x, real.y, 120, f"{real.digest}:head120")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    start = time.time()
    members = proxies.RANKINGS[proxies.RECOMMENDED].members
    names = list(dict.fromkeys([*members, "mgm", "params"]))
    cells = NB201.sample(CELLS, seed=0)
    truth = benchmark.load_table(args.truth, NB201)
    settings = scorer.ScoreSettings(n=N, seed=SEED)
    rankings = [proxies.RECOMMENDED, *names]
    rows = []
    with backends.open_backend(NB201, "local", "cpu", args.workers) as backend:
        for condition, batch in batches(args.data).items():
            t0 = time.time()
            scores = pd.DataFrame.from_dict(
                {r.index: r.values for r in backend.score(cells, names, batch, settings, ScoreCache())},
                orient="index").sort_index()
            seconds = time.time() - t0
            for dataset in DATASETS:
                accuracy = truth[NB201.truth_columns(dataset).test].reindex(scores.index)
                for name in rankings:
                    ranking = stats.aggregate(scores, Method.parse(name))
                    rows.append({"inputs": condition, "dataset": dataset, "ranking": name,
                                 "rho": stats.spearman(ranking, accuracy),
                                 "ndcg": stats.ndcg(ranking, accuracy, k=100)})
            print(f"{condition}: {seconds:.0f} s", flush=True)
    frame = pd.DataFrame(rows)
    lines = header("Which inputs the proxies see, and whether it matters",
                   f"{CELLS:,} NAS-Bench-201 cells (seed 0), n = {N}, weights of seed {SEED}; ρ = "
                   "Spearman against each data set's 200-epoch test accuracy, nDCG@100 over the "
                   "sample (gain 2^accuracy − 1, as docs/rankings.md). Conditions: see the "
                   "benchmark's docstring.", "benchmarks.input_choice",
                   f"wall time {time.time() - start:.0f} s")
    for dataset in DATASETS:
        mine = frame[frame["dataset"] == dataset]
        lines += [f"## {dataset}", "", "| ranking | " + " | ".join(
            f"ρ {c} | nDCG {c}" for c in mine["inputs"].unique()) + " |",
                  "|---|" + "---|---|" * mine["inputs"].nunique()]
        for name in rankings:
            row = mine[mine["ranking"] == name].set_index("inputs")
            lines.append(f"| {name} | " + " | ".join(
                f"{row.at[c, 'rho']:.3f} | {row.at[c, 'ndcg']:.3f}" for c in row.index) + " |")
        lines.append("")
    publish(args.out, lines)


if __name__ == "__main__":
    main()
