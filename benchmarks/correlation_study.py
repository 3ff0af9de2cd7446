"""The correlation study: every proxy on the same random cells, a search for the best label-free
rank aggregation on that sample, and the chosen ranking, its members, MGM and the parameter count
over the whole space.

    KNAS_CACHE_DIR=/root/knas-cache python -m benchmarks.correlation_study \\
        --data ../shared/data/cifar10/cifar10_small.npz --truth ../shared/data/nb201/nb201_accuracies.csv \\
        --archs 1000 --seed 0 --full recommended,mgm,params --out docs/correlation.md

Scores go through the normal score cache, so an interrupted run resumes and a rerun is instant;
keep ``KNAS_CACHE_DIR`` outside the work tree so later sessions reuse it. Compute seconds per
network are kept next to the report (``<out>.seconds.json``), since the cache holds only values.
The selection uses the sample's test labels only; the whole-space figures are then reported over
all 15,625 cells (which include the sample's 1,000: 6.4%). Writes the report and the small
results file the UI reads (``knas/proxies/measured.json``).
"""
import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from benchmarks._report import header
from knas.data import benchmark, readers
from knas import paths, proxies
from knas.scoring import backends, scorer
from knas.spaces.nb201 import cells as space
from knas.results import stats
from knas.scoring.cache import ScoreCache
from knas.search.specs import AGGREGATIONS, Method
from knas import spaces

NB201 = spaces.get("nb201")

OFFICIAL_N = 50  # mgm_official: the official code's 50 samples
MEASURED = paths.REPO / "knas" / "proxies" / "measured.json"


def _score(pool, names, dataset, n, seed, workers, seconds) -> pd.DataFrame:
    settings = scorer.ScoreSettings(n=n, seed=seed)
    batch = scorer.make_batch(dataset, n, seed, NB201)
    rows = {}
    results = backends.LocalBackend(NB201, "cpu", workers).score(pool, names, batch, settings,
                                                                  ScoreCache())
    for result in tqdm(results, total=len(pool), unit="arch", desc=f"{len(names)} proxies, n={n}",
                       file=sys.stderr):
        rows[result.index] = result.values
        for name, spent in result.seconds.items():
            total, count = seconds.get(name, (0.0, 0))
            seconds[name] = (total + spent, count + 1)
    return pd.DataFrame.from_dict(rows, orient="index").loc[pool]


