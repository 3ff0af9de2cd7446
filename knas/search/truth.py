"""A measured ground truth for any space: train a sample of its cells with a stated recipe and
write the table ``correlate`` and the lookup fine stage read (``python -m knas truth``).

Each cell is trained with ``knas.search.train``'s recipe (SGD with Nesterov momentum 0.9, weight
decay 5e-4, learning rate 0.1 annealed to 0 by a cosine, batch 64, random crop and flip) for
``epochs`` epochs on the training split less a seeded 10% validation split, once per training
seed; its validation accuracy and its accuracy on the whole test split are averaged over the
seeds. The table names its accuracy columns as the space does (``SearchSpace.truth_columns``;
by default ``<dataset>_valid`` and ``<dataset>_test``) and adds ``train_seconds_<dataset>``
(seconds of one training run, mean over seeds), ``epochs_<dataset>`` and ``n_seeds_<dataset>``, plus one
``<dataset>_test_seed<S>`` column per seed (the seed-to-seed agreement is the noise ceiling any
proxy is judged against).

Every finished training is kept in a store under the cache root (``paths.root()/truth``), keyed
by the space's cache id, the data, the recipe, the cell and the seed, so an interrupted build
resumes where it stopped and a larger one reuses a smaller one's cells.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

import pandas as pd

from knas import paths, stores
from knas.data import readers
from knas.errors import KnasError


class TruthError(KnasError):
    pass


@dataclass(frozen=True)
class Recipe:
    """What every cell of a ground-truth build is trained with."""
    epochs: int = 1
    seeds: int = 1  # training seeds 0 .. seeds-1
    train_samples: int = 0  # training images (0: the whole training split)

    def check(self) -> "Recipe":
        for name, least in (("epochs", 1), ("seeds", 1), ("train_samples", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise TruthError(f"--{name.replace('_', '-')} must be a whole number >= {least}, "
                                 f"got {value!r}")
        return self

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def data_digest(split: readers.Dataset) -> str:
    """A split's exact content, so a changed data set never reuses stored results."""
    if not isinstance(split, readers.Dataset):  # text features
        return f"{split.name}:{split.digest(range(len(split)))}"
    h = hashlib.sha256()
    h.update(split.images.tobytes())
    h.update(split.labels.tobytes())
    return f"{split.name}:{h.hexdigest()[:16]}"


