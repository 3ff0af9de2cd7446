"""What each ``python -m knas`` command does, given its parsed arguments (``knas.__main__`` builds
the parser). Every command checks all its inputs before any work, through the same configs and
spec parsers as the dashboard and the file it will write, and raises a ``KnasError`` saying what
is wrong; imports of heavy modules (torch) come after those checks.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from knas.errors import KnasError


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


def _space(args):
    """``--space``: the space object (a file space is loaded, which runs it: the user named it)."""
    from knas import spaces

    return spaces.get(spaces.absolute(args.space))


def _arch(space, text: str):
    """``--arch``: a cell index (ASCII digits only: ``"²".isdigit()`` is true) or an arch
    string, as the cell's choices."""
    from knas import spaces

    value = text.strip()
    try:
        return space.validate(int(value) if value.isascii() and value.isdigit() else value)
    except spaces.ArchError as err:
        raise UsageError(f"--arch {text}: give a benchmark index (a cell's number in {space.name}, "
                         f"0..{space.size - 1}) or an arch string ({err})") from err


def _check_workers(workers: int, backend: str = "local") -> int:
    """The number of scoring processes to start: on this machine more than its cores only slows
    each down (and a typo like 500 would start 500 processes), so it is capped there, with a
    warning; a Ray cluster has cores of its own."""
    if workers < 0:
        raise UsageError(f"--workers {workers}: give 0 (one per CPU core) or a positive number")
    cores = os.cpu_count() or 1
    if workers > cores and backend == "local":
        print(f"warning: --workers {workers} is more than this machine's {cores} CPU cores; "
              f"using {cores}", file=sys.stderr)
        return cores
    return workers


def _warn_memory(config) -> None:
    """Say before any work when scoring will not fit in this machine's memory (it still runs:
    the user may know better, e.g. a Ray cluster's nodes)."""
    from knas.search import memory

    if (text := memory.warning(config)) is not None:
        print(f"warning: {text}", file=sys.stderr)


MAX_CLASSES = 100_000  # an exported module's head


