"""What each ``python -m knas`` command does, given its parsed arguments (``knas.__main__`` builds
the parser). Every command checks all its inputs before any work, through the same configs and
spec parsers as the dashboard and the file it will write, and raises a ``KnasError`` saying what
is wrong; imports of heavy modules (torch) come after those checks.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .errors import KnasError


class UsageError(KnasError):
    """A command-line value that cannot work (an output path, a number of workers)."""


def _check_out(path) -> None:
    """``--out`` names a file this process can create or overwrite; checked before any work, so
    a long run never fails at its last step."""
    if path in (None, "-"):
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--out {path} is a folder; give a file name in it")
    if not target.parent.is_dir():
        raise UsageError(f"--out {path}: the folder {target.parent} does not exist; create it "
                         "first or write elsewhere")
    existed = target.exists()
    try:
        with open(target, "a"):
            pass
    except OSError as err:
        raise UsageError(f"--out {path} cannot be written ({err.strerror}); write elsewhere") from err
    if not existed:
        target.unlink(missing_ok=True)


def _arch(text: str):
    """``--arch``: a benchmark index (ASCII digits only: ``"²".isdigit()`` is true) or an arch
    string, as the cell's ops."""
    from . import space

    value = text.strip()
    try:
        return space.validate(int(value) if value.isascii() and value.isdigit() else value)
    except space.ArchError as err:
        raise UsageError(f"--arch {text}: give a benchmark index (0..{space.N_ARCHS - 1}) or an "
                         f"arch string ({err})") from err


def _check_workers(workers: int) -> None:
    if workers < 0:
        raise UsageError(f"--workers {workers}: give 0 (one per CPU core) or a positive number")


def cmd_check(args) -> int:
    from . import benchmark, check

    # an explicit command naming the file: an official .pth is converted (unpickled) here
    table = benchmark.load_table(args.truth, verify_order=False, convert=True)
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


