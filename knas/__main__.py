"""Command line: ``python -m knas <command>``; the same operations as the dashboard. This module
parses the arguments and turns every error into one line; ``knas.commands`` does the work.

Every command checks all its inputs before any work (through the same configs and spec parsers
as the dashboard, and the file it will write) and reports a bad one as ``error: ...`` with exit
status 2; so do errors of the disk and the stores met later. No input gives a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys

from knas import commands, fmt
from knas.errors import KnasError

MAX_MESSAGE = 2000  # characters of an error line: a message quoting a file is cut, not megabytes


def _space_argument(p) -> None:
    from knas import spaces
    from knas.search.form import SETTINGS

    p.add_argument("--space", default=spaces.DEFAULT, help=SETTINGS["space"].help)


def _run_arguments(p) -> None:
    """What ``score`` and ``search`` take besides their configs: processes and the cache."""
    p.add_argument("--workers", type=int, default=0,
                   help="scoring processes (default: one per CPU core on the CPU, 1 on a GPU)")
    p.add_argument("--cache", default=None, help="score cache folder (default <cache root>/scores)")


def build_parser() -> argparse.ArgumentParser:
    from knas.search import form
    from knas.search.config import ScoreConfig, SearchConfig

    parser = argparse.ArgumentParser(prog="python -m knas", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check a ground-truth table against this space and network")
    _space_argument(p)
    p.add_argument("--truth", required=True,
                   help="CSV table or official NAS-Bench-201 .pth file (a .pth is converted here, "
                        "which unpickles it: name only files you trust)")
    p.add_argument("--strict", action="store_true",
                   help="also fail on the benchmark's known isomorphic-copy parameter records")
    p.add_argument("--verbose", action="store_true", help="list known-defect rows too")
    p.add_argument("--show", type=int, default=20, help="how many mismatches to list")
    p.set_defaults(func=commands.cmd_check)

    p = sub.add_parser("score", help="score candidate cells with training-free proxies")
    form.add_arguments(p, ScoreConfig)
    _run_arguments(p)
    p.add_argument("--out", default="scores.csv", help="CSV to write")
    p.set_defaults(func=commands.cmd_score)

    p = sub.add_parser("search", help="run a KNAS search (coarse proxy stage, fine stage)")
    form.add_arguments(p, SearchConfig)
    _run_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object with every result")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--background", action="store_true", help="start as a background job, print its id")
    p.set_defaults(func=commands.cmd_search)

    p = sub.add_parser("jobs", help="list background jobs and their state")
    p.add_argument("--cancel", metavar="JOB", help="ask a running job to stop")
    p.add_argument("--jobs", default=None, help="job store folder (default <cache root>/jobs)")
    p.set_defaults(func=commands.cmd_jobs)

    p = sub.add_parser("job-worker", help=argparse.SUPPRESS)
    p.add_argument("job_id")
    p.add_argument("--jobs", default=None)
    p.add_argument("--owner", default=None)
    p.set_defaults(func=commands.cmd_job_worker)

    p = sub.add_parser("export", help="export a cell (string or PyTorch module) or a job (scores, HTML report)")
    _space_argument(p)
    p.add_argument("--arch", help="cell index or arch string")
    p.add_argument("--job", help="job id (see `jobs`)")
    p.add_argument("--format", default=None, choices=["string", "module", "scores", "report", "summary"],
                   help="cell: string or module (default module); job: scores, report (default) or "
                        "summary (a one-page PNG for slides; PDF when --out ends in .pdf)")
    p.add_argument("--num-classes", type=int, default=10, help="head size of an exported module")
    p.add_argument("--jobs", default=None, help="job store folder (default <cache root>/jobs)")
    p.add_argument("--out", default=None, help="file to write (- for stdout)")
    p.set_defaults(func=commands.cmd_export)

    p = sub.add_parser("gram", help="one cell's Gram matrix of per-sample gradients, as JSON")
    _space_argument(p)
    p.add_argument("--arch", required=True, help="cell index or arch string")
    p.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or imagenet16-120")
    p.add_argument("--data", required=True, help="dataset folder, image folder or .npz")
    p.add_argument("--n", type=int, default=16, help="samples (the matrix is n x n)")
    p.add_argument("--seed", type=int, default=0, help="seed for the samples and the weights")
    p.set_defaults(func=commands.cmd_gram)

    p = sub.add_parser("truth", help="train sampled cells of a space: a ground-truth table for it")
    _space_argument(p)
    p.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or imagenet16-120")
    p.add_argument("--data", required=True, help="dataset folder in its official layout, image folder or .npz")
    p.add_argument("--cells", type=int, required=True, help="how many cells to train (sampled with --seed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the cell sample")
    p.add_argument("--epochs", type=int, default=1, help="training epochs per cell")
    p.add_argument("--seeds", type=int, default=1, help="training seeds per cell (0 .. seeds-1)")
    p.add_argument("--train-samples", type=int, default=0, help="training images per cell (0: all)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--workers", type=int, default=1,
                   help="training processes (the CPU's threads shared out among them)")
    p.add_argument("--out", default=None, help="CSV to write (default truth-<space>-<dataset>.csv)")
    p.set_defaults(func=commands.cmd_truth)

    p = sub.add_parser("oneshot", help="a one-shot search (DARTS, GDAS, TE-NAS) on the supernet")
    _space_argument(p)
    p.add_argument("--method", required=True, help="darts, gdas or tenas")
    p.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or imagenet16-120")
    p.add_argument("--data", required=True, help="dataset folder in its official layout, image folder or .npz")
    p.add_argument("--epochs", type=float, default=0,
                   help="darts/gdas: epochs over half the training split (default: NAS-Bench-201's "
                        "50 for darts, 250 for gdas)")
    p.add_argument("--steps", type=int, default=0, help="darts/gdas: training steps instead of --epochs")
    p.add_argument("--batch-size", type=int, default=0, help="darts/gdas: 64; tenas: images per NTK, 16")
    p.add_argument("--channels", type=int, default=16, help="darts/gdas: supernet channels (benchmark: 16)")
    p.add_argument("--cells", type=int, default=5, help="darts/gdas: cells per stage (benchmark: 5)")
    p.add_argument("--repeat", type=int, default=3, help="tenas: initialisations per measure")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None, help="file to checkpoint to and resume from")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--truth", default=None, help="ground-truth table to look the derived cell up in")
    p.add_argument("--column", default=None, help="its accuracy column (default: the data set's test column)")
    p.set_defaults(func=commands.cmd_oneshot)

    p = sub.add_parser("correlate", help="rank correlation of a scores CSV with ground truth")
    _space_argument(p)
    p.add_argument("scores", help="CSV written by `score`")
    p.add_argument("--truth", required=True, help="ground-truth table (CSV or .pth)")
    p.add_argument("--column", default=None,
                   help="accuracy column to compare with (default: the test column of the space's "
                        "first data set the table holds)")
    p.set_defaults(func=commands.cmd_correlate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except KnasError as exc:
        print(f"error: {fmt.clip(exc, MAX_MESSAGE)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (`knas jobs | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell tool killed by SIGPIPE returns
    except OSError as exc:  # the disk, not the input: say what failed, no traceback
        where = f"{fmt.clip(exc.filename, 200)}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}; check the path, its permissions and the "
              "free disk space", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
