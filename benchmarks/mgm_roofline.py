"""How close MGM on a CPU runs to the machine's limit: achieved against peak FLOP/s.

MGM of one network is one forward and one backward pass of the batch; their multiply-accumulates
are about three times the forward pass's (the backward computes the gradients of the inputs and
of the weights, each as large as the forward), which NAS-Bench-201's closed form counts
(``count_flops``, MACs). This times MGM on a sample of cells (network built beforehand, one
thread, the scorer's settings) and divides 2 × 3 × MACs × n by the seconds. Ceilings beside it,
on the same thread: a large float32 matrix product (what the core can do at best), the
convolutions NAS-Bench-201 runs (3×3 and 1×1, 16/32/64 channels at 32/16/8 pixels, batch n),
forward and both backward products, alone; and per network the sum of its own convolutions
each timed alone at its shape: MGM's time if everything but convolution cost nothing.

    python -m benchmarks.mgm_roofline [--cells 40] [--n 32]
"""
import argparse
import time

import torch

from knas import spaces
from knas.proxies import mgm

SHAPES = ((16, 32), (32, 16), (64, 8))  # (channels, side) of the three stages


def best_of(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(size: int = 2048) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size ** 3 / best_of(lambda: a @ b) / 1e9


def conv_gflops(n: int) -> dict:
    out = {}
    for kernel in (3, 1):
        for channels, side in SHAPES:
            conv = torch.nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False)
            x = torch.randn(n, channels, side, side, requires_grad=True)

            def step():
                conv.zero_grad(set_to_none=True)
                x.grad = None
                conv(x).sum().backward()
            macs = n * channels * channels * kernel * kernel * side * side
            out[f"{kernel}x{kernel}, {channels} ch, {side}²"] = 2 * 3 * macs / best_of(step) / 1e9
    return out


def conv_seconds(net, x, cache: dict) -> float:
    """What the network's convolutions alone take, forward and both backward products, each
    timed on its own shape (cached): the time MGM would take if nothing else cost anything."""
    shapes = []

    def record(module, inputs, output):
        shapes.append((tuple(inputs[0].shape), tuple(module.weight.shape), module.stride,
                       module.padding))
    handles = [m.register_forward_hook(record) for m in net.modules()
               if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    total = 0.0
    for shape in shapes:
        if shape not in cache:
            (n, c, h, w), weight, stride, padding = shape
            conv = torch.nn.Conv2d(weight[1], weight[0], weight[2:], stride, padding, bias=False)
            inp = torch.randn(n, c, h, w, requires_grad=True)

            def step():
                conv.zero_grad(set_to_none=True)
                inp.grad = None
                conv(inp).sum().backward()
            cache[shape] = best_of(step, repeats=3)
        total += cache[shape]
    return total


def mgm_gflops(cells: int, n: int) -> tuple[float, float, float]:
    """(GFLOP/s counted, seconds a network, seconds its convolutions alone would take)."""
    space = spaces.get("nb201")
    x, y = torch.randn(n, 3, 32, 32), torch.arange(n) % 10
    macs, seconds, bound, cache = 0, 0.0, 0.0, {}
    for index in space.sample(cells, 0):
        torch.manual_seed(0)
        net = space.build(space.arch_at(index), 10, prune=True)
        seconds += best_of(lambda: mgm.mgm(net, x, y), repeats=2)
        bound += conv_seconds(net, x, cache)
        macs += space.count_flops(space.arch_at(index), 10, 32) * n
    return 2 * 3 * macs / seconds / 1e9, seconds / cells, bound / cells


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--n", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    peak = matmul_gflops()
    print(f"float32 matrix product 2048²: {peak:.1f} GFLOP/s (one thread)")
    convs = conv_gflops(args.n)
    for shape, value in convs.items():
        print(f"conv {shape}, batch {args.n}, forward + backward: {value:.1f} GFLOP/s "
              f"({value / peak:.0%} of the matrix product)")
    achieved, per_cell, bound = mgm_gflops(args.cells, args.n)
    print(f"MGM on {args.cells} cells, n = {args.n}: {per_cell:.3f} s a network, {achieved:.1f} "
          f"GFLOP/s counted ({achieved / peak:.0%} of the matrix product, "
          f"{achieved / max(convs.values()):.0%} of the fastest convolution)")
    print(f"its convolutions alone, each at its own measured speed: {bound:.3f} s a network, "
          f"{bound / per_cell:.0%} of MGM's time: nothing but convolution would be "
          f"{per_cell / bound:.2f}x faster")


if __name__ == "__main__":
    main()
