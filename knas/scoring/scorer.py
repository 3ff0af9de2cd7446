"""Turn cells into proxy scores: one batch of real data, a seeded network per cell, cached.

The space (``knas.spaces``) is handed in: it builds each cell's network and says which cells
compute the same function (``SearchSpace.representative``); those share one score for the
proxies that allow it, the group's representative being the one scored, so the value does not
depend on which member a pool meets first. Weights come from ``torch.manual_seed(seed)`` right
before a network is built, so a score is a function of (space, proxy, settings, batch, cell)
alone. How a pool's cells are spread over processes or machines is a backend's business
(``knas.scoring.backends``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field

import torch

from knas import proxies
from knas.data import readers, samples
from knas.errors import KnasError
from knas.scoring.cache import ScoreKey

log = logging.getLogger(__name__)


class ScoringError(KnasError):
    pass


@dataclass(frozen=True)
class Batch:
    """The samples every network of a run is scored on, with a digest of their exact content."""
    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    digest: str


def make_batch(dataset: readers.Dataset, n: int, seed: int, space) -> Batch:
    """``n`` seeded samples of ``dataset``, checked against what ``space``'s networks take."""
    if n > len(dataset):
        raise ScoringError(f"asked for {n} samples but the dataset has only {len(dataset)}")
    if isinstance(dataset, readers.Dataset):
        problem = space.input_error(*dataset.images.shape[1:3])
        if problem:
            raise ScoringError(problem)
    indices = samples.subset(dataset, n, seed)
    x, y = samples.to_tensors(dataset, indices)
    return Batch(x, y, dataset.num_classes, f"{dataset.name}:{dataset.digest(indices)}")


