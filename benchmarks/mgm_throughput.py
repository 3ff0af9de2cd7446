"""MGM throughput: the batched fast path against the literal n-pass definition.

    python -m benchmarks.mgm_throughput --data ../shared/data/cifar10/cifar10_small.npz --archs 20 --n 32

Same cells, same n, same weights, same machine, in one run; prints archs/s of both and the ratio.
"""
import argparse
import platform
import time

import torch

from knas import data, nets, scoring, space
from knas.proxies import mgm


def _rate(fn, archs, batch, device, seed):
    values, start = [], time.perf_counter()
    for index in archs:
        torch.manual_seed(seed)
        net = nets.build(space.arch_at(index), batch.num_classes).to(device)
        values.append(fn(net, batch.x.to(device), batch.y.to(device)))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return len(archs) / (time.perf_counter() - start), values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = scoring.resolve_device(args.device)
    batch = scoring.make_batch(data.load_named(args.dataset, args.data), args.n, args.seed)
    archs = space.sample(args.archs, args.seed)
    _rate(mgm.mgm, archs[:1], batch, device, args.seed)  # warm-up (allocator, kernels)
    fast, fast_values = _rate(mgm.mgm, archs, batch, device, args.seed)
    literal, literal_values = _rate(mgm.mgm_literal, archs, batch, device, args.seed)
    worst = max(abs(a - b) / abs(b) for a, b in zip(fast_values, literal_values))
    name = torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor() or "cpu"
    print(f"device: {device} ({name}), torch threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"{len(archs)} cells, n={args.n}")
    print(f"fast path (one batched pass):  {fast:.3f} archs/s")
    print(f"literal (n single passes):     {literal:.3f} archs/s")
    print(f"speed-up: {fast / literal:.1f}x; largest relative difference of the values: {worst:.2e}")


if __name__ == "__main__":
    main()
