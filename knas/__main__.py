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

from . import commands
from .errors import KnasError


def _scoring_arguments(p, pool: str) -> None:
    """The arguments ``score`` and ``search`` share: data, pool, samples, weights, device."""
    p.add_argument("--data", required=True, help="dataset folder in its official layout, image folder or .npz")
    p.add_argument("--pool", default=pool, help="random:N, range:A:B or all")
    p.add_argument("--seed", type=int, default=0, help="seed for the pool, the samples and the weights")
    p.add_argument("--n", type=int, default=32, help="samples per network")
    p.add_argument("--params", default="all", help="weights MGM uses: all or first:L:m")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--workers", type=int, default=0,
                   help="scoring processes (default: one per CPU core on the CPU, 1 on a GPU)")
    p.add_argument("--cache", default=None, help="score cache folder (default <cache root>/scores)")
    p.add_argument("--backend", default="local", help="local (this machine's processes) or ray")
    p.add_argument("--ray-address", default="",
                   help="backend ray: HOST:PORT of a cluster's head or auto (default: a private "
                        "local instance started and stopped with the run)")


def build_parser() -> argparse.ArgumentParser:
    from . import datasets
    from .config import SearchConfig

    parser = argparse.ArgumentParser(prog="python -m knas", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check a ground-truth table against this space and network")
    p.add_argument("--truth", required=True,
                   help="CSV table or official NAS-Bench-201 .pth file (a .pth is converted here, "
                        "which unpickles it: name only files you trust)")
    p.add_argument("--strict", action="store_true",
                   help="also fail on the benchmark's known isomorphic-copy parameter records")
    p.add_argument("--verbose", action="store_true", help="list known-defect rows too")
    p.add_argument("--show", type=int, default=20, help="how many mismatches to list")
    p.set_defaults(func=commands.cmd_check)

    p = sub.add_parser("score", help="score candidate cells with training-free proxies")
    p.add_argument("--dataset", required=True, help="cifar10, cifar100 or imagenet16-120")
    _scoring_arguments(p, pool="random:200")
    p.add_argument("--proxies", default="mgm",
                   help="comma-separated proxy names; ensemble:a+b adds a rank ensemble")
    p.add_argument("--out", default="scores.csv", help="CSV to write")
    p.set_defaults(func=commands.cmd_score)

    p = sub.add_parser("search", help="run a KNAS search (coarse proxy stage, fine stage)")
    p.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or imagenet16-120")
    _scoring_arguments(p, pool="random:1000")
    p.add_argument("--truth", default="", help="ground-truth table to report test accuracy (CSV or .pth)")
    p.add_argument("--report", default="", help="truth column reported (default: <dataset>_test)")
    p.add_argument("--k", type=int, default=40, help="candidates kept by the coarse stage")
    p.add_argument("--fine", default=SearchConfig.fine,
                   help="lookup:COLUMN, lookup:TABLE.csv:COLUMN or train:EPOCHS")
    p.add_argument("--proxy", default="mgm", help="coarse-stage proxy (or ensemble:a+b)")
    p.add_argument("--baselines", default="",
                   help="comma-separated: random, other proxies, classic strategies rs,rea,reinforce,tpe")
    p.add_argument("--costs", default="", help="NAS-Bench-201 training-cost table (nb201_costs.csv)")
    p.add_argument("--table12", default="",
                   help="12-epoch table for the classic strategies (default: the fine stage's table)")
    p.add_argument("--budget", type=float, default=None,
                   help="simulated seconds each classic strategy may spend (default per dataset)")
    p.add_argument("--repeats", type=int, default=1, help="searches with seeds seed, seed+1, ...")
    p.add_argument("--weights-seed", type=int, default=None,
                   help="keep the networks' weights and image batch at this seed in every repeat "
                        "(pools still vary), so many repeats reuse one cached scoring")
    p.add_argument("--train-samples", type=int, default=0, help="fine-stage training images (0: all)")
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
    p.add_argument("--arch", help="benchmark index or arch string")
    p.add_argument("--job", help="job id (see `jobs`)")
    p.add_argument("--format", default=None, choices=["string", "module", "scores", "report", "summary"],
                   help="cell: string or module (default module); job: scores, report (default) or "
                        "summary (a one-page PNG for slides; PDF when --out ends in .pdf)")
    p.add_argument("--num-classes", type=int, default=10, help="head size of an exported module")
    p.add_argument("--jobs", default=None, help="job store folder (default <cache root>/jobs)")
    p.add_argument("--out", default=None, help="file to write (- for stdout)")
    p.set_defaults(func=commands.cmd_export)

    p = sub.add_parser("gram", help="one cell's Gram matrix of per-sample gradients, as JSON")
    p.add_argument("--arch", required=True, help="benchmark index or arch string")
    p.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or imagenet16-120")
    p.add_argument("--data", required=True, help="dataset folder, image folder or .npz")
    p.add_argument("--n", type=int, default=16, help="samples (the matrix is n x n)")
    p.add_argument("--seed", type=int, default=0, help="seed for the samples and the weights")
    p.set_defaults(func=commands.cmd_gram)

    p = sub.add_parser("correlate", help="rank correlation of a scores CSV with ground truth")
    p.add_argument("scores", help="CSV written by `score`")
    p.add_argument("--truth", required=True, help="ground-truth table (CSV or .pth)")
    p.add_argument("--column", default=datasets.info("cifar10").test_column,
                   help="accuracy column to compare with")
    p.set_defaults(func=commands.cmd_correlate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except KnasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (`knas jobs | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell tool killed by SIGPIPE returns
    except OSError as exc:  # the disk, not the input: say what failed, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}; check the path, its permissions and the "
              "free disk space", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
