"""KNAS on text (the paper's section 5.3, small): every applicable proxy against the measured
ground truth of the text cell space, the two-stage search each ranking makes on that table, and
the network KNAS picks against the encoder's standard head, trained alike.

    KNAS_CACHE_DIR=/root/knas_cache python -m benchmarks.text_study --root ../shared/data/text \\
        --truth trec=/root/knas_cache/benchmarks/truth_text_trec.csv --out docs/text.md

Ground-truth tables come from ``knas truth --space text`` (resumable; see docs/text.md for the
commands). Scores: n = 32 training texts, weights and texts of seed 0. Search on a table: pools
of ``--pool`` cells drawn from the measured ones, the top ``--k`` by the ranking, the best of
those by the table's validation column (the lookup fine stage), reported by its test column.
Against the head: per data set KNAS (mgm) scores ``--head-pool`` random cells, trains its
top-``--k`` for the recipe's epochs and keeps the best on validation; that cell and the standard
head are then trained with ``--seeds`` seeds each and tested on the data set's test split.
"""
import argparse
import statistics
import tempfile
import time

import numpy as np
import pandas as pd

from benchmarks._report import header, publish
from knas import proxies, spaces
from knas.data import benchmark
from knas.results import stats
from knas.scoring import backends, scorer
from knas.scoring.cache import ScoreCache
from knas.search import classic, train
from knas.search.specs import REFERENCE
from knas.ui import forms

DATASETS = ("sst2", "trec", "mrpc", "rte")


def score(space, dataset, cells, names, n=32):
    batch = scorer.make_batch(dataset, n, 0, space)
    settings = scorer.ScoreSettings(n=n, seed=0)
    start = time.perf_counter()
    with backends.open_backend(space, "local", "cpu", 1) as backend, \
            tempfile.TemporaryDirectory() as fresh:  # measured, never read from a cache
        rows = {r.index: r.values
                for r in backend.score(cells, names, batch, settings, ScoreCache(fresh))}
    return pd.DataFrame.from_dict(rows, orient="index"), time.perf_counter() - start


def correlations(table, scores, names, test_column):
    truth = table[test_column].reindex(scores.index).astype(float)
    lines = ["| proxy | Spearman ρ [95% CI] | Kendall τ | top-10% overlap | nDCG |", "|---|---|---|---|---|"]
    rows = []
    for name in names:
        oriented = stats.oriented(scores, name)
        lo, hi = stats.bootstrap_interval(stats.spearman, oriented, truth)
        rows.append((stats.spearman(oriented, truth), name, lo, hi, stats.kendall(oriented, truth),
                     stats.top_overlap(oriented, truth), stats.ndcg(oriented, truth)))
    for rho, name, lo, hi, tau, top, gain in sorted(rows, key=lambda r: -np.nan_to_num(r[0], nan=-9)):
        lines.append(f"| {name} | {rho:.3f} [{lo:.3f}, {hi:.3f}] | {tau:.3f} | {top:.2f} | {gain:.3f} |")
    return lines


def search_on_table(table, scores, columns, rankings, pools, pool_size, k, score_seconds):
    """Mean (± std) test accuracy of the two-stage search per ranking over seeded pools."""
    cells = np.array(scores.index)
    valid, test = table[columns.valid], table[columns.test]
    out = {}
    for name in ["random", *rankings]:
        picked, costs = [], []
        for p in range(pools):  # pool p is the same for every method
            pool = np.random.default_rng(p).permutation(cells)[:pool_size]
            if name == "random":
                top = list(np.random.default_rng(pools + p).permutation(pool)[:k])
            else:
                ranked = stats.oriented(scores.loc[pool], name).sort_values(ascending=False)
                top = list(ranked.index[:k])
            best = max(top, key=lambda i: (valid[i], -i))
            picked.append(test[best])
            costs.append(sum(table.loc[top, columns.cost]) + (score_seconds.get(name, 0) * pool_size))
        out[name] = (statistics.fmean(picked), statistics.pstdev(picked), statistics.fmean(costs))
    return out


