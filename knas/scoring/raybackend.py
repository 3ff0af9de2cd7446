"""The Ray backend: a run's scoring and training as tasks on a Ray cluster, with the local
backend's semantics; the driver owns the cache.

The caller's process (the driver) looks every score up in the cache first and sends only what is
missing. Cells are grouped by ``SearchSpace.representative`` so one task scores all cells that
share a network, chunks of at least ``chunk`` cells per task. The data batch goes to the object
store once. A task scores with an in-memory cache and returns its values; the driver writes each
one under ``scorer.cache_key``, so keys, dedup, resume and cancel behave as with the local
backend, and the cluster never needs the cache's disk. Tasks load the space by its spec
(``knas.spaces.get``): a space defined in a file must be at the same path on every node.

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

from knas.errors import Cancelled, KnasError
from knas.scoring import raycluster, scorer
from knas.scoring.raycluster import ClusterLost, RayBackendError

POLL_SECONDS = 0.2  # how often should_stop is asked while tasks run
PROBE_SECONDS = 2.0  # how often the cluster is checked while no result arrives


@dataclass(frozen=True)
class RetryNotice:
    """A task sent again because the process or node running it died."""
    cells: tuple
    attempt: int  # the attempt about to start: 2 for the first resend
    limit: int  # attempts allowed in all
    reason: str


class MemoryCache:
    """The cache a task scores with: shares a network among a group's cells, forgets at the end."""

    def __init__(self):
        self._values = {}

    def get(self, key):
        return self._values.get(key)

    def set(self, key, value):
        self._values[key] = float(value)


class RayBackend:
    """Ray tasks: ``address`` None starts a private instance of ``workers`` CPUs (default: all)
    on 127.0.0.1 for the run and stops it at the end; ``auto`` or HOST:PORT connects to a cluster
    and leaves it running. A process already connected to Ray keeps that connection."""

    name = "ray"

    def __init__(self, space, address: str | None = None, device: str = "auto", workers: int = 0,
                 chunk: int = 4, retries: int = 3, gpu_share: float = 0.25):
        self.space, self.address, self.device, self.workers = space, address, device, workers
        self.chunk, self.retries, self.gpu_share = max(1, chunk), retries, gpu_share
        self._session, self._depth = None, 0

    @property
    def label(self) -> str:
        return f"Ray ({self.address or 'private instance'})"

    def __enter__(self):
        """Connect (once: a run holds one connection across its methods and repeats)."""
        if self._session is None:
            self._session = raycluster.connect(self.address, num_cpus=self.workers or None)
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0 and self._session is not None:
            self._session.close()
            self._session = None

    def score(self, indices, names, batch, settings, cache, should_stop=None, on_retry=None):
        """``ArchScores`` in completion order, cached cells first."""
        names = list(names)
        done, work = scorer.plan(self.space, indices, names, batch, settings, cache)
        yield from done
        if not work:
            return
        tasks = scorer.chunk_by_representative(self.space, work, self.chunk,
                                               index_of=lambda item: item[0])
        with self:
            yield from self._run(tasks, names, batch, settings, cache,
                                 should_stop or (lambda: False), on_retry or (lambda notice: None))

    def _run(self, tasks, names, batch, settings, cache, should_stop, on_retry):
        import ray

        opened = self._session
        options = raycluster.task_options("score", raycluster.resources(ray)["gpus"], self.device,
                                          self.gpu_share)
        remote = ray.remote(score_cells).options(**options, max_retries=0, retry_exceptions=False)
        task_device = raycluster.task_device(options)
        payload = ray.put((batch.x.numpy(), batch.y.numpy(), batch.num_classes, batch.digest))
        cached = {index: values for task in tasks for index, values, _ in task}
        running = {}  # object ref -> (task, attempt)

        def submit(task, attempt):
            cells = [(index, missing) for index, _, missing in task]
            ref = remote.remote(self.space.spec, payload, settings, cells, task_device)
            running[ref] = (task, attempt)

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
                    if attempt > self.retries:
                        raise RayBackendError(f"cells {list(cells)} failed {attempt} times on the Ray "
                                              f"cluster; last: {_reason(err)}") from None
                    on_retry(RetryNotice(cells, attempt + 1, self.retries + 1, _reason(err)))
                    submit(task, attempt + 1)
                    continue
                except ray.exceptions.RayTaskError as err:
                    cause = getattr(err, "cause", None)
                    if isinstance(cause, KnasError):
                        raise cause from None
                    raise RayBackendError(f"a scoring task failed on the Ray cluster: {cause or err}") \
                        from None
                for result in results:
                    yield self._record(result, cached[result.index], names, batch, settings, cache)
        except ray.exceptions.RayError as err:
            _check_alive(opened)
            raise RayBackendError(f"the Ray cluster at {opened.address} failed: {_reason(err)}") \
                from None
        finally:
            _cancel(running)

    def _record(self, result, cached_values, names, batch, settings, cache):
        """Write a task's values into the cache (the driver is its only writer) and merge the
        cached ones."""
        arch = self.space.arch_at(result.index)
        for name, value in result.values.items():
            cache.set(scorer.cache_key(self.space, name, arch, batch, settings), value)
        merged = {**cached_values, **result.values}
        return scorer.ArchScores(result.index, {name: merged[name] for name in names},
                                 result.networks_built, result.seconds)

    def train(self, indices, dataset, settings, should_stop=None, test=None):
        """Candidates trained as Ray tasks, one GPU each when the cluster has GPUs (else one CPU);
        yields ``(index, train.TrainResult)`` in completion order. The data set goes to the object
        store once. Ray retries a task whose worker died up to ``retries`` times; ``should_stop``
        cancels what is still running and raises ``Cancelled``."""
        import ray

        should_stop = should_stop or (lambda: False)
        with self:
            options = raycluster.task_options("train", raycluster.resources(ray)["gpus"], self.device)
            remote = ray.remote(train_cell).options(**options, max_retries=self.retries)
            stored, stored_test = ray.put(dataset), ray.put(test)
            running = [remote.remote(self.space.spec, stored, settings, int(i),
                                     raycluster.task_device(options), stored_test) for i in indices]
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
                            raise RayBackendError(
                                f"a training task failed on the Ray cluster: {cause or err}") from None
            finally:
                _cancel(running)


# --- task bodies (run on the cluster) ------------------------------------------------------------


def score_cells(space_spec, payload, settings, cells, device):
    """Score ``cells`` ([(index, names)]); returns their ArchScores."""
    from knas import spaces

    x, y, num_classes, digest = payload
    # Object-store arrays are read-only; the copies are small (n samples).
    batch = scorer.Batch(torch.from_numpy(np.array(x)), torch.from_numpy(np.array(y)), num_classes,
                         digest)
    cells_scorer = scorer.Scorer(spaces.get(space_spec), batch, settings, MemoryCache(), device)
    return [cells_scorer.score(index, names) for index, names in cells]


def train_cell(space_spec, dataset, settings, index: int, device: str, test=None):
    """One candidate's short training (the same code as the local fine stage)."""
    from knas import spaces
    from knas.search import train

    return index, train.train_and_evaluate(spaces.get(space_spec), index, dataset, settings,
                                           device=device, test=test)


def _cancel(refs) -> None:
    """Stop the tasks still running (the cluster may be gone; then nothing is left to stop)."""
    import ray

    for ref in refs:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001 (any failure means the task is gone with its cluster)
            pass


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
