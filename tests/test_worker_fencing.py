"""Never two workers for one job, and no scoring process outlives its parent: real worker
processes frozen with SIGSTOP, real process pools, a real job store."""
import collections
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knas import jobs
from knas.search.config import SearchConfig
from knas.search.events import JobStatus, Started
from tests.conftest import REPO
from tests.conftest import wait_for_job as _wait

STALE = 8  # seconds without a heartbeat before a worker counts as dead, for these tests


@pytest.fixture
def env(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("KNAS_STALE_SECONDS", str(STALE))  # inherited by the workers
    return {"data": str(shared_data / "cifar10" / "cifar10_small.npz"),
            "truth": str(shared_data / "nb201" / "nb201_accuracies.csv")}


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _resume(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def test_a_frozen_worker_never_runs_beside_its_replacement(env):
    store = jobs.JobStore()
    config = SearchConfig(data=env["data"], truth=env["truth"], pool="random:60", proxy="mgm",
                          k=3, n=8, fine="lookup:cifar10_valid", seed=3)
    job_id = jobs.start(config, store)
    state = _wait(store, job_id, lambda s: s.progress.get("done", 0) >= 3
                  or not s.status.is_active)
    assert state.status == "running", state
    old = state.pid
    os.killpg(old, signal.SIGSTOP)  # the worker and its scoring processes freeze
    try:
        state = _wait(store, job_id, lambda s: s.status == JobStatus.FAILED, timeout=STALE * 5)
        assert "no heartbeat" in state.error and not _alive(old)  # its group was killed
        assert jobs.start(config, store) == job_id  # relaunch
        new = _wait(store, job_id, lambda s: s.pid not in (None, old)).pid
    finally:
        _resume(old)  # wake the old worker, if it still exists
    state = _wait(store, job_id)
    assert state.status == "finished" and state.attempts == 2, state
    events = store.events(job_id)
    kinds = collections.Counter(e.kind for e in events)
    assert kinds["finished"] == 1 and kinds["started"] == 1
    scored = [(e.method, e.repeat, e.index) for e in events if e.kind == "scored"]
    assert len(scored) == len(set(scored)) == 60
    assert [e.seq for e in events] == list(range(len(events)))
    assert not _alive(old) and new != old


# A worker frozen in the middle of a write: it holds the job store's lock while it is stopped.
_FROZEN_MID_WRITE = """
import os, sys, time
from pathlib import Path
from knas import jobs
directory, job_id, flag = sys.argv[1], sys.argv[3], Path(sys.argv[4])
store = jobs.JobStore(directory)
while store.state(job_id).pid != os.getpid():
    time.sleep(0.05)
with store.db.transact():
    flag.write_text("locked")
    time.sleep(600)
"""


def test_a_worker_frozen_holding_the_store_lock_is_ended_not_waited_for(runtime, shared_data):
    store = jobs.JobStore(runtime / "jobs")
    config = SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz"), pool="random:8",
                          proxy="params", k=2, n=4, fine="train:1")
    job_id, _ = store.claim(config)
    flag = runtime / "locked"
    worker = subprocess.Popen([sys.executable, "-c", _FROZEN_MID_WRITE, str(runtime / "jobs"),
                               "job-worker", job_id, str(flag)], cwd=REPO, start_new_session=True)
    try:
        store.update(job_id, status=JobStatus.RUNNING, pid=worker.pid,
                     heartbeat=time.time() - 10 * STALE)
        deadline = time.time() + 60
        while not flag.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert flag.exists(), "the stand-in worker never took the lock"
        state = store.fail_stale(job_id)  # would wait on the lock, then fail, if not ended first
        assert state.status == JobStatus.FAILED and "no heartbeat" in state.error
        assert not _alive(worker.pid)  # killed (and reaped: it is this test's child)
        assert store.state(job_id).owner is None
    finally:
        if worker.poll() is None:
            worker.kill()


def test_a_worker_that_lost_its_job_writes_nothing(runtime, shared_data):
    store = jobs.JobStore()
    config = SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz"), pool="random:8",
                          proxy="params", k=2, n=4, fine="train:1")
    job_id, owner = store.claim(config)
    store.update(job_id, owner="a-newer-attempt")  # the job was started again meanwhile
    before = store.state(job_id)
    assert jobs.run_worker(job_id, store, owner=owner) is None
    after = store.state(job_id)
    assert after.events == 0 and store.events(job_id) == []
    assert dataclasses.replace(after, updated=0) == dataclasses.replace(before, updated=0)
    with pytest.raises(jobs.Fenced):
        store.append(job_id, Started(), owner)


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmdline:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the pool processes")
def test_scoring_processes_end_when_their_parent_is_killed(shared_data, tmp_path):
    command = [sys.executable, "-m", "knas", "score", "--dataset", "cifar10",
               "--data", str(shared_data / "cifar10" / "cifar10_small.npz"), "--pool", "random:400",
               "--proxies", "mgm", "--n", "32", "--workers", "2", "--cache", str(tmp_path / "scores"),
               "--out", str(tmp_path / "scores.csv")]
    parent = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    children = []
    try:
        deadline = time.time() + 120
        while len(_children(parent.pid)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        children = _children(parent.pid)
        assert len(children) == 2, "the pool never started"
        time.sleep(3)  # they are scoring now
        parent.kill()  # the parent alone, as the out-of-memory killer would
        parent.wait()
        deadline = time.time() + 10
        while any(map(_alive, children)) and time.time() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, children)), "scoring processes outlived their parent"
    finally:
        for pid in [parent.pid, *children]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