def cmd_score(args) -> int:
    from .config import ScoreConfig

    config = ScoreConfig(dataset=args.dataset, data=args.data, pool=args.pool,
                         proxies=args.proxies, n=args.n, seed=args.seed, params=args.params,
                         device=args.device, backend=args.backend,
                         ray_address=args.ray_address).validate()
    _check_out(args.out)
    _check_workers(args.workers)
    import time

    import pandas as pd
    from tqdm import tqdm

    from . import data, scoring, space, stats
    from .cache import ScoreCache
    from .specs import Pool

    names, methods = config.names, config.methods
    pool = Pool.parse(config.pool).indices(config.seed)
    dataset = data.load_named(config.dataset, config.data)
    settings = scoring.ScoreSettings(n=config.n, seed=config.seed, params=config.params)
    batch = scoring.make_batch(dataset, settings.n, settings.seed)
    cache = ScoreCache(args.cache)
    device = config.device if config.backend == "ray" else scoring.resolve_device(config.device)
    workers = args.workers or (0 if config.backend == "ray" else scoring.default_workers(device))
    results = scoring.score_pool_auto(pool, names, batch, settings, cache, device, workers,
                                      config.backend, config.ray_address)
    where = f"Ray ({config.ray_address or 'private instance'})" if config.backend == "ray" \
        else f"{device} x {workers}"
    print(f"scoring {len(pool)} cells with {', '.join(names)} on {where} "
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
    for method in methods:
        if method.aggregation:
            frame[str(method)] = stats.aggregate(frame, method)
    frame.to_csv(args.out, index=False)
    elapsed = time.time() - start
    print(f"{len(pool)} cells, {built} networks built, {elapsed:.1f} s "
          f"({len(pool) / max(elapsed, 1e-9):.2f} archs/s); wrote {args.out}", file=sys.stderr)
    return 0


def cmd_gram(args) -> int:
    """One cell's Gram matrix of per-sample gradients and the statistics read from it, as JSON
    (the Explorer runs this in a child process: the UI never imports torch)."""
    import json

    from .config import ScoreConfig

    from . import space

    index = space.index_of(_arch(args.arch))
    ScoreConfig(dataset=args.dataset, data=args.data, pool=f"range:{index}:{index + 1}",
                proxies="gram_trace", n=args.n, seed=args.seed).validate()
    import torch

    from . import data, nets, scoring
    from .proxies import gram

    batch = scoring.make_batch(data.load_named(args.dataset, args.data), args.n, args.seed)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    net = nets.build(space.arch_at(index), batch.num_classes)
    matrix = gram.gram_matrix(net, batch.x, batch.y)
    stats = gram.statistics(matrix)
    print(json.dumps({"index": index, "n": args.n, "seed": args.seed, "labels": batch.y.tolist(),
                      "matrix": matrix.tolist(), **stats, "mgm": float(matrix.mean())}))
    return 0


def cmd_correlate(args) -> int:
    from . import benchmark, scorefile, stats

    try:
        text = Path(args.scores).read_bytes()
    except OSError as err:
        raise scorefile.ScoreFileError(f"{args.scores}: cannot read it ({err.strerror})") from err
    scores = scorefile.read_scores_csv(text)
    table = benchmark.load_table(args.truth)
    truth = scorefile.truth_for(scores, table, args.column)
    names = scorefile.proxy_columns(scores)
    result = stats.correlation_table(scores, names, truth)
    print(f"{len(scores)} cells against {args.column}")
    print(f"{'proxy':<36} {'spearman':>9} {'kendall':>9} {'top10%':>7}")
    for row in result.itertuples():
        print(f"{row.proxy:<36} {row.spearman:>9.3f} {row.kendall:>9.3f} {row.top10_overlap:>7.2f}")
    return 0


def _config_from_args(args):
    from .config import SearchConfig

    baselines = tuple(b.strip() for b in args.baselines.split(",") if b.strip())
    return SearchConfig(
        dataset=args.dataset, data=args.data, truth=args.truth or "", report=args.report or "",
        pool=args.pool, proxy=args.proxy, n=args.n, k=args.k, fine=args.fine, baselines=baselines,
        repeats=args.repeats, seed=args.seed, device=args.device, params=args.params,
        train_samples=args.train_samples, costs=args.costs or "", table12=args.table12 or "",
        budget=args.budget, backend=args.backend, ray_address=args.ray_address,
        weights_seed=args.weights_seed)


def cmd_search(args) -> int:
    config = _config_from_args(args).validate()
    _check_workers(args.workers)
    from . import jobs

    if args.background:
        print(jobs.start(config))
        return 0
    import json
    import math

    from tqdm import tqdm

    from .cache import ScoreCache
    from .events import EventKind
    from .search import Search

    search = Search(config, ScoreCache(args.cache), workers=args.workers)
    bar = tqdm(unit="arch", file=sys.stderr, dynamic_ncols=True, disable=args.quiet)
    summary, phase = None, None
    for event in search.events():
        if event["kind"] in (EventKind.SCORED, EventKind.TRAINED):
            stage = "train" if event["kind"] == EventKind.TRAINED else "score"
            if phase != (event["method"], event["repeat"], stage):
                phase = (event["method"], event["repeat"], stage)
                bar.reset(total=event["total"])
                bar.set_description(f"{event['method']} r{event['repeat']} {stage}")
            bar.update(event["done"] - bar.n)
        elif event["kind"] == EventKind.METHOD_DONE and not args.json:
            r = event["result"]
            bar.write(f"repeat {r['repeat']} {r['method']:>12}: chose {r['chosen']} "
                      f"test acc {r['test_accuracy']:.2f}  ({r['coarse_seconds']:.1f} s coarse, "
                      f"{r['fine_seconds']:.1f} s fine)")
        elif event["kind"] == EventKind.FINISHED:
            summary = event["summary"]
    bar.close()
    if args.json:
        by_method = {}
        for r in search.results:
            entry = by_method.setdefault(r.method, {
                "chosen": [], "arch_str": [], "test_accuracy": [], "search_seconds": [],
                "coarse_seconds": [], "fine_seconds": [], "networks_scored": [],
                "networks_trained": []})
            for name in entry:
                value = getattr(r, name)
                entry[name].append(None if isinstance(value, float) and math.isnan(value) else value)
        print(json.dumps({"config": config.to_dict(), "methods": by_method, "summary": summary}))
    else:
        print(f"{'method':>14} {'runs':>4} {'test acc':>16} {'search s':>9} {'coarse s':>9} "
              f"{'fine s':>8} {'scored':>7} {'trained':>7}")
        for row in summary:
            print(f"{row['method']:>14} {row['runs']:>4} {row['test_accuracy_mean']:>8.2f} ± "
                  f"{row['test_accuracy_std']:<5.2f} {row['search_seconds_mean']:>9.0f} "
                  f"{row['coarse_seconds_mean']:>9.1f} {row['fine_seconds_mean']:>8.1f} "
                  f"{row['networks_scored_mean']:>7.0f} {row['networks_trained_mean']:>7.0f}")
        print("search s: coarse stage as measured + recorded training time of the fine stage's "
              "candidates (lookups) or measured training; classic strategies: simulated clock.")
    return 0


def cmd_jobs(args) -> int:
    from . import jobs

    store = jobs.JobStore(args.jobs)
    if args.cancel:
        store.state(args.cancel)  # an unknown id fails here, before anything is written
        jobs.cancel(args.cancel, store)
        print(f"cancel requested for {args.cancel}")
        return 0
    print(f"{'job':<17} {'status':<10} {'progress':<22} {'dataset':<9} {'proxy':<10} pool")
    for job_id in store.ids():
        state, config = store.state(job_id), store.config(job_id)
        p = state.get("progress") or {}
        progress = f"{p.get('stage', '')} {p.get('done', '')}/{p.get('total', '')}" if p else ""
        print(f"{job_id:<17} {state['status']:<10} {progress:<22} {config.dataset:<9} "
              f"{config.proxy:<10} {config.pool}")
        if state.get("error"):
            print(f"  error: {state['error']}")
    return 0


def cmd_job_worker(args) -> int:
    from . import jobs
    from .events import JobStatus

    status = jobs.run_worker(args.job_id, jobs.JobStore(args.jobs), owner=args.owner)
    if status is None:
        return 3  # fenced: another worker owns the job
    return 0 if status in (JobStatus.FINISHED, JobStatus.CANCELLED) else 1


def cmd_export(args) -> int:
    from . import benchmark, jobs, module_source, report, runview, scorefile, space

    _check_out(args.out)
    if args.arch is not None:
        arch = _arch(args.arch)
        if args.format in ("scores", "report", "summary"):
            raise jobs.JobError(f"--format {args.format} exports a job: give --job ID")
        if args.format == "string":
            text, default = space.to_str(arch) + "\n", None
        else:
            text = module_source.arch_module_source(arch, args.num_classes)
            default = module_source.module_file_name(arch)
    elif args.job:
        if args.format in ("string", "module"):
            raise jobs.JobError(f"--format {args.format} exports a cell: give --arch")
        store = jobs.JobStore(args.jobs)
        state, config, events = store.state(args.job), store.config(args.job), store.events(args.job)
        truth = benchmark.load_table(config.truth) if config.truth and args.format != "scores" \
            else None
        if args.format == "scores":
            text, default = scorefile.scores_csv(runview.job_scores(events)), f"scores-{args.job}.csv"
        elif args.format == "summary":  # PNG, or PDF when --out ends in .pdf
            kind = "pdf" if (args.out or "").lower().endswith(".pdf") else "png"
            text = report.summary_image(config.to_dict(), state, events, truth, kind)
            default = report.summary_file_name(args.job, kind)
        else:
            text = report.html_report(config.to_dict(), state, events, truth)
            default = report.report_file_name(args.job)
    else:
        raise jobs.JobError("give --arch (an index or arch string) or --job ID")
    out = args.out or default
    if out != args.out:
        _check_out(out)
    data = text if isinstance(text, bytes) else text.encode()
    if out in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    else:
        Path(out).write_bytes(data)
        print(f"wrote {out}", file=sys.stderr)
    return 0
