"""KNAS over the whole NAS-Bench-201 space (issue 22, item 5): score all 15,625 cells with a
ranking's members, keep the top k, pick among them by the 12-epoch lookup; mean ± std over weight
seeds for each k and data set, with each part's cost kept apart; then the same two-stage search on
R pools of N cells.

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.whole_space_search \\
        --data ../shared/data/cifar10/cifar10_small.npz --truth ../shared/data/nb201/nb201_accuracies.csv \\
        --table12 ../shared/data/nb201/nb201_12epoch.csv --costs ../shared/data/nb201/nb201_costs.csv \\
        --rankings recommended_top,recommended,logrank:meco+synflow --seeds 0-9 --out docs/whole_space_search.md

A seed is ``knas score --seed``: the networks' weights and the n CIFAR-10 images. Scores go
through the score cache, so an interrupted run resumes, and seeds can be scored over several
sessions (``--score-only`` scores and times them without writing the report). A seed's scoring is
timed only when none of it was cached (``<KNAS_CACHE_DIR>/benchmarks/whole_space_seconds.json``).
Each seed's finished scores are also kept in the repository (``--kept``, default
docs/whole_space_scores/seed<N>.npz, float64, the batch's and settings' digests beside them), so
the report survives a machine whose cache is gone: about 55 minutes of this 2-core CPU per seed.
Scoring all rankings' members in one pass (``--rankings logrank:meco+synflow+az_expressivity+
swap_reg+gram_cond``) builds each network once for all of them and gives bitwise the scores of
the ranking-by-ranking passes (checked on 40 cells of seed 0).
No CIFAR-100 or ImageNet16-120 images are on this machine: the same CIFAR-10 scores rank the
cells for all three data sets (docs/input_choice.md: the head size or Gaussian inputs move
recommended's ρ by at most 0.006), each data set's own 12-epoch and 200-epoch accuracies judge.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import _scores
from benchmarks._report import header, publish
from knas import paths, proxies, spaces
from knas.data import benchmark, datasets
from knas.results import references, stats
from knas.search import classic, strategies
from knas.search.specs import Method

NB201 = spaces.get("nb201")
DATASETS = ("cifar10", "cifar100", "imagenet16-120")
FINE_EPOCHS = 12
REA_BUDGET = 12_000.0  # seconds: the KNAS paper's and NAS-Bench-201's budget for REA on CIFAR-10
KEPT = Path(__file__).resolve().parents[1] / "docs" / "whole_space_scores"
_DIGESTS = ("batch", "settings")


def times_file():
    """Where each seed's measured scoring time is kept (beside the score cache it describes)."""
    return paths.root() / "benchmarks" / "whole_space_seconds.json"


def seeds_arg(text: str) -> list[int]:
    """``0-9`` or ``0,3,5``."""
    first, dash, last = text.partition("-")
    if dash:
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",") if s]


def score_seed(data: str, rankings: list[Method], seed: int, workers: int,
               kept: Path = KEPT) -> pd.DataFrame:
    """Every member of every ranking (and params) over the whole space for one seed: what is kept
    for it first, then the rest, members of each ranking scored (and, when nothing was cached,
    timed) before the next ranking adds its own; kept again when anything was added."""
    batch, settings = _scores.seeded_batch(NB201, data, seed=seed)
    digests = (batch.digest, settings.digest())
    found = read_kept(kept_file(kept, seed), digests)
    times = json.loads(times_file().read_text()) if times_file().is_file() else {}
    scored = list(found.columns)
    for ranking in rankings:
        new = [m for m in ranking.members if m not in scored]
        if new:
            fresh = _scores.cached_share(NB201, data, new, seed=seed) == 0
            start = time.perf_counter()
            _scores.whole_space(NB201, data, new, workers=workers, seed=seed)
            if fresh:
                times[f"{seed}:{'+'.join(new)}"] = {"seconds": time.perf_counter() - start,
                                                    "workers": workers}
                times_file().parent.mkdir(parents=True, exist_ok=True)
                times_file().write_text(json.dumps(times, indent=1))
            scored += new
    missing = [m for m in scored + ["params"] if m not in found]  # params: a baseline
    if not missing:
        return found
    scores = found.join(_scores.whole_space(NB201, data, missing, seed=seed), how="outer")
    write_kept(kept_file(kept, seed), scores, digests)
    return scores


def kept_file(folder: Path, seed: int) -> Path:
    return Path(folder) / f"seed{seed}.npz"


def read_kept(path: Path, digests: tuple[str, str]) -> pd.DataFrame:
    """A seed's kept scores (every cell, index order), or none when there is no file or it was
    made on another batch or with other settings."""
    if path.is_file():
        with np.load(path, allow_pickle=False) as kept:
            if tuple(str(kept[d]) for d in _DIGESTS) == digests:
                return pd.DataFrame({name: kept[name] for name in kept.files
                                     if name not in _DIGESTS})
            print(f"{path}: made on another batch or with other settings; not used")
    return pd.DataFrame(index=pd.RangeIndex(NB201.size))


