"""A ranking chosen for what a search needs (issue 22, item 3): on the same 1,000-cell sample the
correlation study uses, every aggregation of every small subset of the affordable proxies, judged
by the outcome of the two-stage search itself — the 200-epoch CIFAR-10 test accuracy of the cell
the 12-epoch lookup picks among a pool's top k, averaged over many pools drawn from the sample —
beside Spearman ρ and nDCG.

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.search_ranking \\
        --data ../shared/data/cifar10/cifar10_small.npz --truth ../shared/data/nb201/nb201_accuracies.csv \\
        --table12 ../shared/data/nb201/nb201_12epoch.csv --out docs/search_ranking.md

Only the sample's labels choose; docs/rankings.md and docs/whole_space_search.md then report the
choice over all 15,625 cells. The search outcome averages k = 1, 3 and 10 (what a search keeps,
from one cell to ten). A ranking for search must also be affordable where it is used: the issue's
goal is the whole space for at most a third of REA's 12,000-second budget, so a ranking enters only
if scoring all 15,625 cells (its members' catalogue seconds a network, on the 5,273 distinct
functions where a proxy shares a score between them, over ``--workers`` cores) plus training its
top 10 for 12 epochs (the sample's median recorded time) fits in ``--budget`` seconds.
"""
import argparse
import itertools
import time

import numpy as np
import pandas as pd

from benchmarks._report import header, publish
from benchmarks.correlation_study import _score
from knas import proxies, spaces
from knas.data import benchmark, readers
from knas.results import stats
from knas.search.specs import AGGREGATIONS, Method

NB201 = spaces.get("nb201")
SIMILAR = ("flops", "az_complexity")  # rank like params: never a candidate beside it


def scoring_seconds(members, distinct: int, workers: int) -> float:
    """The whole space's scoring time for ``members`` by the catalogue's seconds a network."""
    return sum(proxies.info(m).cpu_seconds * (distinct if proxies.info(m).dedup else NB201.size)
               for m in members) / workers


