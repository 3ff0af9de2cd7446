"""Every proxy on the correlation study's 1,000-cell sample against CIFAR-10, CIFAR-100 and
ImageNet16-120 (issue 22, item 2): ρ, τ and the top-end metrics per data set, from the scores
the study cached (CIFAR-10 images, seed 0; no images of the other two are on this machine, and
docs/input_choice.md measured that the head size or Gaussian inputs move these little).

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.sample_rankings \\
        --data ../shared/data/cifar10/cifar10_small.npz --truth ../shared/data/nb201/nb201_accuracies.csv \\
        --out docs/sample_rankings.md

Reads the score cache only: a proxy with any of the sample's cells missing is listed as not
scored (``benchmarks.correlation_study`` scores them).
"""
import argparse
import time

import pandas as pd

from benchmarks import _scores
from benchmarks._report import header, publish
from knas import proxies, spaces
from knas.data import benchmark, datasets
from knas.results import stats
from knas.scoring import scorer
from knas.scoring.cache import ScoreCache
from knas.search.specs import Method

NB201 = spaces.get("nb201")
DATASETS = ("cifar10", "cifar100", "imagenet16-120")


def cached_scores(data: str, cells, names, n: int = 32, seed: int = 0) -> pd.DataFrame:
    """The cached score of each proxy on each cell (NaN where missing), nothing computed."""
    batch, settings = _scores.seeded_batch(NB201, data, n, seed)
    cache = ScoreCache()
    return pd.DataFrame({name: [cache.get(scorer.cache_key(NB201, name, NB201.arch_at(c), batch,
                                                            settings)) for c in cells]
                         for name in names}, index=list(cells), dtype=float)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--archs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="docs/sample_rankings.md")
    args = parser.parse_args()
    start = time.time()
    cells = NB201.sample(args.archs, args.seed)
    frame = cached_scores(args.data, cells, list(proxies.CATALOG), seed=args.seed)
    missing = [name for name in frame.columns if frame[name].isna().any()]
    frame = frame.drop(columns=missing)
    for name in proxies.RANKINGS:
        if all(m in frame.columns for m in Method.parse(name).members):
            frame[name] = stats.aggregate(frame, Method.parse(name))  # bigger is better already
    truth = benchmark.load_table(args.truth)
    lines = header(
        f"Every proxy on {len(cells):,} cells, on all three data sets",
        f"`space.sample({args.archs}, seed={args.seed})`, scores on n = 32 CIFAR-10 images with "
        f"the weights and images of seed {args.seed} (the correlation study's), against each data "
        "set's 200-epoch test accuracy. Columns as in docs/rankings.md (nDCG@1000 as VKDNW "
        "computes it; top-1% precision; regrets of the top-1 and of the best of the top 10)."
        + (f" Not scored on the whole sample, left out: {', '.join(missing)}." if missing else ""),
        "benchmarks.sample_rankings", f"wall time {time.time() - start:.0f} s (cache reads only)")
    for dataset in DATASETS:
        column = NB201.truth_columns(dataset).test
        table = stats.correlation_table(frame, list(frame.columns),
                                        truth[column].reindex(frame.index))
        table = table.sort_values("spearman", ascending=False)
        lines += [f"## {datasets.info(dataset).label}", "",
                  "| proxy | ρ | τ | nDCG@1000 | top-1% precision | regret of top-1 | regret of top-10 |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r.proxy} | {r.spearman:.3f} | {r.kendall:.3f} | {r.ndcg:.3f} | "
                  f"{r.top1_precision:.2f} | {r.regret_top1:.2f} | {r.regret_top10:.2f} |"
                  for r in table.itertuples()]
        lines.append("")
    publish(args.out, lines)


if __name__ == "__main__":
    main()
