"""MGM throughput: the batched fast path against the literal n-pass definition, and a roofline.

    python -m benchmarks.mgm_throughput --data ../shared/data/cifar10/cifar10_small.npz --archs 20 --n 32

Same cells, same n, same weights, same machine, in one run; prints archs/s of both and the ratio.
Roofline: the machine's measured peak (a 2048² fp32 matmul and a large 3x3 convolution, with the
torch threads in use) and the share of it the fast path reaches, counting FLOPs as forward MACs of
the FULL cell (``costs.count_flops``, pruned edges included) x n x 2 (FLOPs per MAC) x 3 (forward
+ backward); BN, pooling and element-wise work are not counted.
"""
import argparse
import platform
import time

import torch
import torch.nn.functional as F

from knas.spaces.nb201 import costs, nets, cells as space
from knas.data import readers
from knas.scoring import scorer
from knas.proxies import mgm
from knas import spaces

NB201 = spaces.get("nb201")


def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _rate(fn, archs, batch, device, seed, prune):
    """archs/s (build + score), the values, and the seconds spent building networks."""
    values, building, start = [], 0.0, time.perf_counter()
    for index in archs:
        built = time.perf_counter()
        torch.manual_seed(seed)
        net = nets.build(space.arch_at(index), batch.num_classes, prune=prune).to(device)
        building += time.perf_counter() - built
        values.append(fn(net, batch.x.to(device), batch.y.to(device)))
    _sync(device)
    return len(archs) / (time.perf_counter() - start), values, building


def _gflops(fn, flops, device, repeats=5):
    """Best GFLOP/s of ``fn`` over ``repeats`` timed calls after one warm-up."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def peak_gflops(device):
    """(matmul, conv) GFLOP/s: a 2048² fp32 matmul; a 3x3 conv, 32 x 64 -> 64 channels at 32²."""
    a, b = torch.randn(2048, 2048, device=device), torch.randn(2048, 2048, device=device)
    x, w = torch.randn(32, 64, 32, 32, device=device), torch.randn(64, 64, 3, 3, device=device)
    matmul = _gflops(lambda: a @ b, 2 * 2048**3, device)
    conv = _gflops(lambda: F.conv2d(x, w, padding=1), 2 * 32 * 64 * 64 * 9 * 32 * 32, device)
    return matmul, conv


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--no-prune", action="store_true",
                        help="compute dead edges too (pruning leaves MGM unchanged; knas.spaces.nb201.pruning)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = scorer.resolve_device(args.device)
    prune = not args.no_prune
    batch = scorer.make_batch(readers.load_named(args.dataset, args.data), args.n, args.seed, NB201)
    archs = space.sample(args.archs, args.seed)
    _rate(mgm.mgm, archs[:1], batch, device, args.seed, prune)  # warm-up (allocator, kernels)
    fast, fast_values, building = _rate(mgm.mgm, archs, batch, device, args.seed, prune)
    literal, literal_values, _ = _rate(mgm.mgm_literal, archs, batch, device, args.seed, prune)
    worst = max(abs(a - b) / abs(b) for a, b in zip(fast_values, literal_values))
    name = torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor() or "cpu"
    print(f"device: {device} ({name}), torch threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"{len(archs)} cells, n={args.n}, dead edges {'skipped' if prune else 'computed'}")
    print(f"fast path (one batched pass):  {fast:.3f} archs/s")
    print(f"literal (n single passes):     {literal:.3f} archs/s")
    print(f"speed-up: {fast / literal:.1f}x; largest relative difference of the values: {worst:.2e}")

    matmul, conv = peak_gflops(device)
    flops = sum(costs.count_flops(space.arch_at(i), batch.num_classes) for i in archs) * args.n * 2 * 3
    total = len(archs) / fast
    achieved, compute_only = flops / total / 1e9, flops / (total - building) / 1e9
    print(f"peak: matmul 2048^2 fp32 {matmul:.1f} GFLOP/s, conv 3x3 (32x64->64, 32^2) {conv:.1f} GFLOP/s")
    print(f"fast path: {flops / 1e9:.1f} GFLOP (full-cell forward MACs x n x 2 x 3) in {total:.2f} s "
          f"= {achieved:.1f} GFLOP/s ({100 * achieved / matmul:.0f}% of matmul, "
          f"{100 * achieved / conv:.0f}% of conv peak); without the {building:.2f} s of building "
          f"networks {compute_only:.1f} GFLOP/s ({100 * compute_only / conv:.0f}% of conv peak)")


if __name__ == "__main__":
    main()