class _Measured:
    """Limits a classic search to the table's measured cells (a proposal elsewhere is drawn
    again, as a cell over a deployment limit is)."""

    def __init__(self, cells):
        self.cells = set(int(c) for c in cells)

    def fits(self, index: int) -> bool:
        return index in self.cells

    def violation(self, index: int) -> float:
        return 0.0 if index in self.cells else 1.0


def classic_on_table(space, table, columns, dataset, budget, runs):
    """RS and REA on the measured table, NAS-Bench-201's way: an evaluation's reward is the
    cell's validation accuracy, its cost the recorded training seconds, until ``budget``; the
    pick is reported by its test accuracy. Mean (± std) test accuracy and mean cost."""
    rewards = table[columns.valid].reindex(range(space.size)).to_numpy(dtype=float)
    seconds = table[columns.cost].reindex(range(space.size)).to_numpy(dtype=float)
    oracle = classic.TableOracle(space, dataset, rewards, seconds, 0, False)
    out = {}
    for strategy in ("rs", "rea"):
        picked, costs = [], []
        for seed in range(runs):
            try:
                _, result = classic.run(strategy, oracle, seed, budget,
                                        constraints=_Measured(table.index))
            except classic.ClassicError:  # its first cell costs more than the budget: no pick
                continue
            picked.append(table.loc[result.chosen, columns.test])
            costs.append(result.clock)
        label = strategy if len(picked) == runs else f"{strategy} ({len(picked)} of {runs} runs picked)"
        out[label] = (statistics.fmean(picked), statistics.pstdev(picked), statistics.fmean(costs))
    return out


