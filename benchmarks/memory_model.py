"""Peak memory of scoring one network, measured, as the model the estimate warns with.

Scoring holds a network's activations (and for some proxies their gradients, Jacobians or
kernels) for the whole batch, so the peak grows with samples × pixels. For each proxy this scores
NAS-Bench-201's busiest cell (every edge a 3×3 convolution) on random images at two batch shapes,
each in a fresh process, and reads the process's peak resident memory above what it held before
scoring (Linux: /proc/self/clear_refs resets the peak, VmHWM reads it). The line through the two
readings is the proxy's model, ``base + bytes per sample-pixel × samples × side²`` (SynFlow, on
one all-ones input, barely grows; MGM grows with every sample). ``--write`` stores both figures in
``knas/proxies/memory.json``, where the estimate reads them.

    python -m benchmarks.memory_model [--proxies mgm,meco] [--write]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

SHAPES = ((8, 64), (16, 96))  # (samples, image side)
BUSY = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MEMORY = Path(__file__).resolve().parents[1] / "knas" / "proxies" / "memory.json"

CHILD = r"""
import sys, tempfile, torch
from knas import spaces
from knas.scoring import scorer
from knas.scoring.cache import ScoreCache

def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

name, n, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
space = spaces.get("nb201")
g = torch.Generator().manual_seed(0)
batch = scorer.Batch(torch.randn(n, 3, side, side, generator=g), torch.arange(n) % 10, 10, "random")
with tempfile.TemporaryDirectory() as cache:
    s = scorer.Scorer(space, batch, scorer.ScoreSettings(n=n), ScoreCache(cache), "cpu")
    s._build(0)  # imports and first allocations happen before the peak is reset
    before = kib("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")
    s.score(space.index_of(space.parse(sys.argv[4])), [name])
    print(before * 1024, (kib("VmHWM") - before) * 1024)
"""


def peak(name: str, n: int, side: int) -> tuple[int, int]:
    """(the process's resident bytes before scoring, the peak above them while scoring)."""
    out = subprocess.run([sys.executable, "-c", CHILD, name, str(n), str(side), BUSY],
                         capture_output=True, text=True, check=True)
    before, above = out.stdout.split()[-2:]
    return int(before), int(above)


def main():
    from knas import proxies, spaces
    from knas.ui import forms

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxies", default="", help="comma-separated (default: every proxy "
                                                      "that applies to NAS-Bench-201)")
    parser.add_argument("--write", action="store_true", help="store the figures in measured.json")
    args = parser.parse_args()
    names = [n for n in args.proxies.split(",") if n] or [
        n for n in forms.applicable_methods(spaces.get("nb201")) if n in proxies.CATALOG]
    print(f"{'proxy':<22}" + "".join(f"{f'{n}×{s}²':>12}" for n, s in SHAPES)
          + f"{'base':>10}{'B/sample-px':>13}")
    figures, process = {}, 0
    (n0, s0), (n1, s1) = SHAPES
    for name in names:
        (_, low), (process, high) = (peak(name, n, s) for n, s in SHAPES)
        slope = max(0.0, (high - low) / (n1 * s1 * s1 - n0 * s0 * s0))
        base = max(0.0, high - slope * n1 * s1 * s1)
        figures[name] = {"base_bytes": round(base), "bytes_per_sample_pixel": round(slope, 1)}
        print(f"{name:<22}{low / 2**20:>10.0f}MB{high / 2**20:>10.0f}MB{base / 2**20:>8.0f}MB"
              f"{slope:>13.1f}", flush=True)
    if args.write:
        MEMORY.write_text(json.dumps({
            "space": "nb201",
            "note": ("peak resident memory of scoring NAS-Bench-201's busiest cell above the "
                     "scoring process's own (process_bytes): base_bytes + bytes_per_sample_pixel "
                     f"x samples x side^2, the line through {n0} samples of {s0}x{s0} and {n1} of "
                     f"{s1}x{s1} (benchmarks/memory_model.py)"),
            "process_bytes": process, "proxies": figures}, indent=1) + "\n")

if __name__ == "__main__":
    main()
