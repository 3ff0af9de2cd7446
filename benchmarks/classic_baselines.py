"""Classic multi-trial NAS on NAS-Bench-201, simulated (knas.search.classic): R repeats of each strategy at
the default budget of a dataset; the chosen cell's 200-epoch test accuracy, evaluations per run,
simulated search cost and its footprint, against the published figures (knas.results.references).

    python -m benchmarks.classic_baselines --tables ../shared/data/nb201 --dataset cifar10 \\
        --repeats 100 --reinforce-lrs 0.5,0.1,0.01,0.001 --out docs/classic_baselines.md
"""
import argparse
import platform
import statistics
import time
from pathlib import Path

from knas.data import benchmark, datasets
from knas.search import classic
from knas.results import energy, references
from knas.spaces.nb201 import columns, published, traincost
from knas import spaces

NB201 = spaces.get("nb201")

TEST_COLUMNS = {"cifar10": "cifar10_test", "cifar100": "cifar100_test",
                "imagenet16-120": "imagenet16_test"}
PUBLISHED_NAMES = {"rs": "RS", "rea": "REA", "reinforce": "REINFORCE", "tpe": "TPE"}


def mean_std(values) -> str:
    return f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", required=True, help="folder with the nb201_*.csv tables")
    parser.add_argument("--dataset", default="cifar10", choices=list(datasets.NAMES))
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--strategies", default=",".join(PUBLISHED_NAMES),
                        help="the table-simulated strategies to run (bohb trains for real)")
    parser.add_argument("--reinforce-lrs", default="0.5",
                        help="REINFORCE learning rates to run, one row each (default: the NB201 one)")
    parser.add_argument("--out", default="docs/classic_baselines.md")
    args = parser.parse_args()
    folder = Path(args.tables)
    table12 = benchmark.load_table(folder / "nb201_12epoch.csv")
    truth = benchmark.load_table(folder / "nb201_accuracies.csv")
    oracle = classic.table_oracle(NB201, args.dataset, table12, traincost.load_costs(folder / "nb201_costs.csv"))
    budget = columns.BY_DATASET[args.dataset].default_budget
    cost = energy.footprint(budget)
    rows = []
    runs = [(s, {}) for s in args.strategies.split(",") if s != "reinforce"]
    if "reinforce" in args.strategies.split(","):
        runs += [("reinforce", {"learning_rate": float(lr)}) for lr in args.reinforce_lrs.split(",")]
    for strategy, options in runs:
        start = time.perf_counter()
        results = [classic.run(strategy, oracle, seed, **options)[1] for seed in range(args.repeats)]
        wall = time.perf_counter() - start
        accuracy = {d: [truth.loc[r.chosen, c] for r in results] for d, c in TEST_COLUMNS.items()}
        found = references.find(NB201, PUBLISHED_NAMES[strategy], args.dataset)
        rows.append(
            f"| {strategy}{''.join(f' ({k} {v:g})' for k, v in options.items())} | "
            f"{mean_std(accuracy[args.dataset])} | "
            + " | ".join(mean_std(accuracy[d]) for d in TEST_COLUMNS if d != args.dataset)
            + f" | {statistics.fmean(r.evaluations for r in results):.1f} | "
            f"{statistics.fmean(r.clock for r in results):,.0f} | "
            + (f"{found[0].test_mean:.2f} ± {found[0].test_std:.2f}" if found else "—")
            + f" | {wall:.1f} |")
        print(rows[-1], flush=True)
    others = [d for d in TEST_COLUMNS if d != args.dataset]
    lines = [
        f"# Classic multi-trial NAS on NAS-Bench-201 ({args.dataset}), simulated",
        "",
        (f"Each strategy searched {args.repeats} times (seeds 0..{args.repeats - 1}) with a "
        f"{budget:,.0f} s simulated budget: reward = 12-epoch `{columns.BY_DATASET[args.dataset].table12_column}`, "
        f"cost = 12/200 of `{columns.BY_DATASET[args.dataset].cost_column}`. Reported: the chosen cell's "
        f"200-epoch test accuracy on {args.dataset} and, as NAS-Bench-201 Table 5 does for cells "
        f"searched on CIFAR-10, on {' and '.join(others)}. Published: {published.NB201_PAPER}."),
        "",
        "Command:",
        "",
        "```",
        (f"python -m benchmarks.classic_baselines --tables {args.tables} --dataset {args.dataset} "
        f"--repeats {args.repeats} --strategies {args.strategies} --reinforce-lrs {args.reinforce_lrs} "
        f"--out {args.out}"),
        "```",
        "",
        f"Machine: {platform.machine()}, CPU only, shared with other sessions (wall times indicative).",
        (f"Search cost of one run (the budget): {cost.gpu_hours:.2f} GPU-hours, {cost.kwh:.2f} kWh, "
        f"{cost.kg_co2:.2f} kg CO2e ({cost.assumptions})."),
        "",
        f"| strategy | test acc. {args.dataset} | " + " | ".join(f"test acc. {d}" for d in others)
        + " | evaluations / run | simulated s / run | published (NB201 Table 5) | wall s (all runs) |",
        "|" + "---|" * (6 + len(others)),
        *rows,
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