def write_kept(path: Path, scores: pd.DataFrame, digests: tuple[str, str]) -> None:
    if len(scores) != NB201.size or not (scores.index == np.arange(NB201.size)).all():
        raise ValueError("kept scores must hold every cell in index order")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **dict(zip(_DIGESTS, digests)),
                        **{name: scores[name].to_numpy(dtype=np.float64) for name in scores})


def picks(order: np.ndarray, fine: np.ndarray, ks) -> dict[int, int]:
    """For each k, the cell the fine stage picks among the ranking's top k (best 12-epoch
    accuracy; the first in ranking order among ties)."""
    return {k: int(order[:k][np.argmax(fine[order[:k]])]) for k in ks}


def ranking_order(scores: pd.DataFrame, ranking: Method) -> np.ndarray:
    """Cell indices, best first (a stable sort: ties keep index order)."""
    values = stats.aggregate(scores, ranking).reindex(range(NB201.size)).to_numpy(dtype=float)
    return np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--table12", required=True)
    parser.add_argument("--costs", required=True)
    parser.add_argument("--rankings", default=f"recommended_top,{proxies.RECOMMENDED}")
    parser.add_argument("--seeds", default="0-9", type=seeds_arg)
    parser.add_argument("--ks", default="1,5,10,20,40")
    parser.add_argument("--pool", type=int, default=1000, help="N, cells per pool")
    parser.add_argument("--repeats", type=int, default=100, help="R, pools")
    parser.add_argument("--classic-repeats", type=int, default=100,
                        help="runs (seeds 0 ..) of each classic search per data set")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--score-only", action="store_true")
    parser.add_argument("--kept", type=Path, default=KEPT,
                        help="folder of each seed's finished scores (seed<N>.npz)")
    parser.add_argument("--out", default="docs/whole_space_search.md")
    args = parser.parse_args()
    start = time.time()
    rankings = [Method.parse(r) for r in args.rankings.split(",")]
    ks = [int(k) for k in args.ks.split(",")]
    scores = {seed: score_seed(args.data, rankings, seed, args.workers, args.kept)
              for seed in args.seeds}
    if args.score_only:
        return
    truth = benchmark.load_table(args.truth)
    table12 = benchmark.load_table(args.table12)
    costs = pd.read_csv(args.costs, index_col="index")
    body = _cost_lines()
    for dataset in DATASETS:
        body += _dataset_lines(dataset, rankings, ks, scores, truth, table12, costs, args)
    lines = header(
        "KNAS over the whole NAS-Bench-201 space, and on pools of "
        f"{args.pool:,}",
        _intro(args, rankings), "benchmarks.whole_space_search",
        f"wall time {time.time() - start:.0f} s (scores kept or cached: scoring cost nothing)")
    publish(args.out, lines + body)


def _intro(args, rankings) -> str:
    return (f"Each ranking ({', '.join(f'`{r}`' for r in rankings)}) scores every cell on n = 32 "
            f"CIFAR-10 images with the weights and images of each seed ({len(args.seeds)} seeds: "
            f"{args.seeds[0]}–{args.seeds[-1]}); the fine stage picks, among the top k, the cell with "
            f"the best {FINE_EPOCHS}-epoch test accuracy of NAS-Bench-201's 12-epoch table "
            "(what a short training would see); the result is that cell's 200-epoch test accuracy. "
            "Mean ± std over seeds. The same CIFAR-10 scores rank the cells for CIFAR-100 and "
            "ImageNet16-120 (no images of them here). Baselines: the parameter count (no seed: "
            "one value), random k cells (1,000 draws). Pools: R random pools of N cells "
            "(`space.sample(N, seed=r)`), each ranked with the scores of seed r mod the seeds "
            "scored.")


def _cost_lines() -> list[str]:
    times = json.loads(times_file().read_text()) if times_file().is_file() else {}
    lines = ["## What a search costs, in its parts", "",
             "Scoring: measured wall seconds of scoring all 15,625 cells on this machine's CPU, "
             "timed only when none of it was cached (parts scored while other heavy work "
             "shared the CPU were taken out of the times file by hand); a run scores each "
             "ranking's members in turn, so a part lists what it added to the rankings before "
             "it. Training: "
             "NAS-Bench-201's recorded GPU seconds for 12 epochs of the k cells kept (each data "
             "set's 200-epoch time × 12/200), mean over seeds, in the tables below. The two are "
             "on different devices and are not added; REA's budget in the KNAS paper is "
             f"{REA_BUDGET:,.0f} s of the same recorded GPU training.", "",
             "| seed | proxies scored (all 15,625 cells) | wall s | worker processes |",
             "|---|---|---|---|"]
    lines += [f"| {key.partition(':')[0]} | {key.partition(':')[2].replace('+', ', ')} | "
              f"{t['seconds']:,.0f} | {t['workers']} |" for key, t in sorted(times.items())]
    if not times:
        lines.append("| — | nothing timed yet | — | — |")
    return lines + [""]