def head_to_head(space, name, root, pool, k, epochs, seeds):
    """KNAS (mgm) picks a cell; it and the standard head are trained with each seed."""
    train_split = space.load_data(name, root / name, "train")
    test_split = space.load_data(name, root / name, "test")
    cells = space.sample(pool, 0)
    scores, _ = score(space, train_split, cells, ["mgm"])
    top = list(stats.oriented(scores, "mgm").sort_values(ascending=False).index[:k])
    settings = train.settings_for(space, epochs=epochs, seed=0)
    fine = {i: train.train_and_evaluate(space, int(i), train_split, settings).val_accuracy for i in top}
    chosen = max(top, key=lambda i: (fine[i], -i))
    results = {}
    for arch, run_epochs in ((int(chosen), epochs), (REFERENCE, epochs), ("long", 10 * epochs)):
        accs, secs = [], []
        for seed in range(seeds):
            r = train.train_and_evaluate(space, REFERENCE if arch == "long" else arch, train_split,
                                         train.settings_for(space, epochs=run_epochs, seed=seed),
                                         test=test_split)
            accs.append(r.test_accuracy)
            secs.append(r.seconds)
        results[arch] = (statistics.fmean(accs), statistics.pstdev(accs), statistics.fmean(secs))
    return chosen, results, train_split.truncated, test_split.truncated


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="folder holding sst2/ trec/ mrpc/ rte/")
    parser.add_argument("--space", default="text", help="text (frozen encoder) or text-scratch")
    parser.add_argument("--truth", action="append", default=[], help="DATASET=CSV (repeatable)")
    parser.add_argument("--pools", type=int, default=100)
    parser.add_argument("--pool", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--head-datasets", default=",".join(DATASETS))
    parser.add_argument("--head-pool", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="docs/text.md")
    args = parser.parse_args()
    from pathlib import Path

    root = Path(args.root)
    space = spaces.get(args.space)
    names = [n for n in forms.applicable_methods(space) if n in proxies.CATALOG]
    lines = header(f"KNAS on text: {space.label}",
                   "Proxies against measured ground truth, the search each ranking makes on that "
                   "table, and the searched network against the encoder's standard head.",
                   "benchmarks.text_study", "no GPU")
    for spec in args.truth:
        name, _, path = spec.partition("=")
        started = time.time()
        table = benchmark.load_table(path, space)
        columns = space.truth_columns(name)
        dataset = space.load_data(name, root / name, "train")
        cells = [int(i) for i in table.index]
        scores, seconds = score(space, dataset, cells, names)
        per_cell = {n: seconds / len(cells) / len(names) for n in names}  # rough: passes are shared
        seeds = [c for c in table.columns if c.startswith(f"{columns.test}_seed")]
        noise = stats.spearman(table[seeds[0]], table[seeds[1]]) if len(seeds) > 1 else float("nan")
        lines += [f"## {name}: {len(table)} measured cells", "",
                  f"Recipe: {int(table[f'epochs_{name}'].iloc[0])} epoch(s), {len(seeds)} seed(s); "
                  f"training seconds recorded: {table[columns.cost].sum() * len(seeds):,.0f} s in all. "
                  f"Seed-to-seed Spearman ρ of test accuracy (the noise ceiling): {noise:.3f}. "
                  f"Best cell: {table[columns.test].max():.2f}, median {table[columns.test].median():.2f}.", "",
                  f"Scores of the {len(cells)} cells by {len(names)} proxies, fresh cache: "
                  f"{seconds:.0f} s (a proxy's scoring cost below: that time / cells / proxies, "
                  "rough).", ""]
        lines += correlations(table, scores, names, columns.test) + [""]
        truth = table[columns.test].reindex(scores.index).astype(float)
        best = max(names, key=lambda n: np.nan_to_num(
            stats.spearman(stats.oriented(scores, n), truth), nan=-9))
        rankings = list(dict.fromkeys(["mgm", "mgm_official", best, "params", "synflow",
                                       "naswot", "zico"]))
        found = search_on_table(table, scores, columns, rankings, args.pools, args.pool, args.k,
                                per_cell)
        budget = found["mgm"][2]
        found.update({f"{s} (KNAS's budget)": v for s, v in classic_on_table(
            space, table, columns, name, budget, args.pools).items()})
        found.update({f"{s} (3× KNAS's budget)": v for s, v in classic_on_table(
            space, table, columns, name, 3 * budget, args.pools).items()})
        lines += [f"Search on the table: {args.pools} pools of {args.pool} measured cells, top "
                  f"{args.k}, best on validation; test accuracy and cost (training seconds of the "
                  f"k candidates as recorded, plus scoring). {best} is the proxy of highest ρ on "
                  "this table (chosen on the labels it is then tested on: an upper reading). RS "
                  f"and REA ({args.pools} seeds) evaluate measured cells only (a proposal "
                  "elsewhere is drawn again), reward the validation accuracy, pay the recorded "
                  "training seconds, until the budget of KNAS (mgm) or three times it; the pick "
                  "is reported by its test accuracy. REA's mutations rarely land on a measured "
                  "cell, so on a sampled table it is close to random search.", "",
                  "| method | test accuracy | cost (s) |", "|---|---|---|"]
        lines += [f"| {m} | {mean:.2f} ± {std:.2f} | {cost:,.0f} |" for m, (mean, std, cost) in found.items()]
        lines += ["", f"(section computed in {time.time() - started:.0f} s)", ""]
    lines += [f"## The searched network against the {space.reference_label}", "",
              f"KNAS (mgm) on {args.head_pool} random cells, top {args.k} trained {args.epochs} "
              f"epoch(s), best on validation; then it and the head, {args.seeds} seeds each, "
              "tested on the test split (dev for MRPC and RTE). The last column trains the head ten "
              "times longer: a linear head may need more epochs than a cell to converge.", "",
              "| data set | KNAS cell | KNAS test acc | standard head test acc | difference | texts cut (train/test) | head, 10× epochs |",
              "|---|---|---|---|---|---|---|"]
    for name in [d for d in args.head_datasets.split(",") if d]:
        started = time.time()
        chosen, results, cut_train, cut_test = head_to_head(space, name, root, args.head_pool, args.k,
                                                             args.epochs, args.seeds)
        (a, sa, _), (b, sb, _) = results[int(chosen)], results[REFERENCE]
        c, sc, _ = results["long"]
        lines.append(f"| {name} | {chosen} | {a:.2f} ± {sa:.2f} | {b:.2f} ± {sb:.2f} | "
                     f"{a - b:+.2f} | {cut_train} / {cut_test} | {c:.2f} ± {sc:.2f} |")
        print(f"{name}: {time.time() - started:.0f} s", flush=True)
    publish(args.out, lines)


if __name__ == "__main__":
    main()
