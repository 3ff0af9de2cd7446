"""Several small networks in flight on one device: MGM for many cells without waiting on each.

A small network (NAS-Bench-201's at n = 32) leaves a large GPU mostly idle, and reading each score out
(``float``) stalls the host until the device is done. Here network k of a chunk runs on CUDA
stream k % ``in_flight``; the batch is copied once from pinned host memory; each score stays a
0-dim device tensor (``mgm.mgm_tensor``) and all are read out with one synchronisation at the end
of a chunk. Weights are built on the CPU right after ``torch.manual_seed(seed)``, exactly as
``knas.scoring.scorer.Scorer`` builds them, so scores do not depend on ``in_flight``. On a CPU or MPS there are
no side streams: the same code runs the networks one after another; ``in_flight=1`` is today's
one-at-a-time path (build, score, read out).
"""
from __future__ import annotations

import torch

from knas.proxies import mgm


def build(space, index: int, num_classes: int, seed: int, prune: bool = False):
    """The seeded network of a cell, on the CPU, as the scorer builds it."""
    torch.manual_seed(seed)
    return space.build(space.arch_at(index), num_classes, prune=prune)


def mgm_one_at_a_time(space, indices, x, y, num_classes: int, seed: int, prune: bool = False,
                      **options) -> list[float]:
    """Today's path: one network built, scored and read out after another."""
    return [mgm.mgm(build(space, i, num_classes, seed, prune).to(x.device), x, y, **options)
            for i in indices]


def _slot_streams(device: torch.device, count: int) -> list:
    """One CUDA stream per slot; None (``torch.cuda.stream(None)`` is a no-op) off CUDA."""
    if device.type != "cuda":
        return [None] * count
    current = torch.cuda.current_stream(device)
    streams = [torch.cuda.Stream(device) for _ in range(count)]
    for stream in streams:
        stream.wait_stream(current)  # the batch copy, queued on the current stream, comes first
    return streams


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def mgm_in_flight(space, indices, x, y, num_classes: int, seed: int, device="cpu",
                  in_flight: int = 4, chunk_size: int = 64, prune: bool = False,
                  **options) -> list[float]:
    """MGM of the cells ``indices`` (in order), ``in_flight`` networks at a time on ``device``.

    ``x``, ``y``: the batch (any device; copied once). Scores are read out every ``chunk_size``
    networks, which bounds the memory that queued work holds. ``options`` go to ``mgm``.
    """
    device = torch.device(device)
    indices = list(indices)
    if in_flight <= 1:
        return mgm_one_at_a_time(space, indices, x.to(device), y.to(device), num_classes, seed,
                                 prune, **options)
    x, y = _to_device(x, device), _to_device(y, device)
    streams = _slot_streams(device, in_flight)
    values: list[float] = []
    for start in range(0, len(indices), chunk_size):
        pending = []
        for k, index in enumerate(indices[start:start + chunk_size]):
            net = build(space, index, num_classes, seed, prune)  # host work overlaps device work
            with torch.cuda.stream(streams[k % in_flight]):
                pending.append(mgm.mgm_tensor(net.to(device, non_blocking=True), x, y, **options))
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # every stream done: the chunk's one wait
        values.extend(torch.stack(pending).tolist())
    return values