def cells_to_train(space, count: int, seed: int) -> list[int]:
    """The cells a build trains: ``count`` distinct ones drawn with ``seed`` (every cell when
    ``count`` is the space's size)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= space.size:
        raise TruthError(f"--cells must be a whole number in 1..{space.size}, got {count!r}")
    return space.sample(count, seed)


def build(space, dataset: str, data_path, cells: list[int], recipe: Recipe, device: str = "cpu",
          store_dir=None, should_stop=None, workers: int = 1):
    """Train what is missing and yield ``(done, total, index, reused)`` after each cell; the
    generator returns the table (``yield from`` gets it). With ``workers`` > 1 the trainings run
    in that many processes (CPU threads shared out among them), results still stored and
    yielded in cell order; each training is the same as in one process."""
    from knas.search import train

    recipe.check()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise TruthError(f"--workers must be a whole number >= 1, got {workers!r}")
    train_split = space.load_data(dataset, data_path, "train")
    test_split = space.load_data(dataset, data_path, "test")
    where = f"{space.cache_id}|{data_digest(train_split)}|{data_digest(test_split)}|{recipe.digest()}"
    store = stores.open_store(store_dir or paths.root() / "truth", "ground-truth store")
    todo = [(index, seed) for index in cells for seed in range(recipe.seeds)
            if store.get(f"{where}|{index}|{seed}") is None] if workers > 1 else []
    pool = _Pool(space, dataset, data_path, recipe, device, workers) if todo else None
    runs_of = pool.submit(todo) if pool else {}
    rows = []
    try:
        for done, index in enumerate(cells, start=1):
            runs, reused = [], True
            for seed in range(recipe.seeds):
                key = f"{where}|{index}|{seed}"
                run = store.get(key)
                if run is None:
                    reused = False
                    run = pool.result(runs_of[index, seed]) if pool else \
                        _train_run(space, index, seed, train_split, test_split, recipe, device,
                                   should_stop)
                    store.set(key, run)
                runs.append(run)
                if pool and should_stop and should_stop():
                    raise train.TrainingCancelled()
            rows.append(_row(space, dataset, index, runs, recipe))
            yield done, len(cells), index, reused
    finally:
        if pool:
            pool.close()
        store.close()
    return pd.DataFrame(rows)


def _train_run(space, index, seed, train_split, test_split, recipe, device, should_stop=None):
    from knas.search import train

    settings = train.settings_for(space, epochs=recipe.epochs, seed=seed,
                                  train_samples=recipe.train_samples or None)
    result = train.train_and_evaluate(space, index, train_split, settings, device=device,
                                      should_stop=should_stop, test=test_split)
    return {"valid": result.val_accuracy, "test": result.test_accuracy, "seconds": result.seconds}


class _Pool:
    """Worker processes that each load the data once and train (cell, seed) runs."""

    def __init__(self, space, dataset, data_path, recipe, device, workers):
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, (os.cpu_count() or 1) // workers)
        self.executor = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
            initargs=(space.spec, dataset, str(data_path), threads))
        self.recipe, self.device = recipe, device

    def submit(self, todo) -> dict:
        return {(index, seed): self.executor.submit(_worker_run, index, seed, self.recipe,
                                                    self.device) for index, seed in todo}

    @staticmethod
    def result(future) -> dict:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return future.result()
        except BrokenProcessPool:
            raise TruthError("a training worker process died (out of memory, or killed); every "
                             "finished training is kept in the store: run the same command again "
                             "to resume, with fewer --workers if memory is short") from None

    def close(self):
        self.executor.shutdown(wait=True, cancel_futures=True)


_WORKER: dict = {}


def _start_worker(space_spec, dataset, data_path, threads):
    import torch

    from knas import spaces

    torch.set_num_threads(threads)
    space = spaces.get(space_spec)
    _WORKER.update(space=space, train=space.load_data(dataset, data_path, "train"),
                   test=space.load_data(dataset, data_path, "test"))


def _worker_run(index, seed, recipe, device):
    return _train_run(_WORKER["space"], index, seed, _WORKER["train"], _WORKER["test"], recipe,
                      device)


def _row(space, dataset: str, index: int, runs: list[dict], recipe: Recipe) -> dict:
    columns = space.truth_columns(dataset)
    row = {"index": index, "arch_str": space.format(space.arch_at(index)),
           columns.valid: _mean(r["valid"] for r in runs),
           columns.test: _mean(r["test"] for r in runs),
           f"train_seconds_{dataset}": _mean(r["seconds"] for r in runs),
           f"epochs_{dataset}": recipe.epochs, f"n_seeds_{dataset}": len(runs)}
    row.update({f"{columns.test}_seed{seed}": r["test"] for seed, r in enumerate(runs)})
    return row


def _mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


def recipe_text(recipe: Recipe, space) -> str:
    """The recipe in words, as the space's networks are trained (``train.settings_for``)."""
    from knas.search import train

    s = train.settings_for(space, epochs=recipe.epochs)
    samples = f"{recipe.train_samples:,} training samples" if recipe.train_samples \
        else "the whole training split"
    return (f"{recipe.epochs} epoch(s) on {samples} ({s.val_fraction:.0%} held out for "
            f"validation), SGD + Nesterov {s.momentum:g}, lr {s.lr:g} cosine to 0, weight decay "
            f"{s.weight_decay:g}, batch {s.batch_size}{', crop + flip' if s.augment else ''}; "
            f"{recipe.seeds} training seed(s)")
