"""Latency-constrained search on NAS-Bench-201: under a device's latency budget, how close each
method's chosen cell comes to the best cell that fits, and what its search costs.

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.latency_table \\
        --data ../shared/data/cifar10/cifar10_small.npz --truth ../shared/data/nb201/nb201_accuracies.csv \\
        --table12 ../shared/data/nb201/nb201_12epoch.csv --costs ../shared/data/nb201/nb201_costs.csv \\
        --latency ../shared/data/hw/nb201_latency.csv --repeats 100 --out docs/latency.md

Every method keeps to the same limit (``knas.search.constraints``). Two-stage methods rank the
feasible cells of a pool drawn per repeat (the same pools for all) and keep the best of their top
k by the 12-epoch table; the classic strategies search the whole space on the simulated clock,
proposing only cells that fit. Proxies are scored once per cell on CIFAR-10 images with fixed
weights (seed 0) and read from the score cache; a CIFAR-100 search ranks by those same scores
(this machine has no CIFAR-100 images) and looks up CIFAR-100's tables. The classic strategies'
results are kept in ``<cache root>/benchmarks/latency_table.json``, so a rerun with more repeats
only runs the new ones.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import _scores
from benchmarks._report import header, publish
from knas import paths, proxies, spaces
from knas.data import benchmark, latency
from knas.results import stats
from knas.search import classic, constraints, strategies
from knas.search.specs import Method, Pool

NB201 = spaces.get("nb201")
POOL_BEST = "the pool's best that fits"  # what a perfect ranking of each pool would pick
DEVICES = "raspi4,pixel3,eyeriss,fpga,gold_6226,titan_rtx_1"
# HELP (Lee et al., NeurIPS 2021), Table 4 as its repository's README gives it: MetaD2A + HELP on
# NAS-Bench-201 CIFAR-100, latency budget (ms) -> accuracy (%); meta-trained on other devices'
# latencies, 10 latency samples from the target device, and MetaD2A's accuracy predictor, which
# is meta-trained with labels.
HELP = {"titan_rtx_256": {18.0: 69.7, 21.0: 71.5, 25.0: 71.8},
        "gold_6226": {8.0: 67.3, 11.0: 70.2, 14.0: 72.1},
        "pixel2": {14.0: 69.7, 18.0: 71.8, 22.0: 73.2},
        "eyeriss": {5.0: 71.5, 7.0: 71.8, 9.0: 73.5},
        "fpga": {4.0: 70.2, 5.0: 71.8, 6.0: 73.5}}


class Setting:
    """One dataset's tables: what a search reports, what its fine stage and strategies look up."""

    def __init__(self, args, dataset: str):
        columns = NB201.truth_columns(dataset)
        self.dataset = dataset
        truth = benchmark.load_table(args.truth, NB201)
        table12 = benchmark.load_table(args.table12, NB201)
        self.test = _array(benchmark.column(truth, columns.test))
        self.short = _array(benchmark.column(table12, columns.short))
        costs = benchmark.load_table(args.costs, NB201)
        self.oracle = classic.table_oracle(NB201, dataset, table12, costs)
        self.train12 = np.array([NB201.train_seconds(i, dataset, NB201.short_epochs, costs)[0]
                                 for i in range(NB201.size)])


class StrategyStore:
    """The classic strategies' runs, kept across invocations (they are the slow part)."""

    def __init__(self, path: Path):
        self.path = path
        self.runs = json.loads(path.read_text()) if path.exists() else {}

    def run(self, method: str, setting: Setting, limits, seed: int) -> dict:
        bounds = ",".join(f"{limit.measure}<={limit.bound!r}" for limit in limits.limits)
        key = f"{method}|{setting.dataset}|{bounds}|{seed}"
        if key not in self.runs:
            search = classic.search(method, setting.oracle, seed, None, constraints=limits)
            while True:
                try:
                    next(search)
                except StopIteration as stop:
                    result = stop.value
                    break
            self.runs[key] = {"chosen": result.chosen, "seconds": result.clock}
        return self.runs[key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.runs))