def _dataset_lines(dataset, rankings, ks, scores, truth, table12, costs, args) -> list[str]:
    columns = NB201.truth_columns(dataset)
    test = truth[columns.test].reindex(range(NB201.size)).to_numpy(dtype=float)
    fine = table12[columns.test + "_12ep"].reindex(range(NB201.size)).to_numpy(dtype=float)
    per_epoch, _ = NB201.seconds_per_epoch(dataset, costs)
    best = np.nanmax(test)
    head = "| ranking | " + " | ".join(f"k = {k}" for k in ks) + " |"
    rule = "|---|" + "---|" * len(ks)
    lines = [f"## {datasets.info(dataset).label} (best of the space {best:.2f})", "",
             f"Whole space, one ranking per seed: test accuracy (%) of the cell picked among the "
             f"top k; under it the recorded GPU seconds of training the k cells for "
             f"{FINE_EPOCHS} epochs.", "", head, rule]
    seeds = sorted(scores)
    for ranking in rankings:
        orders = [ranking_order(scores[s], ranking) for s in seeds]
        chosen = [picks(order, fine, ks) for order in orders]
        cells = [[c[k] for c in chosen] for k in ks]
        lines.append(f"| `{ranking}` | " + " | ".join(_pm(test[c]) for c in cells) + " |")
        trained = [[per_epoch[order[:k]].sum() * FINE_EPOCHS for order in orders] for k in ks]
        lines.append("| *training, GPU s* | " + " | ".join(f"{np.mean(t):,.0f}" for t in trained)
                     + " |")
    params = picks(np.argsort(-stats.oriented(scores[seeds[0]], "params").to_numpy(),
                              kind="stable"), fine, ks)
    lines.append("| params | " + " | ".join(f"{test[params[k]]:.2f}" for k in ks) + " |")
    rng = np.random.default_rng(0)
    random = [[test[picks(rng.permutation(NB201.size), fine, [k])[k]] for _ in range(1000)]
              for k in ks]
    lines.append("| random k | " + " | ".join(_pm(np.array(r)) for r in random) + " |")
    for ref in references.find(NB201, dataset=dataset):
        if ref.method.startswith("KNAS"):
            lines.append(f"| *published: {ref.method}* | *{ref.test_mean:.2f}"
                         + (f" ± {ref.test_std:.2f}" if ref.test_std is not None else "")
                         + "* (its own k and pool) |" + " |" * (len(ks) - 1))
    lines += ["", f"Pools of N = {args.pool:,}, R = {args.repeats}: test accuracy (%) of the "
              "cell picked among each pool's top k, mean ± std over pools.", "", head, rule]
    for ranking in rankings:
        orders = {s: ranking_order(scores[s], ranking) for s in seeds}
        results = {k: [] for k in ks}
        for r in range(args.repeats):
            pool = np.asarray(NB201.sample(args.pool, r))
            position = np.empty(NB201.size, dtype=np.int64)
            position[orders[seeds[r % len(seeds)]]] = np.arange(NB201.size)
            ordered = pool[np.argsort(position[pool], kind="stable")]
            for k, cell in picks(ordered, fine, ks).items():
                results[k].append(test[cell])
        lines.append(f"| `{ranking}` | " + " | ".join(_pm(np.array(results[k])) for k in ks) + " |")
    return lines + [""] + _classic_lines(dataset, test, table12, costs, args.classic_repeats)


def _classic_lines(dataset, test, table12, costs, repeats) -> list[str]:
    """The simulated multi-trial searches on this data set's own 12-epoch rewards and clock, at
    its default budget: the cost line a two-stage search's training seconds are held against."""
    oracle = classic.table_oracle(NB201, dataset, table12, costs)
    budget = oracle.default_budget()
    lines = [f"Classic searches on {datasets.info(dataset).label}'s own 12-epoch test accuracies "
             f"(rewards) and recorded training seconds, budget {budget:,.0f} s of simulated GPU "
             f"training (`knas/search/classic.py`), {repeats} runs each (seeds 0–{repeats - 1}): "
             "test accuracy (%) of the cell each returns.", "",
             "| search | test accuracy | cells trained | simulated GPU s |", "|---|---|---|---|"]
    for name, meta in strategies.CATALOG.items():
        if meta.trains or meta.objectives > 1:
            continue  # needs learning curves (bohb) or a second objective (nsga2)
        results = [classic.run(name, oracle, seed)[1] for seed in range(repeats)]
        lines.append(f"| {name} | {_pm(test[[r.chosen for r in results]])} | "
                     f"{np.mean([r.evaluations for r in results]):.0f} | "
                     f"{np.mean([r.clock for r in results]):,.0f} |")
    return lines + [""]


def _pm(values: np.ndarray) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{values.mean():.2f} ± {values.std(ddof=0):.2f}"


if __name__ == "__main__":
    main()
