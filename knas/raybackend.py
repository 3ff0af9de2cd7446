"""Score a pool on a Ray cluster with the local pool's semantics; the driver owns the cache.

The caller's process (the driver) looks every score up in the cache first and sends only what is
missing. Cells are grouped by ``space.representative`` so one task scores all cells that share a
network, chunks of at least ``chunk`` cells per task as in ``scoring.score_pool_parallel``. The
image batch goes to the object store once. A task scores with an in-memory cache and returns its
values; the driver writes each one under ``scoring.cache_key``, so keys, dedup, resume and cancel
behave as with the local backend, and the cluster never needs the cache's disk.

Faults: a task whose worker process or node died is sent again, at most ``retries`` times, and
``on_retry`` hears of each resend. ``should_stop`` is polled while waiting; when it turns true the
outstanding tasks are cancelled (their processes killed) and ``Cancelled`` is raised. A cluster
that stops answering raises ``raycluster.ClusterLost``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from . import raycluster, scoring, space
from .errors import KnasError
from .events import Cancelled, EventKind
from .raycluster import ClusterLost, RayBackendError

POLL_SECONDS = 0.2  # how often should_stop is asked while tasks run
PROBE_SECONDS = 2.0  # how often the cluster is checked while no result arrives


@dataclass(frozen=True)
class RetryNotice:
    """A task sent again because the process or node running it died."""
    cells: tuple
    attempt: int  # the attempt about to start: 2 for the first resend
    limit: int  # attempts allowed in all
    reason: str

    def event(self) -> dict:
        return {"kind": EventKind.RETRY, "cells": list(self.cells), "attempt": self.attempt,
                "limit": self.limit, "reason": self.reason}


class MemoryCache:
    """The cache a task scores with: shares a network among a group's cells, forgets at the end."""

    def __init__(self):
        self._values = {}

    def get(self, key):
        return self._values.get(key)

    def set(self, key, value):
        self._values[key] = float(value)


def score_cells(payload, settings, cells, device):
    """The task body: ``cells`` is [(index, names)]; returns their ArchScores."""
    x, y, num_classes, digest = payload
    # Object-store arrays are read-only; the copies are small (n images).
    batch = scoring.Batch(torch.from_numpy(np.array(x)), torch.from_numpy(np.array(y)), num_classes, digest)
    scorer = scoring.Scorer(batch, settings, MemoryCache(), device)
    return [scorer.score(index, names) for index, names in cells]


def score_pool_ray(indices, names, batch, settings, cache, address=None, device="cpu", chunk=4,
                   workers=0, retries=3, should_stop=None, on_retry=None, gpu_share=0.25):
    """Yield ``scoring.ArchScores`` in completion order, cached cells first.

    ``address``: None starts a private instance of ``workers`` CPUs (default: all) on 127.0.0.1
    and stops it at the end; ``auto`` or HOST:PORT connects to a cluster and leaves it running.
    If this process is already connected to Ray, that connection is used and kept.
    """
    names = list(names)
    done, work = scoring.plan(indices, names, batch, settings, cache)
    yield from done
    if not work:
        return
    tasks = scoring.chunk_by_representative(work, max(1, chunk), index_of=lambda item: item[0])
    with raycluster.session(address, num_cpus=workers or None) as opened:
        yield from _run(opened, tasks, names, batch, settings, cache, device, retries,
                        should_stop or (lambda: False), on_retry or (lambda notice: None), gpu_share)


