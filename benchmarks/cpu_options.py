"""CPU execution options for MGM: which are faster, and do they leave every score bitwise the same?

    python -m benchmarks.cpu_options --data ../shared/data/cifar10/cifar10_small.npz --archs 12 --n 32

Each option runs in a fresh process (thread counts, denormal flushing and malloc settings are
process-wide) on the same seeded networks and the same batch. Every cell is timed ``--repeats``
times (build + MGM) and its minimum kept, because other work may share the CPU; the total is the
sum of those minima (for two processes, the slower one's); CPU seconds (``process_time``, all
processes) are less sensitive to sharing for the one-thread options. Values are compared to the
default (one process, one thread) bit for bit.
"""
import argparse
import ctypes
import json
import subprocess
import sys
import time

import torch

from knas.data import readers
from knas.spaces.nb201 import nets, cells as space
from knas.scoring import scorer
from knas.proxies import mgm
from knas import spaces

NB201 = spaces.get("nb201")

OPTIONS = ("default", "threads2", "processes2", "channels_last", "mkldnn_off", "flush_denormal",
           "malloc_no_mmap", "jit_trace", "compile")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def _network(index, batch, seed, memory_format=torch.contiguous_format):
    torch.manual_seed(seed)
    return nets.build(space.arch_at(index), batch.num_classes).to(memory_format=memory_format)


def _mgm_traced(net, x, y):
    """MGM of a network traced with torch.jit (per-sample BatchNorm recorded in the trace)."""
    with torch.no_grad(), mgm.per_sample_batchnorm(net):
        traced = torch.jit.trace(net, x, check_trace=False)
    return mgm.mgm(_Wrapped(traced, net), x, y)


def _mgm_compiled(net, x, y):
    """MGM through torch.compile (compiled on the first call, inside mgm's per-sample BN)."""
    return mgm.mgm(_Wrapped(torch.compile(net, dynamic=False), net), x, y)


class _Wrapped(torch.nn.Module):
    """A traced/compiled forward that mgm() can drive: parameters are the original network's."""

    def __init__(self, forward, net):
        super().__init__()
        self.inner, self.net = [forward], net

    def forward(self, x):
        return self.inner[0](x)


def _score(option, indices, batch, seed, repeats):
    x, y, memory_format, fn = batch.x, batch.y, torch.contiguous_format, mgm.mgm
    if option == "channels_last":
        memory_format = torch.channels_last
        x = x.contiguous(memory_format=memory_format)
    if option == "jit_trace":
        fn = _mgm_traced
    if option == "compile":
        fn = _mgm_compiled
    values, seconds, cpu_seconds = [], [], []
    for index in indices:
        best = best_cpu = float("inf")
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            value = fn(_network(index, batch, seed, memory_format), x, y)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        values.append(value)
        seconds.append(best)
        cpu_seconds.append(best_cpu)
    return values, seconds, cpu_seconds


def _set_up(option, threads):
    torch.set_num_threads(threads)
    if option == "mkldnn_off":
        torch.backends.mkldnn.enabled = False
    if option == "flush_denormal":
        assert torch.set_flush_denormal(True), "this CPU cannot flush denormals"
    if option == "malloc_no_mmap":  # keep freed activations in the heap instead of unmapping them
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)


def worker(args):
    _set_up(args.option, args.threads)
    batch = scorer.make_batch(readers.load_named("cifar10", args.data), args.n, args.seed, NB201)
    indices = [int(i) for i in args.indices.split(",")]
    _score("default" if args.option in ("jit_trace", "compile") else args.option,
           indices[:1], batch, args.seed, 1)  # warm-up: allocator, kernels, primitive cache
    print("ready", flush=True)
    sys.stdin.readline()  # start together with the other worker, if any
    values, seconds, cpu_seconds = _score(args.option, indices, batch, args.seed, args.repeats)
    print(json.dumps({"values": values, "seconds": seconds, "cpu": cpu_seconds}), flush=True)


def _run(option, indices, args, threads=1, processes=1, repeats=None):
    """Seconds (sum of per-cell minima; the slowest process's), CPU seconds (all processes and
    threads), values and seconds per cell."""
    parts = [indices[k::processes] for k in range(processes)]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "benchmarks.cpu_options", "--worker", "--option", option,
         "--data", args.data, "--n", str(args.n), "--seed", str(args.seed),
         "--repeats", str(repeats or args.repeats), "--threads", str(threads),
         "--indices", ",".join(map(str, part))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for part in parts]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [json.loads(proc.stdout.readline()) for proc in procs]
    for proc in procs:
        proc.wait()
    values, seconds = {}, {}
    for part, result in zip(parts, results):
        values.update(zip(part, result["values"]))
        seconds.update(zip(part, result["seconds"]))
    return (max(sum(r["seconds"]) for r in results), sum(sum(r["cpu"]) for r in results),
            [values[i] for i in indices], [seconds[i] for i in indices])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--options", default=",".join(OPTIONS))
    parser.add_argument("--compile-archs", type=int, default=2, help="cells for jit_trace/compile")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--option", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--indices", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    indices = space.sample(args.archs, args.seed)
    print(f"{args.archs} cells (space.sample({args.archs}, {args.seed})), n={args.n}, "
          f"min of {args.repeats} per cell, build + MGM; torch {torch.__version__}")
    base_seconds, base_cpu, base_values, base_per_cell = _run("default", indices, args)
    print(f"{'default (1 process x 1 thread)':34s} {base_seconds:7.2f} s  "
          f"{args.archs / base_seconds:6.3f} archs/s  CPU {base_cpu:6.2f} s")
    for option in args.options.split(","):
        if option == "default":
            continue
        # A compiled network is scored once in a real run: time its first call, no repeats.
        once = option in ("jit_trace", "compile")
        cells = indices[:args.compile_archs] if once else indices
        threads, processes = (2, 1) if option == "threads2" else (1, 2 if option == "processes2" else 1)
        seconds, cpu, values, _ = _run(option, cells, args, threads, processes, 1 if once else None)
        reference = base_values[:len(cells)]
        worst = max(abs(a - b) / abs(b) for a, b in zip(values, reference))
        same = "bitwise same" if values == reference else f"differs, max rel {worst:.1e}"
        speed = sum(base_per_cell[:len(cells)]) / seconds
        print(f"{option:34s} {seconds:7.2f} s  {len(cells) / seconds:6.3f} archs/s  CPU {cpu:6.2f} s  "
              f"{speed:5.2f}x default  {same}")


if __name__ == "__main__":
    main()
