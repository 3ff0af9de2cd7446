"""MGM with several networks in flight on one device, and the whole-space time it projects.

    python -m benchmarks.gpu_throughput --data ../shared/data/cifar10/cifar10_small.npz --archs 64 --n 32

Cells: a seeded sample of the 5,273 networks a whole-space run builds (lowest index of each
``space.canonical`` group). For each number of networks in flight (``knas.scoring.multinet``), and each
number of scoring processes sharing the device, prints archs/s, the largest relative difference
from the one-at-a-time values, and 5,273 / rate as the projected whole-space time. Runs on a CPU
too (``--device cpu``; there the streams are no-ops).
"""
import argparse
import multiprocessing
import random
import time

import torch

from knas.data import readers
from knas.scoring import multinet, scorer
from knas.spaces.nb201 import cells as space
from knas import spaces

NB201 = spaces.get("nb201")


def _representatives():
    return [group[0] for group in space.canonical_groups().values()]


_worker = {}


def _init(path, n, seed, device, threads):
    torch.set_num_threads(threads)
    batch = scorer.make_batch(readers.load_named("cifar10", path), n, seed, NB201)
    _worker.update(batch=batch, seed=seed, device=device)
    multinet.mgm_in_flight(NB201, _representatives()[:2], batch.x, batch.y, batch.num_classes, seed,
                           device, in_flight=2)  # warm-up: context, kernels, allocator


def _score(task):
    cells, in_flight = task
    batch = _worker["batch"]
    return multinet.mgm_in_flight(NB201, cells, batch.x, batch.y, batch.num_classes, _worker["seed"],
                                  _worker["device"], in_flight=in_flight)


def _rate(pool, cells, in_flight, processes):
    shares = [cells[k::processes] for k in range(processes)]
    start = time.perf_counter()
    results = pool.map(_score, [(share, in_flight) for share in shares])
    seconds = time.perf_counter() - start
    values = {}
    for share, result in zip(shares, results):
        values.update(zip(share, result))
    return len(cells) / seconds, [values[c] for c in cells]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", type=int, default=64)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--in-flight", default="1,2,4,8")
    parser.add_argument("--processes", default="1,2,4", help="scoring processes sharing the device")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    args = parser.parse_args()
    device = scorer.resolve_device(args.device)
    representatives = _representatives()
    cells = random.Random(args.seed).sample(representatives, args.archs)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else device
    print(f"device: {device} ({name}), torch {torch.__version__}, {args.archs} distinct networks, "
          f"n={args.n}, {args.threads} CPU thread(s) per process")
    context = multiprocessing.get_context("spawn")
    reference = None
    for processes in (int(p) for p in args.processes.split(",")):
        with context.Pool(processes, _init, (args.data, args.n, args.seed, device, args.threads)) as pool:
            pool.map(_score, [(cells[:1], 1)] * processes)  # every worker started and warm
            for in_flight in (int(k) for k in args.in_flight.split(",")):
                rate, values = _rate(pool, cells, in_flight, processes)
                reference = reference or values
                worst = max(abs(a - b) / abs(b) for a, b in zip(values, reference) if b)
                print(f"{processes} process(es) x {in_flight} in flight: {rate:7.2f} archs/s, "
                      f"whole space ({len(representatives)} networks) ~ "
                      f"{len(representatives) / rate / 60:6.1f} min (projected), "
                      f"max rel diff from the first row {worst:.1e}")


if __name__ == "__main__":
    main()
