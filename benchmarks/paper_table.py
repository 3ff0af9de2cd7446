"""The KNAS paper's table on CIFAR-10, on one search-cost axis: KNAS with MGM and with the
recommended ranking against random selection and the classic multi-trial searches (RS, REA,
REINFORCE, TPE, simulated on NAS-Bench-201's tables), same pools, same 12-epoch lookup fine stage,
R repeats; published results as reference rows.

    KNAS_CACHE_DIR=/root/knas-cache python -m benchmarks.paper_table \\
        --data ../shared/data/cifar10/cifar10_small.npz --truth ../shared/data/nb201/nb201_accuracies.csv \\
        --table12 ../shared/data/nb201/nb201_12epoch.csv --costs ../shared/data/nb201/nb201_costs.csv \\
        --pool random:1000 --k 40 --repeats 10,100 --weights-seed 0 \\
        --methods mgm,recommended_top,recommended,meco,synflow,params,random,rs,rea,reinforce,tpe --out docs/paper_table.md

With ``--weights-seed`` every repeat scores its own pool with the same networks and image batch
(seed 0), so R = 100 reads the proxies' scores from one whole-space scoring in the cache; pools,
random picks and the classic searches still draw per repeat.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks._report import header
from knas.data import benchmark
from knas.results import references, runview, staticfigs
from knas.scoring.cache import ScoreCache
from knas.search.config import SearchConfig
from knas.search.events import Evaluated, MethodDone
from knas.search.pipeline import Search
from knas.search.specs import STRATEGIES
from knas import proxies, spaces

NB201 = spaces.get("nb201")

PUBLISHED = [r for r in references.find(NB201, dataset="cifar10") if r.method not in ("ResNet",)]


def run(args, repeats: int):
    methods = args.methods.split(",")
    config = SearchConfig(
        dataset="cifar10", data=args.data, truth=args.truth, pool=args.pool, proxy=methods[0],
        n=args.n, k=args.k, fine=f"lookup:{args.table12}:cifar10_test_12ep",
        baselines=tuple(methods[1:]), repeats=repeats, seed=args.seed, costs=args.costs,
        weights_seed=args.weights_seed)
    search = Search(config, ScoreCache(), workers=args.workers)
    events = []
    with tqdm(file=sys.stderr, unit="event", desc=f"R={repeats}", mininterval=10) as bar:
        for event in search.events():
            events.append(event)
            bar.update()
    return config, events


def best_in_pools(config, truth) -> float:
    """The mean over repeats of the best test accuracy in each repeat's pool: what a perfect
    ranking of the pool would reach."""
    column = truth[config.report_column]
    return float(np.mean([column.reindex(pool).max() for pool in config.pools()]))


def table_lines(config, events, truth) -> list[str]:
    table = runview.paper_table({"": runview.summary(events)}).set_index("method")
    ceiling = best_in_pools(config, truth)
    lines = [f"Best possible mean in these pools (a perfect ranking of each pool): **{ceiling:.2f}**.",
             "", "| method | test accuracy (mean ± std) | below the pools' best | scoring s (this "
             "machine) | training s (recorded, GPU) | GPU-hours | kWh | kg CO2e | networks built | "
             "networks trained |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for method, row in table.iterrows():
        name = f"KNAS ({method})" if method in (config.proxy, "mgm", *proxies.RANKINGS) and \
            method not in ("random",) else method
        below = "— (searches the whole space)" if method in STRATEGIES \
            else f"{ceiling - row['test_accuracy_mean']:.2f}"
        lines.append(f"| {name} | {row['test accuracy']} | {below} | "
                     f"{row['coarse_s']:,.1f} | {row['training_s']:,.0f} | "
                     f"{row['gpu_hours']:.2f} | {row['kwh']:.2f} | "
                     f"{row['kg_co2']:.2f} | {row['networks_scored']:.0f} | "
                     f"{row['networks_trained']:.0f} |")
    for ref in PUBLISHED:
        cost = f"{ref.search_seconds:,.0f}" if ref.search_seconds else "—"
        spread = f" ± {ref.test_std:.2f}" if ref.test_std is not None else ""
        lines.append(f"| *published: {ref.method}* | *{ref.test_mean:.2f}{spread}* | — | — | *{cost}* "
                     "| — | — | — | — | — |")
    return lines + ["", runview.energy_note(), ""]


def topk_lines(events, truth, column: str) -> list[str]:
    """How good each two-stage method's top k is, from its results: the mean and best accuracy
    in it, and where the fine stage's pick ranks among the k by that accuracy."""
    accuracy = truth[column]
    rows: dict[str, list] = {}
    for event in events:
        result = event.result if isinstance(event, MethodDone) else None
        if result and result.method not in STRATEGIES and result.topk:
            top = accuracy.reindex(result.topk)
            rank = int((top > accuracy[result.chosen]).sum()) + 1
            rows.setdefault(result.method, []).append(
                (top.mean(), top.max(), accuracy[result.chosen], rank))
    lines = ["Each two-stage method's top k, means over the repeats (accuracy: 200-epoch "
             f"`{column}`):", "",
             "| method | mean accuracy of its top k | best cell in its top k | the fine stage's pick | "
             "pick's rank in the top k |", "|---|---|---|---|---|"]
    for method, values in rows.items():
        mean, best, pick, rank = np.mean(values, axis=0)
        lines.append(f"| {method} | {mean:.2f} | {best:.2f} | {pick:.2f} | {rank:.1f} |")
    return lines + [""]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--table12", required=True)
    parser.add_argument("--costs", required=True)
    parser.add_argument("--pool", default="random:1000")
    parser.add_argument("--k", type=int, default=40)
    parser.add_argument("--repeats", default="10,100", help="comma-separated: one table per value")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights-seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--methods", default="mgm,recommended,random,rs,rea,reinforce,tpe",
                        help="the first is the searched proxy; the rest run as baselines")
    parser.add_argument("--out", default="docs/paper_table.md")
    args = parser.parse_args()

    start = time.time()
    truth = benchmark.load_table(args.truth)
    sections, figure = [], None
    for repeats in (int(r) for r in args.repeats.split(",")):
        t0 = time.time()
        config, events = run(args, repeats)
        sections += [f"## R = {repeats} ({time.time() - t0:.0f} s)", "",
                     *table_lines(config, events, truth),
                     *topk_lines(events, truth, config.report_column)]
        figure = (config, events)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    config, events = figure
    plot = out.with_name(out.stem + "_anytime.png")
    fig = staticfigs.anytime(runview.anytime_frame(events), runview.results_frame(events), PUBLISHED)
    plot.write_bytes(staticfigs.to_bytes(fig, "png", dpi=120))
    weights = ("the same networks and image batch (seed "
               f"{args.weights_seed}) in every repeat, so the proxies' scores of all pools come from "
               "one whole-space scoring in the cache" if args.weights_seed is not None
               else "networks and images drawn per repeat")
    intro = (f"Pool {args.pool} drawn per repeat (seeds {args.seed}, {args.seed}+1, ...), k = {args.k}; "
             "fine stage: the best of the k by NAS-Bench-201's 12-epoch test accuracy; reported: the "
             "chosen cell's 200-epoch `cifar10_test`. Proxies scored on n = "
             f"{args.n} real CIFAR-10 images of the shared subset, {weights}. Classic strategies "
             "search the whole space on NAS-Bench-201's simulated clock (12,000 s budget; "
             "`knas/search/classic.py`). Search seconds: see the note under each table. Rows in italics are "
             "published figures (`knas/spaces/nb201/published.py` says how each was checked), not measured here.")
    lines = header("KNAS against classic NAS on NAS-Bench-201 CIFAR-10 (paper-style table)", intro,
                   "benchmarks.paper_table",
                   f"CPU only; wall time {time.time() - start:.0f} s (cached scores cost nothing)")
    lines += sections + [f"![Accuracy against search seconds]({plot.name})", ""]
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"{sum(isinstance(e, Evaluated) for e in events)} simulated evaluations in the last run",
          file=sys.stderr)


if __name__ == "__main__":
    main()
