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
