"""Rankings over all 15,625 NAS-Bench-201 cells on CIFAR-10, CIFAR-100 and ImageNet16-120: the
whole-ranking statistics (Spearman ρ, Kendall τ) beside what a search keeps of the top (nDCG as
VKDNW reports it, top-1% precision, the regret of the top-1 and of the best of the top-10), with
the published figures of VKDNW's Table 1 beside ours.

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.whole_space_rankings \\
        --data ../shared/data/cifar10/cifar10_small.npz --truth ../shared/data/nb201/nb201_accuracies.csv \\
        --out docs/rankings.md

Scores come from one scoring of the whole space (n = 32 CIFAR-10 images, weights and images of
seed 0, read from the score cache). No CIFAR-100 or ImageNet16-120 images are on this machine, so
the same CIFAR-10 scores rank the cells for all three data sets; each data set's own accuracy is
the truth.
"""
import argparse
import time

import pandas as pd

from benchmarks import _scores
from benchmarks._report import header, publish
from knas import spaces
from knas.data import benchmark
from knas.results import stats
from knas.search.specs import Method

NB201 = spaces.get("nb201")
DATASETS = ("cifar10", "cifar100", "imagenet16-120")
# VKDNW (Tybl & Neumann, CVPR 2025), Table 1 as its repository shows it: Kendall τ, Spearman ρ and
# nDCG (its code: nDCG@1000, gain 2^accuracy − 1) per data set, means of 5 runs.
PUBLISHED = {
    "VKDNW (agg)": ((0.750, 0.919, 0.785), (0.753, 0.919, 0.636), (0.743, 0.906, 0.664)),
    "AZ-NAS": ((0.712, 0.892, 0.749), (0.696, 0.880, 0.549), (0.673, 0.859, 0.534)),
    "SynFlow": ((0.561, 0.758, 0.709), (0.553, 0.750, 0.594), (0.531, 0.719, 0.511)),
    "FLOPs": ((0.623, 0.799, 0.745), (0.586, 0.763, 0.576), (0.545, 0.718, 0.403)),
}


def ranking_frame(scores: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Each method's score over the whole space: a proxy's own (``correlation_table`` turns a
    smaller-is-better one by its name; turned here as well, it would be turned back), an
    aggregation's rank score (bigger is better)."""
    return pd.DataFrame({m: stats.aggregate(scores, Method.parse(m)) if Method.parse(m).aggregation
                         else scores[m] for m in methods})


def lines_for(dataset: str, table: pd.DataFrame, rankings: pd.DataFrame) -> list[str]:
    column = NB201.truth_columns(dataset).test
    truth = table[column].reindex(rankings.index)
    result = stats.correlation_table(rankings, list(rankings.columns), truth)
    best = truth.max()
    lines = [f"## {dataset} (truth: `{column}`, best cell {best:.2f})", "",
             "| ranking | ρ | τ | nDCG@1000 | top-1% precision | top-5% precision | regret of top-1 | "
             "regret of top-10 |", "|---|---|---|---|---|---|---|---|"]
    for row in result.itertuples():
        lines.append(f"| {row.proxy} | {row.spearman:.3f} | {row.kendall:.3f} | {row.ndcg:.3f} | "
                     f"{row.top1_precision:.2f} | {row.top5_precision:.2f} | {row.regret_top1:.2f} | "
                     f"{row.regret_top10:.2f} |")
    position = DATASETS.index(dataset)
    for name, figures in PUBLISHED.items():
        tau, rho, gain = figures[position]
        lines.append(f"| *published: {name}* | *{rho:.3f}* | *{tau:.3f}* | *{gain:.3f}* | — | — | — | — |")
    return lines + [""]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--methods", default="recommended,recommended_top,logrank:meco+synflow,"
                        "meco,synflow,az_expressivity,swap_reg,gram_cond,mgm,params")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="docs/rankings.md")
    args = parser.parse_args()

    start = time.time()
    methods = args.methods.split(",")
    members = list(dict.fromkeys(m for method in methods for m in Method.parse(method).members))
    scores = _scores.whole_space(NB201, args.data, members, args.n, args.workers)
    rankings = ranking_frame(scores, methods)
    table = benchmark.load_table(args.truth, NB201)
    intro = ("Every ranking over all 15,625 cells. Scores: one scoring of the whole space on n = "
             f"{args.n} real CIFAR-10 images of the shared subset with the weights and images of seed "
             "0 (networks with CIFAR-10's 10-class head); CIFAR-100 and ImageNet16-120 are ranked by "
             "the same scores, as no images of them are on this machine, against their own "
             "accuracies (on 1,000 cells, Gaussian inputs or the data set's head size move "
             "recommended's ρ by at most 0.006: docs/input_choice.md). nDCG@1000 as VKDNW's code computes it (gain 2^accuracy − 1, accuracy in "
             "percent, discount 1/log2(position + 1)); tied scores share their gains. top-X% "
             "precision: the share of the truly best X% that the ranking puts in its own top X%. "
             "Regret: accuracy points between the best cell and the ranking's first pick, and the "
             "best of its top 10 (cells tied at the cut included). Rows in italics are VKDNW's "
             "Table 1 (Tybl & Neumann, CVPR 2025; 5 runs each), as published, not measured here.")
    sections = [line for dataset in DATASETS for line in lines_for(dataset, table, rankings)]
    lines = header("Rankings over the whole NAS-Bench-201 space, top end included", intro,
                   "benchmarks.whole_space_rankings",
                   f"CPU only; wall time {time.time() - start:.0f} s (cached scores cost nothing)")
    publish(args.out, lines + sections)


if __name__ == "__main__":
    main()
