"""Where a run's scoring and training happen: one backend object, chosen once per run.

``LocalBackend`` scores in this process or in worker processes of this machine (whichever suits
the device and the pool) and trains candidates one after another; ``knas.scoring.raybackend``'s
``RayBackend`` sends both to a Ray cluster. Both yield results in completion order, read every
cached score in the caller's process first (a pool scored before starts no worker at all), and
are context managers: a Ray backend holds its connection for the whole run.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch

from knas.errors import Cancelled, KnasError
from knas.jobs import processes
from knas.scoring.cache import ScoreCache
from knas.scoring.scorer import ArchScores, Batch, Scorer, chunk_by_representative, default_workers, \
    plan, resolve_device

PARALLEL_MIN_CELLS = 8  # per worker: below that, starting processes costs more than it saves


def open_backend(space, backend: str = "local", device: str = "auto", workers: int = 0,
                 ray_address: str = ""):
    """The backend a run's settings name (``local`` or ``ray``)."""
    if backend == "ray":
        from knas.scoring.raybackend import RayBackend

        return RayBackend(space, ray_address or None, device, workers)
    if backend != "local":
        raise KnasError(f"unknown backend {backend!r}; use local or ray")
    return LocalBackend(space, device, workers)


class LocalBackend:
    """This machine: one single-threaded process per CPU core (or one process driving a GPU)."""

    name = "local"

    def __init__(self, space, device: str = "auto", workers: int = 0):
        self.space = space
        self.device = resolve_device(device)
        self.workers = workers or default_workers(self.device)

    @property
    def label(self) -> str:
        return f"{self.device} x {self.workers}"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def score(self, indices, names, batch: Batch, settings, cache, should_stop=None, on_retry=None):
        """``ArchScores`` of every cell, cached ones first; closing the generator stops the
        worker processes."""
        names = list(names)
        cached, work = plan(self.space, indices, names, batch, settings, cache)
        todo = [index for index, _, _ in work]
        yield from cached
        if not todo:
            return
        if self.workers > 1 and len(todo) >= PARALLEL_MIN_CELLS * self.workers:
            yield from _parallel(self.space, todo, names, batch, settings, cache.directory,
                                 self.workers, self.device)
        else:
            yield from Scorer(self.space, batch, settings, cache, self.device).score_pool(todo, names)

    def train(self, indices, dataset, settings, should_stop=None, test=None):
        """(index, ``train.TrainResult``) per candidate, one after another (each also measured
        on the ``test`` split when one is given)."""
        from knas.search import train

        for index in indices:
            try:
                yield index, train.train_and_evaluate(self.space, index, dataset, settings,
                                                      device=self.device, should_stop=should_stop,
                                                      test=test)
            except train.TrainingCancelled:
                raise Cancelled() from None


def _parallel(space, indices, names, batch: Batch, settings, cache_dir, workers: int,
              device: str = "cpu"):
    """Score cells in ``workers`` processes of one torch thread each, sharing the disk cache.

    On a 2-core CPU two single-threaded processes score more cells per second than one process
    with two threads (small convolutions parallelise poorly). Yields results as they finish.
    """
    tasks = chunk_by_representative(space, indices, 4)
    payload = (batch.x.numpy(), batch.y.numpy(), batch.num_classes, batch.digest)
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(space.spec, payload, settings, str(cache_dir), device,
                                       workers)) as pool:
        futures = [pool.submit(_score_task, task, list(names)) for task in tasks]
        try:
            for future in as_completed(futures):
                yield from future.result()
        finally:
            for future in futures:
                future.cancel()


_worker_scorer: Scorer | None = None


def _init_worker(space_spec, payload, settings, cache_dir, device, workers: int = 1):
    from knas import spaces

    global _worker_scorer
    processes.exit_with_parent(os.getppid())  # no scoring for a dead parent
    # The workers share the cores: each takes its part for the CPU work a GPU scorer still does
    # (eigenvalues, network building). Measured on an H200 with 16 cores: 8 workers of 16
    # threads each scored one cell of the recommended ranking in 150 s (docs/benchmarks.md).
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    x, y, num_classes, digest = payload
    batch = Batch(torch.from_numpy(x), torch.from_numpy(y), num_classes, digest)
    _worker_scorer = Scorer(spaces.get(space_spec), batch, settings, ScoreCache(cache_dir), device)


def _score_task(indices, names) -> list[ArchScores]:
    return [_worker_scorer.score(index, names) for index in indices]
