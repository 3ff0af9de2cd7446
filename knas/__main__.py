"""Command line: ``python -m knas <command>``; the same operations as the dashboard."""
from __future__ import annotations

import argparse
import sys


def _cmd_check(args) -> int:
    from . import benchmark, check

    table = benchmark.load_table(args.truth, verify_order=False)
    report = check.check_table(table)
    for line in report.lines():
        print(line)
    shown = report.order_mismatches + report.params_mismatches
    if args.verbose:
        shown += report.params_known_defect
    for m in shown[: args.show]:
        print(f"  index {m.index} {m.what}: table {m.table}, ours {m.ours}", file=sys.stderr)
    failed = not report.ok or (args.strict and report.params_known_defect)
    return 1 if failed else 0


def _cmd_score(args) -> int:
    import os
    import time

    import pandas as pd
    from tqdm import tqdm

    from . import data, scoring, space, stats
    from .cache import ScoreCache

    names, ensembles = _parse_proxies(args.proxies)
    pool = space.parse_pool(args.pool, args.seed)
    dataset = data.load_named(args.dataset, args.data)
    settings = scoring.ScoreSettings(n=args.n, seed=args.seed, params=args.params)
    batch = scoring.make_batch(dataset, settings.n, settings.seed)
    cache = ScoreCache(args.cache)
    scorer = scoring.Scorer(batch, settings, cache, args.device)
    workers = args.workers or ((os.cpu_count() or 1) if scorer.device == "cpu" else 1)
    if workers > 1:
        results = scoring.score_pool_parallel(pool, names, batch, settings, cache.directory,
                                              workers, scorer.device)
    else:
        results = scorer.score_pool(pool, names)
    print(f"scoring {len(pool)} cells with {', '.join(names)} on {scorer.device} x {workers} "
          f"({dataset.name}, n={settings.n}, seed={settings.seed})", file=sys.stderr)
    rows, built, start = [], 0, time.time()
    with tqdm(total=len(pool), unit="arch", file=sys.stderr, dynamic_ncols=True) as bar:
        for result in results:
            built += result.networks_built
            rows.append({"index": result.index, "arch_str": space.to_str(space.arch_at(result.index)),
                         **result.values})
            bar.set_postfix(networks=built, refresh=False)
            bar.update()
    order = {index: i for i, index in enumerate(pool)}
    rows.sort(key=lambda row: order[row["index"]])
    frame = pd.DataFrame(rows, columns=["index", "arch_str", *names])
    for label, members in ensembles.items():
        frame[label] = stats.rank_ensemble(frame, members)
    frame.to_csv(args.out, index=False)
    elapsed = time.time() - start
    print(f"{len(pool)} cells, {built} networks built, {elapsed:.1f} s "
          f"({len(pool) / max(elapsed, 1e-9):.2f} archs/s); wrote {args.out}", file=sys.stderr)
    return 0


def _parse_proxies(text: str):
    """``mgm,synflow,ensemble:synflow+naswot`` -> proxies to score, ensembles to add."""
    from . import proxies

    names, ensembles = [], {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        members = item.split(":", 1)[1].split("+") if item.startswith("ensemble:") else [item]
        for name in members:
            proxies.info(name)  # unknown names fail here, before any work
            if name not in names:
                names.append(name)
        if item.startswith("ensemble:"):
            ensembles[item] = members
    if not names:
        raise proxies.UnknownProxyError("no proxies given")
    return names, ensembles


def _cmd_correlate(args) -> int:
    import pandas as pd

    from . import benchmark, stats
    from .errors import KnasError

    try:
        scores = pd.read_csv(args.scores).set_index("index")
    except (OSError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise KnasError(f"{args.scores}: not a scores CSV with an index column ({err})") from err
    table = benchmark.load_table(args.truth)
    truth = benchmark.column(table, args.column).reindex(scores.index)
    proxy_columns = [c for c in scores.columns if c != "arch_str"]
    result = stats.correlation_table(scores, proxy_columns, truth)
    print(f"{len(scores)} cells against {args.column}")
    print(f"{'proxy':<36} {'spearman':>9} {'kendall':>9} {'top10%':>7}")
    for row in result.itertuples():
        print(f"{row.proxy:<36} {row.spearman:>9.3f} {row.kendall:>9.3f} {row.top10_overlap:>7.2f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knas", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check a ground-truth table against this space and network")
    p.add_argument("--truth", required=True, help="CSV table or official NAS-Bench-201 .pth file")
    p.add_argument("--strict", action="store_true",
                   help="also fail on the benchmark's known isomorphic-copy parameter records")
    p.add_argument("--verbose", action="store_true", help="list known-defect rows too")
    p.add_argument("--show", type=int, default=20, help="how many mismatches to list")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("score", help="score candidate cells with training-free proxies")
    p.add_argument("--dataset", required=True, help="cifar10, cifar100 or imagenet16-120")
    p.add_argument("--data", required=True, help="dataset folder in its official layout, image folder or .npz")
    p.add_argument("--pool", default="random:200", help="random:N, range:A:B or all")
    p.add_argument("--seed", type=int, default=0, help="seed for the pool, the samples and the weights")
    p.add_argument("--proxies", default="mgm",
                   help="comma-separated proxy names; ensemble:a+b adds a rank ensemble")
    p.add_argument("--n", type=int, default=32, help="samples per network")
    p.add_argument("--params", default="all", help="weights MGM uses: all or first:L:m")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--workers", type=int, default=0,
                   help="scoring processes (default: one per CPU core on the CPU, 1 on a GPU)")
    p.add_argument("--cache", default=None, help="score cache folder (default cache/scores or $KNAS_CACHE_DIR)")
    p.add_argument("--out", default="scores.csv", help="CSV to write")
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("correlate", help="rank correlation of a scores CSV with ground truth")
    p.add_argument("scores", help="CSV written by `score`")
    p.add_argument("--truth", required=True, help="ground-truth table (CSV or .pth)")
    p.add_argument("--column", default="cifar10_test", help="accuracy column to compare with")
    p.set_defaults(func=_cmd_correlate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import KnasError

    try:
        return args.func(args)
    except KnasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
