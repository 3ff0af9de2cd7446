"""Two versions of the code timed on the same work in one run: the only speed claim worth making.

A machine's speed drifts by tens of percent over a day (other load, thermal state, the page
cache), so a figure measured today against one from last week says little. This times a ``knas``
command in a git worktree of ``--base`` and in the working tree, alternating which goes first,
each run in a fresh cache folder (nothing reused), and prints every time, the ratio base/work of
each round, their median and spread, and whether both wrote the same output file.

    python -m benchmarks.side_by_side --base ced013b --rounds 3 -- \\
        score --dataset cifar10 --data ../shared/data/cifar10/cifar10_small.npz \\
        --pool random:100 --n 32 --proxies mgm --out {out}

``{out}`` in the command is replaced by a file per tree and round; the outputs of the two trees
are compared byte for byte (scores bitwise identical, or the ratio compares different work).
Give absolute paths: each tree runs in its own folder.
"""
import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def worktree(commit: str, into: Path) -> Path:
    """A detached worktree of ``commit`` (the base code, run with this venv's interpreter)."""
    target = into / f"base-{commit[:12]}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--force", str(target),
                    commit], check=True, capture_output=True)
    return target


def timed(tree: Path, argv: list[str], out: Path) -> float:
    """Wall seconds of ``python -m knas ARGV`` in ``tree``, with a cache folder of its own."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "KNAS_CACHE_DIR": cache}
        command = [sys.executable, "-m", "knas", *[a.replace("{out}", str(out)) for a in argv]]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"error: in {tree}: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (sha or ref)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the knas command")
    args = parser.parse_args()
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not argv or args.rounds < 1:
        parser.error("give --rounds >= 1 and a knas command after --")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        base = worktree(args.base, scratch)
        try:
            ratios, same = [], True
            for r in range(args.rounds):
                order = [("base", base), ("work", REPO)]
                if r % 2:
                    order.reverse()  # neither tree always runs on the warmer machine
                seconds, outs = {}, {}
                for name, tree in order:
                    outs[name] = scratch / f"{name}-{r}.out"
                    seconds[name] = timed(tree, argv, outs[name])
                if all(p.exists() for p in outs.values()):
                    same &= filecmp.cmp(outs["base"], outs["work"], shallow=False)
                ratios.append(seconds["base"] / seconds["work"])
                print(f"round {r + 1}: base {seconds['base']:.2f} s, work {seconds['work']:.2f} s, "
                      f"ratio {ratios[-1]:.3f}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)],
                           capture_output=True)
    print(f"base/work ratio: median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}, {args.rounds} rounds); outputs "
          + ("identical" if same else "DIFFER"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
