"""Proxy scores of a whole space for a study, read from the score cache (cells not in it are
scored now), and a proxy's seconds per network measured on a fresh sample: shared by the
benchmarks that study rankings over all of NAS-Bench-201."""
import tempfile
import time

import pandas as pd

from knas.data import readers
from knas.scoring import backends, scorer
from knas.scoring.cache import ScoreCache


def seeded_batch(space, data: str, n: int = 32, seed: int = 0):
    """The batch and settings of ``python -m knas score --seed SEED`` on CIFAR-10 at ``data``."""
    return (scorer.make_batch(readers.load_named("cifar10", data), n, seed, space),
            scorer.ScoreSettings(n=n, seed=seed))


def whole_space(space, data: str, names, n: int = 32, workers: int = 1,
                seed: int = 0) -> pd.DataFrame:
    """Every cell's score by each proxy (index order), on n images of CIFAR-10 at ``data`` with
    the weights and images of ``seed``, as ``python -m knas score --seed SEED`` computes them."""
    batch, settings = seeded_batch(space, data, n, seed)
    with backends.open_backend(space, "local", "cpu", workers) as backend:
        rows = {r.index: r.values for r in backend.score(range(space.size), list(names), batch,
                                                         settings, ScoreCache())}
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def seconds_per_network(space, data: str, names, n: int = 32, cells: int = 20) -> dict[str, float]:
    """Each proxy's seconds per network built (construction included), timed in one process on
    ``cells`` random cells with an empty cache."""
    dataset = readers.load_named("cifar10", data)
    settings = scorer.ScoreSettings(n=n, seed=0)
    batch = scorer.make_batch(dataset, n, 0, space)
    seconds = {}
    with backends.open_backend(space, "local", "cpu", 1) as backend:
        for name in names:
            with tempfile.TemporaryDirectory() as fresh:
                start, built = time.perf_counter(), 0
                for result in backend.score(space.sample(cells, seed=1), [name], batch, settings,
                                            ScoreCache(fresh)):
                    built += result.networks_built
                seconds[name] = (time.perf_counter() - start) / max(built, 1)
    return seconds


def cached_share(space, data: str, names, n: int = 32, seed: int = 0) -> float:
    """The share of a whole-space scoring (cells × ``names``) already in the score cache."""
    batch, settings = seeded_batch(space, data, n, seed)
    done, _ = scorer.plan(space, range(space.size), list(names), batch, settings, ScoreCache())
    return len(done) / space.size