def _run(opened, tasks, names, batch, settings, cache, device, retries, should_stop, on_retry, gpu_share):
    import ray

    options = raycluster.task_options("score", raycluster.resources(ray)["gpus"], device, gpu_share)
    remote = ray.remote(score_cells).options(**options, max_retries=0, retry_exceptions=False)
    task_device = raycluster.task_device(options)
    payload = ray.put((batch.x.numpy(), batch.y.numpy(), batch.num_classes, batch.digest))
    cached = {index: values for task in tasks for index, values, _ in task}
    running = {}  # object ref -> (task, attempt)

    def submit(task, attempt):
        cells = [(index, missing) for index, _, missing in task]
        running[remote.remote(payload, settings, cells, task_device)] = (task, attempt)

    for task in tasks:
        submit(task, 1)
    last_news = time.monotonic()
    try:
        while running:
            if should_stop():
                raise Cancelled()
            ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_SECONDS)
            if not ready:
                if time.monotonic() - last_news > PROBE_SECONDS:
                    _check_alive(opened)
                    last_news = time.monotonic()
                continue
            last_news = time.monotonic()
            task, attempt = running.pop(ready[0])
            try:
                results = ray.get(ready[0])
            except _retryable(ray) as err:
                _check_alive(opened)
                cells = tuple(index for index, _, _ in task)
                if attempt > retries:
                    raise RayBackendError(f"cells {list(cells)} failed {attempt} times on the Ray cluster; "
                                          f"last: {_reason(err)}") from None
                on_retry(RetryNotice(cells, attempt + 1, retries + 1, _reason(err)))
                submit(task, attempt + 1)
                continue
            except ray.exceptions.RayTaskError as err:
                cause = getattr(err, "cause", None)
                if isinstance(cause, KnasError):
                    raise cause from None
                raise RayBackendError(f"a scoring task failed on the Ray cluster: {cause or err}") from None
            for result in results:
                yield _record(result, cached[result.index], names, batch, settings, cache)
    except ray.exceptions.RayError as err:
        _check_alive(opened)
        raise RayBackendError(f"the Ray cluster at {opened.address} failed: {_reason(err)}") from None
    finally:
        _cancel(running)


def _cancel(refs) -> None:
    """Stop the tasks still running (the cluster may be gone; then nothing is left to stop)."""
    import ray

    for ref in refs:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001 (any failure means the task is gone with its cluster)
            pass


def _record(result, cached_values, names, batch, settings, cache):
    """Write a task's values into the cache (the driver is its only writer) and merge the cached ones."""
    arch = space.arch_at(result.index)
    for name, value in result.values.items():
        cache.set(scoring.cache_key(name, arch, batch, settings), value)
    merged = {**cached_values, **result.values}
    return scoring.ArchScores(result.index, {name: merged[name] for name in names},
                              result.networks_built, result.seconds)


def _retryable(ray):
    """Failures of the machinery, not of the scoring: the same task may succeed when sent again."""
    e = ray.exceptions
    return (e.WorkerCrashedError, e.NodeDiedError, e.OutOfMemoryError, e.ObjectLostError)


def _check_alive(opened):
    if not opened.alive():
        raise ClusterLost(f"the Ray cluster at {opened.address} stopped answering; finished scores "
                          "are in the cache, so starting the run again resumes where it stopped")


def _reason(err) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


# --- fine-stage training ---------------------------------------------------------------------


def train_cell(dataset, settings, index: int, device: str):
    """One candidate's short training inside a Ray task (the same code as the local fine stage)."""
    from . import train

    return index, train.train_and_evaluate(index, dataset, settings, device=device)


def train_pool_ray(indices, dataset, settings, device="auto", should_stop=None, retries: int = 3):
    """Train candidates as Ray tasks, one GPU each when the cluster has GPUs (else one CPU), on the
    Ray connection this process holds; yields ``(index, train.TrainResult)`` in completion order.
    The dataset goes to the object store once. A task whose worker dies is retried by Ray up to
    ``retries`` times; ``should_stop`` cancels what is still running and raises ``Cancelled``."""
    import ray

    should_stop = should_stop or (lambda: False)
    options = raycluster.task_options("train", raycluster.resources(ray)["gpus"], device)
    remote = ray.remote(train_cell).options(**options, max_retries=retries)
    stored = ray.put(dataset)
    running = [remote.remote(stored, settings, int(i), raycluster.task_device(options))
               for i in indices]
    try:
        while running:
            if should_stop():
                raise Cancelled()
            ready, running = ray.wait(running, num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    cause = getattr(err, "cause", None)
                    if isinstance(cause, KnasError):
                        raise cause from None
                    raise RayBackendError(f"a training task failed on the Ray cluster: {cause or err}") \
                        from None
    finally:
        _cancel(running)