def _table(frame: pd.DataFrame, columns, truth: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for column in ("cifar10_test", "cifar10_valid"):
        t = stats.correlation_table(frame, columns, truth[column].reindex(frame.index))
        out[column] = t.set_index("proxy")
    return pd.concat(out, axis=1)


def _aggregate(frame: pd.DataFrame, method: Method) -> pd.Series:
    return stats.aggregate(frame, method)


def select(frame: pd.DataFrame, truth: pd.Series, candidates, max_members: int) -> pd.DataFrame:
    """Every aggregation of every subset (2..max_members) of the candidate proxies, by Spearman ρ
    against ``truth`` on this sample, best first."""
    rows = []
    for size in range(2, max_members + 1):
        for members in itertools.combinations(candidates, size):
            for how in AGGREGATIONS:
                ranking = _aggregate(frame, Method(members, how))
                rows.append({"aggregation": how, "members": "+".join(members),
                             "spearman": stats.spearman(ranking, truth)})
    return pd.DataFrame(rows).sort_values("spearman", ascending=False, ignore_index=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--archs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--proxies", default=",".join(proxies.CATALOG),
                        help="proxies scored on the sample (default: the whole catalogue)")
    parser.add_argument("--candidates", type=int, default=10,
                        help="the best this many proxies by sample ρ enter the aggregation search")
    parser.add_argument("--max-members", type=int, default=5)
    parser.add_argument("--full", default="",
                        help="methods scored over all 15,625 cells (e.g. recommended,mgm,params)")
    parser.add_argument("--out", default="docs/correlation.md")
    args = parser.parse_args()

    start = time.time()
    out = Path(args.out)
    seconds_file = out.with_suffix(".seconds.json")
    seconds = {k: tuple(v) for k, v in json.loads(seconds_file.read_text()).items()} \
        if seconds_file.is_file() else {}
    dataset = readers.load_named("cifar10", args.data)
    truth = benchmark.load_table(args.truth)
    pool = space.sample(args.archs, args.seed)
    names = [p for p in args.proxies.split(",") if p and p != "mgm_official"]
    frame = _score(pool, names, dataset, args.n, args.seed, args.workers, seconds)
    if "mgm_official" in args.proxies.split(","):
        official = _score(pool, ["mgm_official"], dataset, OFFICIAL_N, args.seed, args.workers, seconds)
        frame = frame.join(official)
    seconds_file.write_text(json.dumps(seconds, indent=1))

    sample = _table(frame, list(frame.columns), truth)
    by_rho = sample["cifar10_test"]["spearman"].sort_values(ascending=False)
    candidates = [p for p in by_rho.index if p not in ("flops", "az_complexity")][:args.candidates]
    choice = select(frame, truth["cifar10_test"].reindex(frame.index), candidates, args.max_members)
    best = choice.iloc[0]
    chosen = Method(tuple(best["members"].split("+")), best["aggregation"])
    current = Method.parse(proxies.RECOMMENDED)
    frame[proxies.RECOMMENDED] = _aggregate(frame, current)
    frame["AZ-NAS (logrank of its four)"] = _aggregate(
        frame, Method(("az_expressivity", "az_progressivity", "az_trainability", "az_complexity"),
                      "logrank"))
    sample = _table(frame, list(frame.columns), truth)

    full_rows, full_note = None, ""
    if args.full:
        full_methods = [Method.parse(m) for m in args.full.split(",")]
        full_names = list(dict.fromkeys(m for method in full_methods for m in method.members))
        everything = list(range(space.N_ARCHS))
        whole = _score(everything, full_names, dataset, args.n, args.seed, args.workers, seconds)
        seconds_file.write_text(json.dumps(seconds, indent=1))
        for method in full_methods:
            if method.aggregation:
                whole[str(method)] = _aggregate(whole, method)
        full_rows = _table(whole, [str(m) for m in full_methods] +
                           [m for m in full_names if m not in [str(x) for x in full_methods]], truth)
        full_note = f"over all {space.N_ARCHS:,} cells"

    per_net = {name: total / count for name, (total, count) in seconds.items() if count}
    _write_measured(sample, full_rows, per_net, current, args)
    lines = _report(args, pool, frame, sample, choice, chosen, current, full_rows, full_note,
                    per_net, time.time() - start)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _fmt_row(name, row, per_net) -> str:
    t, v = row["cifar10_test"], row["cifar10_valid"]
    spent = per_net.get(name)
    return (f"| {name} | {t.spearman:.3f} | {t.kendall:.3f} | {t.top10_overlap:.2f} | "
            f"{v.spearman:.3f} | {v.kendall:.3f} | {v.top10_overlap:.2f} | "
            f"{'—' if spent is None else f'{spent:.3f}'} |")


def _report(args, pool, frame, sample, choice, chosen, current, full_rows, full_note, per_net,
            wall) -> list[str]:
    intro = (f"{len(pool)} cells drawn with `space.sample({args.archs}, seed={args.seed})` "
             f"({len({space.representative(space.arch_at(i)) for i in pool})} distinct functions). "
             f"Networks built after `torch.manual_seed({args.seed})`, scored on n = {args.n} real "
             f"CIFAR-10 images of the shared subset ({OFFICIAL_N} for mgm_official). Ground truth: "
             "NAS-Bench-201 200-epoch accuracies. ρ and τ are of each proxy's oriented score "
             "(negated when smaller is better); top-10%: share of the truly best 10% that the proxy "
             "also ranks in its top 10%. s/network: the proxy's own compute seconds per network "
             "in one single-threaded worker, network construction excluded (a pass shared by "
             "several scores is counted once for each).")
    head = ["| proxy | ρ test | τ test | top-10% test | ρ valid | τ valid | top-10% valid | s/network |",
            "|---|---|---|---|---|---|---|---|"]
    lines = header("Proxy correlation study (NAS-Bench-201, CIFAR-10)", intro,
                   "benchmarks.correlation_study",
                   f"{args.workers} worker processes; wall time {wall:.0f} s (cached scores count as 0)")
    if full_rows is not None:
        lines += [f"## The recommended ranking and its members {full_note}", "", *head]
        lines += [_fmt_row(name, row, per_net) for name, row in full_rows.iterrows()]
        lines += [""]
    lines += [f"## Every proxy on the {len(pool):,}-cell sample", "", *head]
    order = sample["cifar10_test"]["spearman"].sort_values(ascending=False).index
    lines += [_fmt_row(name, sample.loc[name], per_net) for name in order]
    lines += ["", "## Choosing `recommended` (on the sample's test labels)", "",
              f"Every aggregation ({', '.join(AGGREGATIONS)}) of every subset of 2 to "
              f"{args.max_members} of the {args.candidates} best single proxies on the sample "
              f"(flops and az_complexity left out: they rank like params). Best ten by Spearman ρ "
              f"against `cifar10_test` on the sample:", "",
              "| aggregation | members | ρ test (sample) |", "|---|---|---|"]
    lines += [f"| {r.aggregation} | {r.members.replace('+', ', ')} | {r.spearman:.4f} |"
              for r in choice.head(10).itertuples()]
    lines += ["", f"Best: `{chosen}`. The catalogue's `recommended` is `{current.aggregation}:"
              f"{'+'.join(current.members)}` (`knas/proxies/__init__.py`, RANKINGS).", ""]
    return lines


def _write_measured(sample, full_rows, per_net, current, args) -> None:
    """The small results file the New search and Compare pages show next to each proxy."""
    rows = {}
    for name, row in sample.iterrows():
        rows[name] = {"spearman_test": round(float(row["cifar10_test"].spearman), 4),
                      "kendall_test": round(float(row["cifar10_test"].kendall), 4),
                      "top10_test": round(float(row["cifar10_test"].top10_overlap), 4),
                      "cells": int(row["cifar10_test"].n), "scope": f"{args.archs}-cell sample",
                      "seconds_per_network": round(per_net[name], 4) if name in per_net else None}
    for name, row in (full_rows.iterrows() if full_rows is not None else []):
        rows.setdefault(name, {}).update(
            {"spearman_test": round(float(row["cifar10_test"].spearman), 4),
             "kendall_test": round(float(row["cifar10_test"].kendall), 4),
             "top10_test": round(float(row["cifar10_test"].top10_overlap), 4),
             "cells": int(row["cifar10_test"].n), "scope": "whole space"})
    column = NB201.truth_columns("cifar10").test
    MEASURED.write_text(json.dumps({"dataset": "cifar10", "column": column,
                                    "recommended": f"{current.aggregation}:{'+'.join(current.members)}",
                                    "proxies": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