def search_outcome(ranking: pd.Series, pools: np.ndarray, fine: np.ndarray, test: np.ndarray,
                   k: int) -> float:
    """Mean over ``pools`` (rows of positions into the sample) of the test accuracy of the cell
    with the best ``fine`` accuracy among the pool's top ``k`` by ``ranking`` (ties: the first)."""
    values = np.nan_to_num(ranking.to_numpy(dtype=float), nan=-np.inf)[pools]
    top = np.take_along_axis(pools, np.argsort(-values, axis=1, kind="stable")[:, :k], axis=1)
    picked = top[np.arange(len(pools)), np.argmax(fine[top], axis=1)]
    return float(test[picked].mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--table12", required=True)
    parser.add_argument("--archs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pools", type=int, default=1000)
    parser.add_argument("--pool-size", type=int, default=100)
    parser.add_argument("--ks", default="1,3,10")
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--max-members", type=int, default=4)
    parser.add_argument("--budget", type=float, default=4000.0,
                        help="seconds for scoring the whole space and training the top 10")
    parser.add_argument("--costs", required=True, help="NAS-Bench-201's training costs table")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="docs/search_ranking.md")
    args = parser.parse_args()
    start = time.time()

    ks = [int(k) for k in args.ks.split(",")]
    pool = NB201.sample(args.archs, args.seed)
    per_epoch, _ = NB201.seconds_per_epoch("cifar10", pd.read_csv(args.costs, index_col="index"))
    training = 10 * 12 * float(np.median(per_epoch[pool]))
    distinct = len({NB201.representative(i) for i in range(NB201.size)})
    allowance = args.budget - training

    def affordable_set(members) -> bool:
        return scoring_seconds(members, distinct, args.workers) <= allowance

    affordable = [p for p in proxies.CATALOG if p != "mgm_official" and affordable_set((p,))]
    shown = list(dict.fromkeys(affordable + list(proxies.RANKINGS[proxies.RECOMMENDED].members)))
    frame = _score(pool, shown, readers.load_named("cifar10", args.data), 32, args.seed,
                   args.workers, {})
    truth = benchmark.load_table(args.truth)
    columns = NB201.truth_columns("cifar10")
    test = truth[columns.test].reindex(frame.index)
    fine = benchmark.load_table(args.table12)[columns.test + "_12ep"].reindex(frame.index)
    rng = np.random.default_rng(args.seed)
    pools = np.stack([rng.choice(len(frame), args.pool_size, replace=False)
                      for _ in range(args.pools)])

    def judged(method: Method) -> dict:
        ranking = stats.aggregate(frame, method)
        return {"ranking": str(method),
                "search": float(np.mean([search_outcome(ranking, pools, fine.to_numpy(),
                                                        test.to_numpy(), k) for k in ks])),
                "spearman": stats.spearman(ranking, test), "ndcg": stats.ndcg(ranking, test),
                "scoring": scoring_seconds(method.members, distinct, args.workers)}

    singles = pd.DataFrame([judged(Method((p,))) for p in affordable])
    singles = singles.sort_values("search", ascending=False, ignore_index=True)
    candidates = [p for p in singles["ranking"] if p not in SIMILAR][:args.candidates]
    rows = [judged(Method(members, how)) for size in range(2, args.max_members + 1)
            for members in itertools.combinations(candidates, size) if affordable_set(members)
            for how in AGGREGATIONS]
    table = pd.concat([singles, pd.DataFrame(rows)], ignore_index=True)
    table = table.sort_values("search", ascending=False, ignore_index=True)
    best_possible = float(np.mean([test.to_numpy()[p].max() for p in pools]))
    current = judged(Method.parse(proxies.RECOMMENDED))
    lines = header(
        "A ranking chosen for search (NAS-Bench-201, CIFAR-10)",
        _intro(args, frame, affordable, best_possible, training, allowance),
        "benchmarks.search_ranking",
        f"{args.workers} worker processes; wall time {time.time() - start:.0f} s (cached scores "
        "count as 0)")
    head = ["| ranking | search outcome | ρ | nDCG@1000 | whole space, s |", "|---|---|---|---|---|"]
    lines += ["## Best twenty by search outcome", "", *head]
    lines += [_row(r) for r in table.head(20).to_dict("records")]
    top = proxies.RANKINGS["recommended_top"]
    lines += ["", f"Chosen: `{table.iloc[0]['ranking']}`, the first of the best (logrank and geomean "
              "always order cells alike). The catalogue's `recommended_top` is "
              f"`{top.aggregation}:{'+'.join(top.members)}` (`knas/proxies/__init__.py`, RANKINGS); "
              "over the whole space: docs/rankings.md and docs/whole_space_search.md."]
    lines += ["", "## Single proxies", "", *head]
    lines += [_row(r) for r in singles.to_dict("records")]
    chance = np.mean([_random_outcome(pools, fine.to_numpy(), test.to_numpy(), k) for k in ks])
    lines += ["", "## For comparison (recommended is over the budget: shown, not a candidate)", "",
              *head, _row(current | {"ranking": "recommended"}),
              f"| random k | {chance:.2f} | — | — | 0 |", ""]
    publish(args.out, lines)


def _intro(args, frame, affordable, best_possible, training, allowance) -> str:
    return (f"{len(frame):,} cells of `space.sample({args.archs}, seed={args.seed})`, scored on "
            f"n = 32 CIFAR-10 images with the weights and images of seed {args.seed}. Search "
            f"outcome: {args.pools} pools of {args.pool_size} cells drawn from the sample; each keeps "
            f"its top k by the ranking, picks the one with the best 12-epoch test accuracy "
            "(NAS-Bench-201's 12-epoch table) and scores its 200-epoch test accuracy; the mean "
            f"over pools and over k = {args.ks} (the best cell of each pool averages "
            f"{best_possible:.2f}). Affordable: scoring the whole space in at most "
            f"{allowance:,.0f} s ({args.budget:,.0f} s, a third of REA's budget, less "
            f"{training:,.0f} s of 12-epoch training of 10 median cells) on {args.workers} cores "
            "by the catalogue's seconds a network (the last column). Candidates: the affordable "
            f"proxies ({', '.join(affordable)}); the {args.candidates} best single ones by search "
            f"outcome (flops and az_complexity left out: they rank like params) enter every "
            f"affordable aggregation ({', '.join(AGGREGATIONS)}) of 2 to {args.max_members} members. "
            "ρ and nDCG@1000 (VKDNW's gain 2^accuracy − 1) are over the sample, for comparison.")


def _random_outcome(pools, fine, test, k) -> float:
    rng = np.random.default_rng(1)
    return float(np.mean([test[p[np.argmax(fine[p])]] for p in
                          (rng.permutation(row)[:k] for row in pools)]))


def _row(r: dict) -> str:
    return (f"| `{r['ranking']}` | {r['search']:.3f} | {r['spearman']:.3f} | "
            f"{r['ndcg']:.3f} | {r['scoring']:,.0f} |")


if __name__ == "__main__":
    main()