def resolve_device(name: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; a named device must be available."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ScoringError(f"device {name!r} asked for, but this machine has no CUDA GPU; use --device cpu")
    if name == "mps" and not has_mps:
        raise ScoringError("device 'mps' asked for, but Apple's Metal backend is not available")
    if name != "cpu" and not name.startswith(("cuda", "mps")):
        raise ScoringError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return name


@dataclass(frozen=True)
class ScoreSettings:
    """What a score depends on besides the cell and the batch."""
    n: int = 32  # samples per network
    seed: int = 0  # weights and sample choice
    params: str = "all"  # which weights MGM uses: all, or first:L:m

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def cache_key(space, name: str, arch, batch: Batch, settings: ScoreSettings) -> str:
    """The score cache's key for a proxy on a cell of a space, this batch and these settings."""
    return ScoreKey.of(space, name, arch, batch.digest, settings.digest()).text


IN_FLIGHT_ON_CUDA = 4  # networks in flight per CUDA device (benchmarks/gpu_throughput.py tunes it)


@dataclass
class ArchScores:
    index: int
    values: dict = field(default_factory=dict)
    networks_built: int = 0  # 0 when every score came from the cache
    seconds: dict = field(default_factory=dict)  # compute time per proxy scored now (not cached)


class Scorer:
    """Scores cells on one batch: cached values first, then one network per cell it needs.

    ``in_flight`` > 1 scores MGM-only pools several networks at a time (``knas.scoring.multinet``: CUDA
    streams, one read-out per chunk); by default 4 on CUDA and 1 elsewhere, where 1 is the plain
    one-at-a-time path (the other value is tested on the CPU, where it runs them in turn)."""

    def __init__(self, space, batch: Batch, settings: ScoreSettings, cache, device: str = "auto",
                 in_flight: int | None = None):
        self.space, self.batch, self.settings, self.cache = space, batch, settings, cache
        self.device = resolve_device(device)
        self.in_flight = in_flight or (IN_FLIGHT_ON_CUDA if self.device.startswith("cuda") else 1)
        if self.device == "cpu":
            # One thread per scoring process: bitwise the same scores whatever the number of
            # workers, and on few cores faster per core (small convolutions parallelise poorly).
            torch.set_num_threads(1)
        self._x = batch.x.to(self.device)
        self._y = batch.y.to(self.device)

    def score(self, index: int, names) -> ArchScores:
        """All ``names`` for one cell: cached values where present, computed and stored otherwise.
        A network is built once per cell it needs, and a function several proxies share runs
        once for all of them."""
        arch = self.space.arch_at(index)
        result = ArchScores(index)
        todo: dict[int, dict[tuple, list[str]]] = {}  # network cell -> shared pass -> proxies
        for name in names:
            value = self.cache.get(self.key(name, arch))
            if value is not None:
                result.values[name] = value
                continue
            meta = proxies.info(name)
            cell = self.space.representative(index) if meta.dedup else index
            todo.setdefault(cell, {}).setdefault(meta.shared_pass, []).append(name)
        for cell, functions in todo.items():
            pending_names = [name for names in functions.values() for name in names]
            net = self._build(cell, prune=all(proxies.info(n).prunable for n in pending_names))
            result.networks_built += 1
            for pending in functions.values():
                start = time.perf_counter()
                value = self._run(pending, net, cell)
                elapsed = time.perf_counter() - start
                values = value if isinstance(value, dict) else dict.fromkeys(pending, value)
                for name in pending:
                    result.seconds[name] = elapsed
                    result.values[name] = float(values[name])
                    self.cache.set(self.key(name, arch), values[name])
        return result

    def key(self, name: str, arch) -> str:
        return cache_key(self.space, name, arch, self.batch, self.settings)

    def score_pool(self, indices, names):
        if self.in_flight > 1 and list(names) == ["mgm"]:
            yield from self._mgm_in_flight([int(i) for i in indices])
            return
        for index in indices:
            yield self.score(int(index), names)

    def _mgm_in_flight(self, indices, chunk: int = 64):
        """MGM of a pool with several networks in flight: per chunk of cells, the missing
        representatives go to ``multinet`` together, then every cell reads its value back."""
        from knas.scoring import multinet

        space = self.space
        for start in range(0, len(indices), chunk):
            part = indices[start:start + chunk]
            missing = list(dict.fromkeys(
                space.representative(i) for i in part
                if self.cache.get(self.key("mgm", space.arch_at(i))) is None))
            began = time.perf_counter()
            values = multinet.mgm_in_flight(space, missing, self._x, self._y,
                                            self.batch.num_classes, self.settings.seed,
                                            self.device, self.in_flight, prune=True,
                                            params=self.settings.params)
            each = (time.perf_counter() - began) / max(len(missing), 1)
            for cell, value in zip(missing, values):
                self.cache.set(self.key("mgm", space.arch_at(cell)), value)
            unclaimed = set(missing)  # each network built is counted once, on its group's first cell
            for index in part:
                arch = space.arch_at(index)
                fresh = space.representative(index) in unclaimed
                unclaimed.discard(space.representative(index))
                yield ArchScores(index, {"mgm": float(self.cache.get(self.key("mgm", arch)))},
                                 networks_built=int(fresh), seconds={"mgm": each} if fresh else {})

    def _build(self, index: int, prune: bool = False):
        """The seeded network; ``prune`` may leave out work that cannot change the scores of
        the proxies that allow it (NAS-Bench-201: edges that cannot reach a cell's output)."""
        torch.manual_seed(self.settings.seed)
        return self.space.build(self.space.arch_at(index), self.batch.num_classes,
                                prune=prune).to(self.device)

    def _run(self, names: list[str], net, cell: int):
        """One pass for ``names`` (entries of one shared pass, or one proxy)."""
        name = names[0]
        meta = proxies.info(name)
        proxies.check_applicable(name, net)
        options = {option: getattr(self.settings, option) for option in meta.options}
        if meta.partial:
            options["wanted"] = tuple(names)
        return call_with_oom_retry(proxies.shared_function(name), net, self._x, self._y, options,
                                   chunkable=meta.chunkable,
                                   what=self.space.format(self.space.arch_at(cell)))


def call_with_oom_retry(fn, net, x, y, options: dict, chunkable: bool = False, what: str = ""):
    """Run a proxy; on GPU out-of-memory, retry in smaller chunks (exact for a ``chunkable``
    proxy), else once on the CPU, saying so either way (``what``: the cell, for the messages)."""
    try:
        return fn(net, x, y, **options)
    except torch.cuda.OutOfMemoryError:
        _free_gpu()
    arch = what or "the network"
    if chunkable:
        chunk = x.shape[0] // 2
        while chunk >= 1:
            log.warning("GPU out of memory scoring %s with %s on %d samples; retrying in chunks of %d",
                        arch, fn.__name__, x.shape[0], chunk)
            try:
                return fn(net, x, y, chunk=chunk, **options)
            except torch.cuda.OutOfMemoryError:
                _free_gpu()
                chunk //= 2
        raise ScoringError(
            f"GPU out of memory scoring {arch} with {fn.__name__} even one sample at a time; "
            "use --device cpu or fewer samples (--n)")
    log.warning("GPU out of memory scoring %s with %s on %d samples; retrying on the CPU",
                arch, fn.__name__, x.shape[0])
    return fn(net.to("cpu"), x.cpu(), y.cpu(), **options)


def _free_gpu() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def default_workers(device: str) -> int:
    """One single-threaded process per core on the CPU; one process drives a GPU."""
    return (os.cpu_count() or 1) if device == "cpu" else 1


def plan(space, indices, names, batch: Batch, settings: ScoreSettings, cache):
    """Split a pool into cells whose every score is cached (as ``ArchScores``, read in this
    process: a pool scored before starts no worker at all) and the work left, as
    ``[(index, cached values, missing names)]``."""
    done, work = [], []
    for index in (int(i) for i in indices):
        arch = space.arch_at(index)
        values, missing = {}, []
        for name in names:
            value = cache.get(cache_key(space, name, arch, batch, settings))
            if value is None:
                missing.append(name)
            else:
                values[name] = value
        if missing:
            work.append((index, values, missing))
        else:
            done.append(ArchScores(index, values))
    return done, work


def chunk_by_representative(space, items, chunk: int, index_of=int) -> list[list]:
    """Items grouped by the cell that stands for their cell (so one task builds each shared
    network once), groups joined until a task holds ``chunk`` items."""
    groups: dict[int, list] = {}
    for item in items:
        groups.setdefault(space.representative(index_of(item)), []).append(item)
    tasks, current = [], []
    for group in groups.values():
        current.extend(group)
        if len(current) >= chunk:
            tasks.append(current)
            current = []
    if current:
        tasks.append(current)
    return tasks
