"""The correlation study: every proxy on the same random cells, against NAS-Bench-201 accuracy.

    python -m benchmarks.correlation_study --data ../shared/data/cifar10/cifar10_small.npz \\
        --truth ../shared/data/nb201/nb201_accuracies.csv --archs 1000 --seed 0 --out docs/correlation.md

Scores go through the normal cache (so a rerun is instant) and are also written as CSV next to
the report. mgm_official gets the official 50 samples; every other proxy gets --n.
"""
import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from benchmarks._report import header
from knas import data, paths, proxies, scoring, space, stats

ENSEMBLE = ["synflow", "jacob_cov", "naswot"]


def _score(pool, names, dataset, n, seed, workers, cache_dir):
    settings = scoring.ScoreSettings(n=n, seed=seed)
    batch = scoring.make_batch(dataset, n, seed)
    rows, seconds = {}, {name: [] for name in names}
    results = scoring.score_pool_parallel(pool, names, batch, settings, cache_dir, workers)
    for result in tqdm(results, total=len(pool), unit="arch", desc=f"n={n}", file=sys.stderr):
        rows[result.index] = result.values
        for name, s in result.seconds.items():
            seconds[name].append(s)
    return pd.DataFrame.from_dict(rows, orient="index"), seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--archs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--out", default="docs/correlation.md")
    args = parser.parse_args()

    start = time.time()
    dataset = data.load_named("cifar10", args.data)
    pool = space.sample(args.archs, args.seed)
    cache_dir = args.cache or paths.scores_dir()
    names = [n for n in proxies.CATALOG if n != "mgm_official"]
    frame, seconds = _score(pool, names, dataset, args.n, args.seed, args.workers, cache_dir)
    official, official_seconds = _score(pool, ["mgm_official"], dataset, 50, args.seed, args.workers, cache_dir)
    frame = frame.join(official).loc[pool]
    seconds.update(official_seconds)
    label = "ensemble(" + "+".join(ENSEMBLE) + ")"
    frame[label] = stats.rank_ensemble(frame, ENSEMBLE)
    table = pd.read_csv(args.truth).set_index("index")
    frame.insert(0, "arch_str", [space.to_str(space.arch_at(i)) for i in frame.index])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.rename_axis("index").to_csv(out.with_suffix(".csv"))

    columns = list(proxies.CATALOG) + [label]
    results = {col: stats.correlation_table(frame, columns, table[col].reindex(frame.index))
               for col in ("cifar10_test", "cifar10_valid")}
    intro = (f"{len(pool)} cells drawn with `space.sample({args.archs}, seed={args.seed})`; "
             f"{len({space.representative(space.arch_at(i)) for i in pool})} distinct functions "
             "among them. Networks seeded with the same seed; samples from the shared real CIFAR-10 "
             f"subset (n={args.n} per network, 50 for mgm_official). Ground truth: NAS-Bench-201 "
             "200-epoch accuracies. Top-10%: share of the truly best 10% that the proxy also ranks "
             "in its top 10%.")
    lines = header("Proxy correlation study (NAS-Bench-201, CIFAR-10)", intro,
                   "benchmarks.correlation_study",
                   f"{args.workers} worker processes; wall time {time.time() - start:.0f} s "
                   "(cached scores count as 0)") + [
        "| proxy | ρ test | τ test | top-10% test | ρ valid | τ valid | top-10% valid | s/network |",
        "|---|---|---|---|---|---|---|---|",
    ]
    test, valid = results["cifar10_test"].set_index("proxy"), results["cifar10_valid"].set_index("proxy")
    for col in columns:
        spent = seconds.get(col) or []
        per_net = f"{sum(spent) / len(spent):.3f}" if spent else "—"
        t, v = test.loc[col], valid.loc[col]
        lines.append(f"| {col} | {t.spearman:.3f} | {t.kendall:.3f} | {t.top10_overlap:.2f} | "
                     f"{v.spearman:.3f} | {v.kendall:.3f} | {v.top10_overlap:.2f} | {per_net} |")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