def cmd_check(args) -> int:
    from knas.data import benchmark, check

    space = _space(args)
    # an explicit command naming the file: an official .pth is converted (unpickled) here
    table = benchmark.load_table(args.truth, space, verify_order=False, convert=True)
    report = check.check_table(table, space)
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
    from knas.search.config import ScoreConfig

    from knas import spaces
    from knas.search import form

    config = form.config_from_args(ScoreConfig, args, space=spaces.absolute(args.space)).validate()
    _check_out(args.out)
    args.workers = _check_workers(args.workers, config.backend)
    _warn_memory(config)
    import time

    import pandas as pd
    from tqdm import tqdm

    from knas.results import stats
    from knas.scoring import backends, scorer
    from knas.scoring.cache import ScoreCache
    from knas.search.specs import Pool

    space = config.search_space
    names, methods = config.names, config.methods
    pool = Pool.parse(config.pool, space.size).indices(space, config.seed)
    dataset = space.load_data(config.dataset, config.data)
    settings = scorer.ScoreSettings(n=config.n, seed=config.seed, params=config.params)
    batch = scorer.make_batch(dataset, settings.n, settings.seed, space)
    cache = ScoreCache(args.cache)
    backend = backends.open_backend(space, config.backend, config.device, args.workers,
                                    config.ray_address)
    print(f"scoring {len(pool)} cells of {space.name} with {', '.join(names)} on {backend.label} "
          f"({dataset.name}, n={settings.n}, seed={settings.seed})", file=sys.stderr)
    rows, built, start = [], 0, time.time()
    with backend, tqdm(total=len(pool), unit="arch", file=sys.stderr, dynamic_ncols=True) as bar:
        for result in backend.score(pool, names, batch, settings, cache):
            built += result.networks_built
            rows.append({"index": result.index, "arch_str": space.format(space.arch_at(result.index)),
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

    from knas.search.config import ScoreConfig

    space = _space(args)
    index = space.index_of(_arch(space, args.arch))
    ScoreConfig(dataset=args.dataset, data=args.data, space=space.spec,
                pool=f"range:{index}:{index + 1}", proxies="gram_trace", n=args.n,
                seed=args.seed).validate()
    import torch

    from knas.proxies import gram
    from knas.scoring import scorer

    batch = scorer.make_batch(space.load_data(args.dataset, args.data), args.n, args.seed, space)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    net = space.build(space.arch_at(index), batch.num_classes)
    matrix = gram.gram_matrix(net, batch.x, batch.y)
    stats = gram.statistics(matrix)
    print(json.dumps({"index": index, "n": args.n, "seed": args.seed, "labels": batch.y.tolist(),
                      "matrix": matrix.tolist(), **stats, "mgm": float(matrix.mean())}))
    return 0


def cmd_correlate(args) -> int:
    from knas.data import benchmark
    from knas.results import scorefile, stats

    try:
        text = Path(args.scores).read_bytes()
    except OSError as err:
        raise scorefile.ScoreFileError(f"{args.scores}: cannot read it ({err.strerror})") from err
    space = _space(args)
    scores = scorefile.read_scores_csv(text, space)
    table = benchmark.load_table(args.truth, space)
    held = [space.truth_columns(d).test for d in space.datasets
            if space.truth_columns(d).test in table.columns]
    column = args.column or (held[0] if held else space.truth_columns("cifar10").test)
    truth = scorefile.truth_for(scores, table, column)
    names = scorefile.proxy_columns(scores)
    result = stats.correlation_table(scores, names, truth)
    print(f"{len(scores)} cells against {column}")
    print(f"{'proxy':<36} {'spearman':>9} {'kendall':>9} {'nDCG':>7} {'top1%':>6} {'top5%':>6} "
          f"{'top10%':>7} {'regret@1':>9} {'regret@10':>10}")
    for row in result.itertuples():
        print(f"{row.proxy:<36} {row.spearman:>9.3f} {row.kendall:>9.3f} {row.ndcg:>7.3f} "
              f"{row.top1_precision:>6.2f} {row.top5_precision:>6.2f} {row.top10_overlap:>7.2f} "
              f"{row.regret_top1:>9.2f} {row.regret_top10:>10.2f}")
    print(f"nDCG@{stats.NDCG_CUTOFF} as VKDNW reports it (gain 2^accuracy - 1, log2 discount); "
          "topX%: share of the truly best X% in the proxy's top X%; regret: points below the best "
          "cell of its first pick and of the best of its top 10.")
    return 0


def cmd_truth(args) -> int:
    """Train a sample of a space's cells with a stated recipe; resumable (``knas.search.truth``)."""
    from knas.search import truth
    from knas.search.config import ScoreConfig

    space = _space(args)
    recipe = truth.Recipe(epochs=args.epochs, seeds=args.seeds,
                          train_samples=args.train_samples).check()
    if args.workers < 1:
        raise truth.TruthError(f"--workers must be a whole number >= 1, got {args.workers}")
    cells = truth.cells_to_train(space, args.cells, args.seed)
    ScoreConfig(dataset=args.dataset, data=args.data, space=space.spec,
                device=args.device).validate()  # the data set, its path and the device
    out = args.out or f"truth-{space.name}-{args.dataset}.csv"
    _check_out(out)
    from tqdm import tqdm

    from knas.scoring import scorer

    device = scorer.resolve_device(args.device)
    print(f"training {len(cells)} cells of {space.name} on {args.dataset}: "
          f"{truth.recipe_text(recipe, space)}; {device}", file=sys.stderr)
    steps = truth.build(space, args.dataset, args.data, cells, recipe, device, workers=args.workers)
    reused = 0
    with tqdm(total=len(cells), unit="cell", file=sys.stderr, dynamic_ncols=True) as bar:
        while True:
            try:
                _, _, _, was_stored = next(steps)
            except StopIteration as stop:
                table = stop.value
                break
            reused += was_stored
            bar.update()
    table.sort_values("index").to_csv(out, index=False)
    print(f"{len(table)} cells ({reused} from the store); wrote {out}", file=sys.stderr)
    return 0


def cmd_oneshot(args) -> int:
    """A one-shot search (DARTS, GDAS, TE-NAS) on a space's supernet (``knas.oneshot.run``)."""
    from knas.oneshot import run

    return run.main(args, _space(args))


def _config_from_args(args):
    from knas import spaces
    from knas.search import form
    from knas.search.config import SearchConfig

    return form.config_from_args(SearchConfig, args, space=spaces.absolute(args.space))


def cmd_search(args) -> int:
    config = _config_from_args(args).validate()
    args.workers = _check_workers(args.workers, config.backend)
    _warn_memory(config)
    from knas import jobs

    if args.background:
        print(jobs.start(config))
        return 0
    from tqdm import tqdm

    from knas.results import searchtext
    from knas.scoring.cache import ScoreCache
    from knas.search.events import Finished, MethodDone, Scored, Started, Trained
    from knas.search.pipeline import Search

    search = Search(config, ScoreCache(args.cache), workers=args.workers)
    bar = tqdm(unit="arch", file=sys.stderr, dynamic_ncols=True, disable=args.quiet)
    summary, phase = None, None
    for event in search.events():
        if isinstance(event, (Scored, Trained)):
            stage = "train" if isinstance(event, Trained) else "score"
            if phase != (event.method, event.repeat, stage):
                phase = (event.method, event.repeat, stage)
                bar.reset(total=event.total)
                bar.set_description(f"{event.method} r{event.repeat + 1} {stage}")
            bar.update(event.done - bar.n)
        elif isinstance(event, MethodDone) and not args.json:
            bar.write(searchtext.method_line(event.result))
        elif isinstance(event, Started) and event.constraints and not args.json:
            bar.write(searchtext.limits_line(event))
        elif isinstance(event, Finished):
            summary = event.summary
    bar.close()
    if args.json:
        print(searchtext.as_json(config, search.results, summary))
    else:
        print("\n".join(searchtext.summary_lines(summary)))
    return 0


def cmd_jobs(args) -> int:
    from knas import jobs

    store = jobs.JobStore(args.jobs)
    if args.cancel:
        store.state(args.cancel)  # an unknown id fails here, before anything is written
        jobs.cancel(args.cancel, store)
        print(f"cancel requested for {args.cancel}")
        return 0
    print(f"{'job':<17} {'status':<10} {'progress':<22} {'dataset':<9} {'proxy':<10} pool")
    for job_id in store.ids():
        state, config = store.fail_stale(job_id), store.config(job_id)
        p = state.progress
        progress = f"{p.get('stage', '')} {p.get('done', '')}/{p.get('total', '')}" if p else ""
        print(f"{job_id:<17} {state.status:<10} {progress:<22} {config.dataset:<9} "
              f"{config.proxy:<10} {config.pool}")
        if state.error:
            print(f"  error: {state.error}")
    return 0


def cmd_job_worker(args) -> int:
    from knas import jobs
    from knas.search.events import JobStatus

    status = jobs.run_worker(args.job_id, jobs.JobStore(args.jobs), owner=args.owner)
    if status is None:
        return 3  # fenced: another worker owns the job
    return 0 if status in (JobStatus.FINISHED, JobStatus.CANCELLED) else 1


def cmd_export(args) -> int:
    from knas import jobs
    from knas.data import benchmark
    from knas.results import report, runview, scorefile

    _check_out(args.out)
    if not 1 <= args.num_classes <= MAX_CLASSES:
        raise UsageError(f"--num-classes {args.num_classes}: give 1 to {MAX_CLASSES:,}")
    if args.arch is not None:
        space = _space(args)
        arch = _arch(space, args.arch)
        if args.format in ("scores", "report", "summary"):
            raise jobs.JobError(f"--format {args.format} exports a job: give --job ID")
        if args.format == "string":
            text, default = space.format(arch) + "\n", None
        else:
            exported = space.module_source(arch, args.num_classes)
            if exported is None:
                raise UsageError(f"the {space.name} space cannot write a stand-alone module; "
                                 "use --format string")
            text, default = exported
    elif args.job:
        if args.format in ("string", "module"):
            raise jobs.JobError(f"--format {args.format} exports a cell: give --arch")
        store = jobs.JobStore(args.jobs)
        state, config, events = store.state(args.job), store.config(args.job), store.events(args.job)
        space = config.search_space
        truth = benchmark.load_table(config.truth, space) \
            if config.truth and args.format != "scores" else None
        if args.format == "scores":
            text = scorefile.scores_csv(runview.job_scores(events, space))
            default = f"scores-{args.job}.csv"
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
