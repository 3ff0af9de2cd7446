"""Background jobs with real worker processes, a real job store and a real score cache."""
import os
import signal
import subprocess
import sys
import time

import pytest

from knas import jobs
from knas.scoring import scorer
from knas.spaces.nb201 import cells as space
from knas.scoring.cache import ScoreCache
from knas.search.config import SearchConfig
from tests.conftest import NB201, REPO
from tests.conftest import wait_for_job as _wait


@pytest.fixture
def env(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path))  # job store and score cache, inherited by workers
    return {"data": str(shared_data / "cifar10" / "cifar10_small.npz"),
            "truth": str(shared_data / "nb201" / "nb201_accuracies.csv"), "root": tmp_path}


def _config(env, **changes):
    values = dict(data=env["data"], truth=env["truth"], pool="random:16", proxy="params", k=3, n=4,
                  fine="lookup:cifar10_valid")
    values.update(changes)
    return SearchConfig(**values)


def _done(state):
    return not state.status.is_active


def test_job_runs_to_the_end_and_keeps_its_events(env):
    store = jobs.JobStore()
    job_id = jobs.start(_config(env), store)
    state = _wait(store, job_id, _done)
    assert state.status == "finished", state
    events = store.events(job_id)
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[0].kind == "started" and events[-1].kind == "finished"
    assert sum(e.kind == "scored" for e in events) == 16
    assert state.summary[0]["method"] == "params"
    assert store.events(job_id, since=len(events) - 1)[0].kind == "finished"


def test_duplicate_start_attaches_to_the_same_job(env):
    store = jobs.JobStore()
    config = _config(env, proxy="mgm", pool="random:40")
    first = jobs.start(config, store)
    pid = store.state(first).pid
    second = jobs.start(config, store)  # a second tab, a double click
    assert second == first == config.key()
    assert store.state(first).pid == pid and store.state(first).attempts == 1
    _wait(store, first, _done)
    assert jobs.start(config, store) == first  # a finished job is not run again
    assert store.state(first).attempts == 1


def test_cancel_stops_within_seconds_and_keeps_scores(env):
    store = jobs.JobStore()
    config = _config(env, proxy="mgm", pool="random:400", n=8)
    job_id = jobs.start(config, store)
    _wait(store, job_id, lambda s: s.progress.get("done", 0) >= 5)
    asked = time.time()
    jobs.cancel(job_id, store)
    state = _wait(store, job_id, _done, timeout=30)
    assert state.status == "cancelled"
    assert time.time() - asked < 15
    assert len(ScoreCache()) >= 5  # finished scores stay in the cache


def _cached_mgm_cells(config, data_path):
    """How many distinct cells of the pool have an MGM score in the cache."""
    from knas.data import readers

    batch = scorer.make_batch(readers.load_named("cifar10", data_path), config.n, config.seed, NB201)
    settings = scorer.ScoreSettings(n=config.n, seed=config.seed)
    cache = ScoreCache()
    keys = {scorer.cache_key(NB201, "mgm", space.arch_at(i), batch, settings)
            for i in config.pools()[0]}
    return sum(key in cache for key in keys), len(keys)


def test_killed_worker_is_marked_failed_and_resume_redoes_only_missing_work(env):
    store = jobs.JobStore()
    config = _config(env, proxy="mgm", pool="random:120", n=8)
    job_id = jobs.start(config, store)
    state = _wait(store, job_id, lambda s: s.progress.get("done", 0) >= 10)
    os.killpg(state.pid, signal.SIGKILL)  # the worker and its scoring processes, like the OOM killer
    state = _wait(store, job_id, _done, timeout=30)
    assert state.status == "failed" and "ended without finishing" in state.error
    cached, unique = _cached_mgm_cells(config, env["data"])
    assert 0 < cached < unique
    assert jobs.start(config, store) == job_id  # starting again resumes
    state = _wait(store, job_id, _done)
    assert state.status == "finished" and state.attempts == 2
    rebuilt = sum(e.built for e in store.events(job_id) if e.kind == "scored")
    assert rebuilt == unique - cached  # only the missing cells were computed


def test_job_outlives_the_process_that_started_it(env):
    config = _config(env, pool="random:20", seed=5)
    code = ("import sys; from knas import jobs; from knas.search.config import SearchConfig; "
            "print(jobs.start(SearchConfig.from_dict(eval(sys.argv[1]))))")
    starter = subprocess.run([sys.executable, "-c", code, repr(config.to_dict())], cwd=REPO,
                             capture_output=True, text=True, timeout=60, env=os.environ)
    assert starter.returncode == 0, starter.stderr
    job_id = starter.stdout.strip()
    assert job_id == config.key()
    state = _wait(jobs.JobStore(), job_id, _done)
    assert state.status == "finished"


def test_failure_reason_is_recorded(env, tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip file at all")
    store = jobs.JobStore()
    job_id = jobs.start(_config(env, data=str(bad)), store)
    state = _wait(store, job_id, _done)
    assert state.status == "failed" and "broken.npz" in state.error


def test_jobs_cli_lists_states(env):
    store = jobs.JobStore()
    job_id = jobs.start(_config(env, pool="random:8", k=2), store)
    _wait(store, job_id, _done)
    out = subprocess.run([sys.executable, "-m", "knas", "jobs"], cwd=REPO, capture_output=True,
                         text=True, env=os.environ)
    assert out.returncode == 0 and job_id in out.stdout and "finished" in out.stdout


def test_unknown_job_has_a_clear_error(env):
    with pytest.raises(jobs.JobError, match="no job 'nope'"):
        jobs.JobStore().state("nope")


def test_clear_is_refused_without_the_word_and_while_a_job_runs(runtime, shared_data):
    cache = ScoreCache()
    cache.set("v1|mgm|a|b|x", 1.0)
    store = jobs.JobStore()
    with pytest.raises(jobs.JobError, match="type CLEAR"):
        jobs.clear_score_cache("", store=store, cache=cache)
    with pytest.raises(jobs.JobError, match="type CLEAR"):
        jobs.clear_score_cache("clear", store=store, cache=cache)
    job_id, _ = store.claim(SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz")))
    assert store.active_ids() == [job_id]
    with pytest.raises(jobs.JobError, match="queued or running"):
        jobs.clear_score_cache("CLEAR", store=store, cache=cache)
    assert len(cache) == 1
    store.update(job_id, status="cancelled")
    assert jobs.clear_score_cache("CLEAR", store=store, cache=cache) == 1
    assert len(cache) == 0
