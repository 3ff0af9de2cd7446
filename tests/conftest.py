import os
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from knas import spaces

REPO = Path(__file__).resolve().parent.parent

try:  # one torch thread, as every scoring process uses: small networks parallelise poorly, and
    import torch  # on a shared 2-core machine extra threads only fight each other

    torch.set_num_threads(1)
except ImportError:
    pass
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
NB201 = spaces.get("nb201")  # the default space, as an object (the tests hand it in)
CELL_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real test data; skipped when absent unless KNAS_REQUIRE_SHARED=1 (CI)."""
    root = Path(os.environ.get("KNAS_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (root / "nb201").is_dir() or not (root / "cifar10").is_dir():
        if os.environ.get("KNAS_REQUIRE_SHARED") == "1":
            pytest.fail(f"shared test data not found at {root} (KNAS_REQUIRE_SHARED=1)")
        pytest.skip(f"shared test data not found at {root}")
    return root


@pytest.fixture(scope="session")
def cifar10_arrays(shared_data) -> dict:
    """The shared CIFAR-10 subset as plain arrays (5000 train, 1000 test images)."""
    path = shared_data / "cifar10" / "cifar10_small.npz"
    if not path.is_file():
        if os.environ.get("KNAS_REQUIRE_SHARED") == "1":
            pytest.fail(f"shared data file missing: {path}")
        pytest.skip(f"shared data file missing: {path}")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="session")
def text_root(shared_data):
    root = shared_data / "text"
    if not (root / "trec").is_dir():
        if os.environ.get("KNAS_REQUIRE_SHARED") == "1":
            pytest.fail(f"text data not found at {root} (KNAS_REQUIRE_SHARED=1)")
        pytest.skip(f"text data not found at {root}")
    return root


@pytest.fixture(scope="session")
def cifar16(shared_data):
    """16 real CIFAR-10 images of the shared subset as (x, y) tensors, the same in every test."""
    from knas.data import readers, samples

    ds = readers.load("npz", shared_data / "cifar10" / "cifar10_small.npz")
    return samples.to_tensors(ds, samples.subset(ds, 16, seed=0))


def seeded_net(arch, seed=0, **kw):
    """The benchmark network of ``arch`` with weights drawn right after ``torch.manual_seed``."""
    import torch

    from knas.spaces.nb201 import nets

    torch.manual_seed(seed)
    return nets.build(arch, **kw)


def wait_for_job(store, job_id, until=None, timeout=240):
    """Poll a job's state until ``until(state)`` holds (default: the job has ended)."""
    import time

    until = until or (lambda state: not state.status.is_active)
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = store.fail_stale(job_id)
        if until(state):
            return state
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} never reached the state; last: {store.state(job_id)}")


@pytest.fixture(scope="session")
def truth(shared_data) -> pd.DataFrame:
    from knas.data import benchmark

    return benchmark.load_table(shared_data / "nb201" / "nb201_accuracies.csv")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache root and an empty data folder: a fresh machine."""
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path / "cache"))
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv("KNAS_DATA_DIR", str(empty))
    return tmp_path


@pytest.fixture
def with_data(isolated, shared_data):
    """A fresh machine whose settings point at the shared CIFAR-10 subset and tables."""
    from knas.ui import settings

    saved = settings.AppSettings(
        datasets={"cifar10": str(shared_data / "cifar10" / "cifar10_small.npz")},
        truth=str(shared_data / "nb201" / "nb201_accuracies.csv"),
        table12=str(shared_data / "nb201" / "nb201_12epoch.csv"))
    settings.save(saved)
    return saved


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """Every runtime file (scores, jobs, settings) under tmp_path."""
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


# --- a finished job made of real numbers, without running torch ----------------------------------


def search_events(config, truth: pd.DataFrame) -> list:
    """The events ``Search.events()`` yields for ``config`` with the ``params``/``flops`` proxies
    (whose scores are closed-form counts) and a lookup fine stage: the real event records, the
    real pool, scores and accuracies, but no network built."""
    from knas.data import benchmark
    from knas.search.events import Finished, MethodDone, MethodResult, Scored, Started, TopK
    from knas.search.pipeline import summarise
    from knas.search.specs import RANDOM, Method
    from knas.spaces.nb201 import cells as space
    from knas.spaces.nb201 import costs

    fine_column = config.fine.split(":", 1)[1]
    best = dict(zip(("index", "value"), benchmark.best(truth, config.report_column)),
                column=config.report_column)
    events = [Started(methods=tuple(config.methods), repeats=config.repeats,
                      pool_size=len(config.pools()[0]), k=config.k, best_possible=best)]
    results = []
    for repeat in range(config.repeats):
        seed = config.seed + repeat
        pool = config.pools()[repeat]
        for method in config.methods:
            if method == RANDOM:
                topk, scored = random.Random(seed).sample(pool, config.k), 0
            else:
                members = Method.parse(method).members
                values = {}
                for done, index in enumerate(pool, start=1):
                    arch = space.arch_at(index)
                    values[index] = {m: float(costs.count_params(arch) if m == "params"
                                              else costs.count_flops(arch)) for m in members}
                    events.append(Scored(method=method, repeat=repeat, index=index,
                                         values=values[index], built=1, done=done,
                                         total=len(pool), rate=10.0))
                topk = sorted(values, key=lambda i: (-values[i][members[0]], i))[:config.k]
                scored = len(pool)
            events.append(TopK(method=method, repeat=repeat, indices=topk, final=True))
            chosen = max(topk, key=lambda i: (truth.at[i, fine_column], -i))
            result = MethodResult(method=method, repeat=repeat, seed=seed, chosen=chosen,
                                  arch_str=space.to_str(space.arch_at(chosen)),
                                  test_accuracy=float(truth.at[chosen, config.report_column]),
                                  fine_score=float(truth.at[chosen, fine_column]), topk=topk,
                                  coarse_seconds=0.5, fine_seconds=0.01, networks_scored=scored,
                                  networks_trained=0)
            results.append(result)
            events.append(MethodDone(result=result))
    events.append(Finished(summary=summarise(results), seconds=1.0))
    return events


def finished_job(store, shared_data, truth: pd.DataFrame, **changes):
    """Put a finished job (``search_events``) into ``store``; returns (id, config, events)."""
    from knas.search.config import SearchConfig
    from knas.search.specs import RANDOM

    values = dict(data=str(shared_data / "cifar10" / "cifar10_small.npz"),
                  truth=str(shared_data / "nb201" / "nb201_accuracies.csv"), pool="random:12",
                  proxy="ensemble:params+flops", baselines=("params", RANDOM), k=3, n=4,
                  fine="lookup:cifar10_valid", repeats=2)
    values.update(changes)
    config = SearchConfig(**values)
    events = search_events(config, truth)
    job_id, _ = store.claim(config)
    for event in events:
        store.append(job_id, event)
    store.update(job_id, status="finished", summary=events[-1].summary, started=time.time() - 5,
                 finished=time.time())
    return job_id, config, events


# --- the command line, as a user runs it ---------------------------------------------------------


@pytest.fixture
def cli_env(shared_data, runtime):
    """The shared CIFAR-10 subset and truth table, and a runtime folder, for CLI runs."""
    return {"data": str(shared_data / "cifar10" / "cifar10_small.npz"),
            "truth": str(shared_data / "nb201" / "nb201_accuracies.csv"), "tmp": runtime}


def cli_error(capsys, argv) -> str:
    """Run the CLI; it must exit 2 with exactly one `error:` line and no traceback."""
    from knas.__main__ import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]

