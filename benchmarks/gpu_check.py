"""Every figure docs/benchmarks.md needs from a GPU, in one call: a few minutes on a lent machine.

    python -m benchmarks.gpu_check --data cifar10_small.npz --budget 480 --out gpu_check.md

In order, each within its share of ``--budget`` seconds (a phase cut short says how far it got
and projects the whole from its rate): the device; MGM with several networks in flight against
one at a time on the same distinct networks (agreement and rate, ``knas.scoring.multinet``); the
whole NAS-Bench-201 space scored with MGM, then with the members of ``recommended``
(``meco,synflow,az_expressivity``) and of ``recommended_top`` (``swap_reg,synflow,gram_cond``), the
ranking the whole-space search uses, through the local backend as a search runs them,
``--workers`` processes sharing the device, each in a fresh cache. n = 32 images of the data, seed 0. Runs on a
CPU too (``--device cpu``), for a quick check of the script itself.
"""
import argparse
import random
import tempfile
import time

import torch

from knas import proxies, spaces
from knas.data import readers
from knas.scoring import backends, multinet, scorer
from knas.scoring.cache import ScoreCache
from knas.search.specs import Method

NB201 = spaces.get("nb201")
RANKINGS = (proxies.RECOMMENDED, "recommended_top")
SHARES = {"in flight": 0.1, "mgm": 0.3, proxies.RECOMMENDED: 0.3, "recommended_top": 0.3}  # of budget


def in_flight(batch, device: str, seconds: float, cells: int = 128) -> list[str]:
    """MGM of the same distinct networks at 1, 4 and 8 in flight: rate and largest difference."""
    groups = sorted({NB201.representative(i) for i in range(NB201.size)})
    sample = random.Random(0).sample(groups, cells)
    lines, reference, deadline = [], None, time.perf_counter() + seconds
    for k in (1, 4, 8):
        if time.perf_counter() > deadline:
            lines.append(f"- {k} in flight: skipped (out of this phase's time)")
            continue
        multinet.mgm_in_flight(NB201, sample[:2], batch.x, batch.y, batch.num_classes, 0, device,
                               in_flight=k, prune=True)  # warm-up
        start = time.perf_counter()
        values = multinet.mgm_in_flight(NB201, sample, batch.x, batch.y, batch.num_classes, 0,
                                        device, in_flight=k, prune=True)
        rate = cells / (time.perf_counter() - start)
        reference = reference or values
        worst = max(abs(a - b) / abs(b) for a, b in zip(values, reference) if b)
        lines.append(f"- {k} in flight: {rate:.1f} networks/s ({len(groups):,} distinct networks "
                     f"in {len(groups) / rate / 60:.1f} min), largest relative difference from one "
                     f"at a time {worst:.1e}")
    return lines


def whole_space(names, batch, device: str, workers: int, seconds: float) -> str:
    """Score every cell through the local backend until done or out of time."""
    settings = scorer.ScoreSettings(n=len(batch.y), seed=0)
    # Whole groups of cells sharing a representative, in random order: the backend schedules a
    # group's cells together in first-seen order, so shuffled cells would put the big groups (one
    # network for a deduplicated proxy, many cells) first and a cut-short phase would project
    # too low for rankings that mix per-cell and per-function proxies.
    order = scorer.chunk_by_representative(NB201, range(NB201.size), 1)  # one group per task
    random.Random(0).shuffle(order)
    cells = [index for group in order for index in group]
    done, start = 0, time.perf_counter()
    with tempfile.TemporaryDirectory() as fresh, \
            backends.open_backend(NB201, "local", device, workers) as backend:
        stream = backend.score(cells, names, batch, settings, ScoreCache(fresh))
        networks = 0
        said = start
        for result in stream:
            done += 1
            networks += result.networks_built
            if time.perf_counter() - said > 30:  # progress, in case the call is cut short
                said = time.perf_counter()
                print(f"  ... {done:,} cells, {networks:,} networks, {said - start:.0f} s", flush=True)
            if time.perf_counter() - start > seconds:
                break
        wall = time.perf_counter() - start  # before the workers are stopped, which takes a while
    what = (f"{', '.join(names)}: {done:,} of {NB201.size:,} cells ({networks:,} networks) "
            f"in {wall:.0f} s")
    if done < NB201.size:  # a random sample of whole groups: the rate per cell is fair
        projected = NB201.size / max(done, 1) * wall
        what += f"; the whole space projected at this rate: {projected / 60:.1f} min"
    return f"- {what} ({workers} worker process(es) on {device})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CIFAR-10 (official layout or .npz)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=8, help="scoring processes on the device")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for all phases")
    parser.add_argument("--out", default="", help="also write the lines to this markdown file")
    parser.add_argument("--only", default="", choices=["", *SHARES],
                        help="run this one phase, with the whole budget")
    args = parser.parse_args()
    device = scorer.resolve_device(args.device)
    batch = scorer.make_batch(readers.load_named("cifar10", args.data), 32, 0, NB201)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else device
    lines = [f"Device: {device} ({name}), torch {torch.__version__}, "
             f"{torch.get_num_threads()} CPU thread(s), n = 32, seed 0, budget {args.budget:.0f} s."]
    print(lines[0], flush=True)
    phases = {"in flight": ("MGM in flight", lambda s: in_flight(batch, device, s)),
              "mgm": ("Whole space, MGM",
                      lambda s: [whole_space(["mgm"], batch, device, args.workers, s)])}
    for ranking in RANKINGS:
        members = list(Method.parse(ranking).members)
        phases[ranking] = (f"Whole space, {ranking}", lambda s, members=members: [
            whole_space(members, batch, device, args.workers, s)])
    for key, (title, run) in phases.items():
        if args.only and key != args.only:
            continue
        lines.append(f"\n{title}:")
        print(lines[-1], flush=True)
        for line in run(args.budget * (SHARES[key] if not args.only else 1.0)):
            lines.append(line)
            print(line, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