def budget_rows(args, setting, scores, seconds, limits, pools, store) -> dict[str, list]:
    """Each method's (accuracy, seconds) per repeat under one limit."""
    mask = limits.mask()
    runs: dict[str, list] = {}

    def two_stage(name, order, feasible, scoring_seconds):
        topk = order[:args.k]
        pick = max(topk, key=lambda i: (setting.short[i], -i))
        runs.setdefault(name, []).append(
            (setting.test[pick], scoring_seconds + setting.train12[topk].sum()))


    for repeat, pool in enumerate(pools):
        feasible = [i for i in pool if mask[i]]
        frame = scores.loc[feasible]
        runs.setdefault(POOL_BEST, []).append((setting.test[feasible].max(), np.nan))
        for name in args.proxies:
            method = Method.parse(name)
            ranking = stats.aggregate(frame, method)
            order = sorted(feasible, key=lambda i: (-ranking[i], i))
            cost = sum(_networks(m, feasible) * seconds[m] for m in method.members)
            two_stage(name, order, feasible, cost)
        rng = np.random.default_rng(args.seed + repeat)
        two_stage("random", list(rng.permutation(feasible)), feasible, 0.0)
    for method, repeats in args.strategies.items():
        for repeat in range(repeats.get(setting.dataset, repeats[""])):
            run = store.run(method, setting, limits, args.seed + repeat)
            runs.setdefault(method, []).append((setting.test[run["chosen"]], run["seconds"]))
    return runs


def _array(column: pd.Series) -> np.ndarray:
    return column.reindex(range(NB201.size)).to_numpy(dtype=float)


def _networks(name: str, cells) -> int:
    """Networks a proxy builds for these cells: one per function when it shares scores."""
    if proxies.info(name).dedup:
        return len({NB201.representative(i) for i in cells})
    return len(cells)


def study(args, dataset, budgets, scores, seconds, pools, store) -> list[dict]:
    setting = Setting(args, dataset)
    table = constraints.load_table(args.latency, NB201)
    rows = []
    for device, bound, label in budgets:
        limit = constraints.Limit(constraints.latency_measure(device), float(bound))
        limits = constraints.Constraints((limit,), constraints.Measures(NB201, dataset, table=table))
        fits = limits.mask()
        best = float(setting.test[fits].max())
        runs = budget_rows(args, setting, scores, seconds, limits, pools, store)
        store.save()
        for method, values in runs.items():
            accuracy, cost = np.array(values).T
            rows.append({"dataset": dataset, "device": device, "budget": label, "ms": bound,
                         "fit": int(fits.sum()), "best": best, "method": method,
                         "accuracy": accuracy.mean(), "std": accuracy.std(), "gap": best - accuracy.mean(),
                         "seconds": cost.mean(), "repeats": len(values)})
        print(f"{dataset} {device} ≤ {bound:.2f} ms: {int(fits.sum())} fit, best {best:.2f}",
              file=sys.stderr)
    return rows


def percentile_budgets(table, devices, percentiles):
    return [(d, round(table.percentile(d, q), 2), f"p{q:g}") for d in devices for q in percentiles]


def _zero(value: float) -> float:
    """A difference as printed to 2 decimals, without "-0.00" for a float's rounding error."""
    return round(value, 2) + 0.0


def _methods(rows) -> list[str]:
    return list(dict.fromkeys(r["method"] for r in rows))


def _name(method: str) -> str:
    if method == POOL_BEST:
        return f"*{method}*"
    return method if method in ("random", "params") or method in strategies.CATALOG \
        else f"KNAS ({method})"


def summary_lines(rows, rea: str = "rea") -> list[str]:
    frame = pd.DataFrame(rows)
    reference = frame[frame.method == rea].seconds.mean() if rea in set(frame.method) else np.nan
    lines = ["| method | repeats | mean accuracy | mean gap to the best that fits | largest gap | "
             "mean search s | cost ÷ REA's |", "|---|---|---|---|---|---|---|"]
    for method in _methods(rows):
        mine = frame[frame.method == method]
        cost = mine.seconds.mean()
        costs = "— | —" if np.isnan(cost) else f"{cost:,.0f} | {cost / reference:.2f}"
        lines.append(f"| {_name(method)} | {mine.repeats.min()} | {mine.accuracy.mean():.2f} | "
                     f"{_zero(mine.gap.mean()):.2f} | {_zero(mine.gap.max()):.2f} | {costs} |")
    return lines + [""]


