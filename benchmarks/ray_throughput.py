"""Ray backend against the local process pool: archs/s, per-task overhead, projected GPU scaling.

    python -m benchmarks.ray_throughput --data ../shared/data/cifar10/cifar10_small.npz --archs 48 --workers 2

The same cells, settings and number of single-threaded workers for every pass, each pass with an
empty cache. Ray runs as a private instance on 127.0.0.1, its start timed apart; its first pass
starts fresh worker processes (they import torch), a second pass reuses them, as a job that holds
one session would. The local pool starts its processes in every call.

Projected scaling to G GPUs (a model fed with the figures measured here, not a measurement):
N cells in T = ceil(N / c) tasks of c cells; a task costs c*t + o (t: GPU seconds per cell, an
assumption since no GPU was measured; o: Ray's per-task overhead, from empty tasks); each GPU runs
tasks back to back after a start-up S (worker start and imports: cold minus warm pass). Makespan
M(G) = max(S + ceil(T / G) * (c*t + o), N*d + T*o_d), the second term being the driver, which
records results one after another (d: its cache write per cell, o_d: its own time per task).
Scaling efficiency E(G) = M(1) / (G * M(G)).
"""
import argparse
import math
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from knas.data import readers
from knas.scoring import backends, raybackend, raycluster, scorer
from knas.spaces.nb201 import cells as space
from knas.scoring.cache import ScoreCache
from knas import spaces

NB201 = spaces.get("nb201")


def _noop(*_):
    return None


def _drain(results) -> tuple[float, dict]:
    start = time.perf_counter()
    values = {r.index: r.values for r in results}
    return time.perf_counter() - start, values


def _local_pool(cells, names, batch, settings, workers):
    with tempfile.TemporaryDirectory() as cache_dir:
        return _drain(backends._parallel(NB201, cells, names, batch, settings, cache_dir, workers, "cpu"))


def _pool_overhead(workers, tasks):
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_noop, range(workers)))  # processes started
        start = time.perf_counter()
        list(pool.map(_noop, range(tasks)))
        return (time.perf_counter() - start) * workers / tasks


def _ray_overhead(ray, workers, tasks):
    """Worker-side seconds per empty task (o) and the driver's own seconds per task (o_d)."""
    noop = ray.remote(_noop).options(num_cpus=1)
    ray.get([noop.remote() for _ in range(workers * 2)])  # workers started
    wall, cpu = time.perf_counter(), time.process_time()
    ray.get([noop.remote() for _ in range(tasks)])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    round_trip = time.perf_counter()
    for _ in range(20):
        ray.get(noop.remote())
    return wall * workers / tasks, cpu / tasks, (time.perf_counter() - round_trip) / 20


def _driver_cost(cells, names, batch, settings, values) -> float:
    """The driver's cache write per cell, as ``raybackend`` does it for each result."""
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = ScoreCache(cache_dir)
        start = time.perf_counter()
        for index in cells:
            result = scorer.ArchScores(index, values[index])
            raybackend.RayBackend(NB201)._record(result, {}, names, batch, settings, cache)
        return (time.perf_counter() - start) / len(cells)


def makespan(gpus, cells, t, c, o, startup, d, o_d):
    tasks = math.ceil(cells / c)
    return max(startup + math.ceil(tasks / gpus) * (c * t + o), cells * d + tasks * o_d)


def efficiency(gpus, cells, t, c, o, startup, d, o_d):
    one = makespan(1, cells, t, c, o, startup, d, o_d)
    return one / (gpus * makespan(gpus, cells, t, c, o, startup, d, o_d))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", type=int, default=48)
    parser.add_argument("--proxies", default="mgm")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=4)
    parser.add_argument("--empty-tasks", type=int, default=400)
    parser.add_argument("--gpu-seconds", default="0.05,0.02,0.005",
                        help="assumed GPU seconds per cell for the projection (no GPU measured here)")
    parser.add_argument("--project-cells", type=int, default=1000, help="pool size for the projection")
    args = parser.parse_args()
    names = args.proxies.split(",")
    batch = scorer.make_batch(readers.load_named(args.dataset, args.data), args.n, args.seed, NB201)
    settings = scorer.ScoreSettings(n=args.n, seed=args.seed)
    cells = space.sample(args.archs, args.seed)
    print(f"{args.archs} cells, proxies {names}, n={args.n}, {args.workers} workers of one torch thread, chunk {args.chunk}")

    start = time.perf_counter()
    with raycluster.session(None, num_cpus=args.workers) as opened:
        import ray

        print(f"ray private instance started in {time.perf_counter() - start:.1f} s ({opened.address})")
        passes = []
        for _ in range(2):
            with tempfile.TemporaryDirectory() as cache_dir:
                backend = raybackend.RayBackend(NB201, chunk=args.chunk)
                passes.append(_drain(backend.score(cells, names, batch, settings,
                                                   ScoreCache(cache_dir))))
        (cold, cold_values), (warm, warm_values) = passes
        o, o_d, round_trip = _ray_overhead(ray, args.workers, args.empty_tasks)
    local, local_values = _local_pool(cells, names, batch, settings, args.workers)
    print(f"ray, fresh workers:  {args.archs / cold:7.3f} archs/s ({cold:.1f} s)")
    print(f"ray, warm workers:   {args.archs / warm:7.3f} archs/s ({warm:.1f} s)")
    print(f"local process pool:  {args.archs / local:7.3f} archs/s ({local:.1f} s, processes started in the call)")
    print(f"values identical across the three passes: {cold_values == warm_values == local_values}")
    pool_o = _pool_overhead(args.workers, args.empty_tasks)
    d = _driver_cost(cells, names, batch, settings, local_values)
    print(f"per empty task: ray {o * 1e3:.2f} ms of a worker, {o_d * 1e3:.2f} ms of the driver, "
          f"{round_trip * 1e3:.2f} ms round trip; process pool {pool_o * 1e3:.2f} ms of a worker")
    print(f"driver cache write per cell: {d * 1e3:.2f} ms")
    cpu_t = args.workers * warm / args.archs
    startup = max(cold - warm, 0.0)
    print(f"CPU seconds per cell (warm pass, per worker): {cpu_t:.3f}; start-up S (cold - warm): {startup:.1f} s")
    print(f"projected scaling, N={args.project_cells}, c={args.chunk} (model in the docstring):")
    for t in [cpu_t] + [float(v) for v in args.gpu_seconds.split(",")]:
        line = ", ".join(f"{g} GPUs {efficiency(g, args.project_cells, t, args.chunk, o, startup, d, o_d):.1%}"
                         for g in (4, 8))
        print(f"  t = {t:.3f} s/cell: {line}")


if __name__ == "__main__":
    main()