def detail_lines(rows, published: dict | None = None) -> list[str]:
    methods = _methods(rows)
    head = ["device", "budget", "cells that fit", "best that fits",
            *(["HELP (published)"] if published else []), *map(_name, methods)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    cells: dict[tuple, dict] = {}
    for row in rows:
        cells.setdefault((row["device"], row["budget"], row["ms"]), {"row": row})[row["method"]] = row
    for (device, budget, ms), entry in cells.items():
        first = entry["row"]
        values = [latency.label(device), f"{budget} = {ms:g} ms" if budget != f"{ms:g} ms" else budget,
                  f"{first['fit']:,}", f"{first['best']:.2f}"]
        if published:
            values.append(f"*{published[device][ms]:.1f}*")
        values += [f"{entry[m]['accuracy']:.2f} ({_zero(-entry[m]['gap']):+.2f})" for m in methods]
        lines.append("| " + " | ".join(values) + " |")
    return lines + [""]


def goal_lines(rows, label_free: list[str]) -> list[str]:
    frame = pd.DataFrame(rows)
    gaps = {m: frame[frame.method == m].gap.mean() for m in label_free if m in set(frame.method)}
    if not gaps or "rea" not in set(frame.method):
        return []
    strongest = min(gaps, key=gaps.get)
    cost = frame[frame.method == strongest].seconds.mean()
    rea = frame[frame.method == "rea"].seconds.mean()
    return [f"**Goal** (CIFAR-10, {frame.groupby(['device', 'budget']).ngroups} device × budget "
            f"settings): the strongest label-free ranking here is `{strongest}`, "
            f"{gaps[strongest]:.2f} points below the best cell that fits on average (goal: within "
            f"0.30) at {cost / rea:.2f} × constrained REA's search cost (goal: at most 0.33) — "
            + ("met." if gaps[strongest] <= 0.3 and cost / rea <= 1 / 3 else "not met."), ""]


def _strategy_repeats(text: str, default: int) -> dict[str, dict[str, int]]:
    """``rea:100,tpe:100,tpe:10@cifar100`` -> {rea: {"": 100}, tpe: {"": 100, cifar100: 10}}."""
    found: dict[str, dict[str, int]] = {}
    for item in filter(None, text.split(",")):
        name, _, rest = item.partition(":")
        repeats, _, dataset = rest.partition("@")
        found.setdefault(name, {"": default})[dataset] = int(repeats or default)
    return found


def _repeats_text(strategies: dict) -> str:
    return ", ".join(f"{name} " + ", ".join(f"{r} repeats" + (f" on {d}" if d else "")
                                            for d, r in by.items()) for name, by in strategies.items())


def pool_sections(args, pools, table, devices, percentiles, scores, seconds, store) -> list[str]:
    """One pool's tables: each data set at the percentile budgets, then HELP's budgets."""
    sections = []
    for dataset in args.datasets.split(","):
        rows = study(args, dataset, percentile_budgets(table, devices, percentiles), scores,
                     seconds, pools, store)
        sections += [f"## {dataset.upper().replace('CIFAR', 'CIFAR-')}", "",
                     f"Averaged over {len(devices)} devices × budgets at the "
                     f"{', '.join(f'{q:g}th' for q in percentiles)} latency percentile:", "",
                     *summary_lines(rows)]
        if dataset == "cifar10":
            sections += goal_lines(rows, [p for p in args.proxies if p != "params"])
        sections += ["Each setting: mean accuracy over the repeats (difference to the best cell "
                     "that fits).", "", *detail_lines(rows)]
    if "cifar100" in args.datasets.split(","):
        help_budgets = [(d, ms, f"{ms:g} ms") for d, budgets in HELP.items() for ms in budgets]
        rows = study(args, "cifar100", help_budgets, scores, seconds, pools, store)
        sections += ["## At HELP's budgets (CIFAR-100)", "",
                     "HELP's Table 4 (Lee et al., NeurIPS 2021; MetaD2A + HELP) in italics, as "
                     "published: those searches use labels (MetaD2A's accuracy predictor is "
                     "meta-trained on labelled data sets), meta-training on 13 other devices' "
                     "latencies and 10 latency measurements on the target device, and report one "
                     "search each. Ours: the same budgets, label-free, mean over the repeats.", "",
                     *detail_lines(rows, HELP), *summary_lines(rows)]
    return sections


def main():
    parser = argparse.ArgumentParser()
    for name in ("data", "truth", "table12", "costs", "latency"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--devices", default=DEVICES)
    parser.add_argument("--percentiles", default="10,25,50")
    parser.add_argument("--datasets", default="cifar10,cifar100")
    parser.add_argument("--pool", default="random:1000,all",
                        help="comma-separated pools, one set of tables each (all: every cell)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--proxies", default="mgm,meco,synflow,recommended,params")
    parser.add_argument("--strategies", default="rea,tpe",
                        help="NAME, NAME:REPEATS (default --repeats) or NAME:REPEATS@DATASET for "
                             "one data set; their runs are kept, so a later run with more repeats "
                             "adds only the new ones")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timing-cells", type=int, default=20)
    parser.add_argument("--out", default="docs/latency.md")
    args = parser.parse_args()
    args.proxies = args.proxies.split(",")
    args.strategies = _strategy_repeats(args.strategies, args.repeats)

    start = time.time()
    members = list(dict.fromkeys(m for p in args.proxies for m in Method.parse(p).members))
    scores = _scores.whole_space(NB201, args.data, members, args.n, args.workers)
    seconds = _scores.seconds_per_network(NB201, args.data, members, args.n, args.timing_cells)
    store = StrategyStore(paths.root() / "benchmarks" / "latency_table.json")
    table = constraints.load_table(args.latency, NB201)
    devices = args.devices.split(",")
    percentiles = [float(q) for q in args.percentiles.split(",")]
    sections = []
    for spec in args.pool.split(","):
        pool = Pool.parse(spec, NB201.size)
        pools = [pool.indices(NB201, args.seed + r) for r in range(args.repeats)]
        sections += [f"# Pool {spec}" + (" (every cell that fits is ranked; the proxies' scores "
                                          "are fixed, so their repeats agree)" if pool.kind != "random"
                                          else ", drawn per repeat"), ""]
        sections += pool_sections(args, pools, table, devices, percentiles, scores, seconds, store)
    timing = ", ".join(f"{name} {s:.3f}" for name, s in seconds.items())
    intro = (f"Budgets: the {args.percentiles} percentiles of each device's latency over all "
             f"15,625 cells (`{Path(args.latency).name}`). Pools {args.pool}: a random pool is drawn "
             f"per repeat (seeds {args.seed}, {args.seed}+1, ...), the same pools for every method, "
             f"{args.repeats} repeats; `all` is every cell. A "
             "two-stage method ranks the pool's cells that fit, keeps "
             f"its top k = {args.k} and picks the best of them by NAS-Bench-201's 12-epoch test "
             "accuracy; reported: the chosen cell's 200-epoch test accuracy. Classic strategies "
             f"({_repeats_text(args.strategies)}) search the whole space on the "
             "simulated clock (the dataset's default budget: 12,000 s on CIFAR-10, 40,000 s on "
             "CIFAR-100), "
             "proposing only cells that fit (TPE through Optuna's constraints). Proxies scored "
             f"on n = {args.n} real CIFAR-10 images of the shared subset with fixed weights (seed "
             "0); CIFAR-100 searches rank by those same scores (no CIFAR-100 images on this "
             "machine) and look up CIFAR-100's tables. Search seconds: for a two-stage method the "
             "networks it builds for the fitting cells times the proxy's seconds per network "
             f"measured here on one CPU core ({timing} s) plus NAS-Bench-201's recorded training "
             "time of its k candidates for 12 epochs; for a strategy its simulated clock.")
    lines = header("Latency-constrained search on NAS-Bench-201", intro, "benchmarks.latency_table",
                   f"CPU only; wall time {time.time() - start:.0f} s (cached "
                   "scores and strategy runs cost nothing)")
    publish(args.out, lines + sections)


if __name__ == "__main__":
    main()
