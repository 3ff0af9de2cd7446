"""The Ray backend on a real two-node Ray cluster on 127.0.0.1 (token auth on, no dashboard).

One cluster serves the module; the last test kills it on purpose. Real networks, real CIFAR-10
images, a real diskcache on the driver's side.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from knas.data import readers
from knas.scoring import raybackend, raycluster, scorer
from knas.spaces.nb201 import cells as space
from knas.errors import Cancelled
from knas.search import events
from knas.scoring.cache import ScoreCache
from tests.conftest import NB201, REPO
from tests.ray_local_cluster import LocalCluster, descendants, process_table

NAMES = ["params", "synflow"]
SEED = 3
POOL = space.sample(40, seed=11)


@pytest.fixture(scope="module")
def cluster():
    nodes = [{"num_cpus": 1, "resources": {"knas_head": 1}}, {"num_cpus": 1, "resources": {"knas_second": 1}}]
    started = LocalCluster(nodes).start()
    patch = pytest.MonkeyPatch()
    for name, value in started.env().items():
        patch.setenv(name, value)
    yield started
    started.stop()
    patch.undo()
    assert started.leftovers() == [], "Ray processes of the test cluster outlived it"


@pytest.fixture(scope="module")
def batch(shared_data):
    ds = readers.load_named("cifar10", shared_data / "cifar10" / "cifar10_small.npz")
    return scorer.make_batch(ds, 8, SEED, NB201)


SETTINGS = scorer.ScoreSettings(n=8, seed=SEED)


@pytest.fixture(scope="module")
def reference(batch, tmp_path_factory):
    """The local backend's results for POOL: one process, its own cache."""
    cache = ScoreCache(tmp_path_factory.mktemp("local"))
    results = {r.index: r for r in scorer.Scorer(NB201, batch, SETTINGS, cache, "cpu").score_pool(POOL, NAMES)}
    return results, cache


def _listeners(pids) -> list[tuple[str, int, str]]:
    """(local address, pid, process name) of every listening TCP socket owned by ``pids``."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        address = line.split()[3]
        for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            if int(pid) in pids:
                found.append((address.rsplit(":", 1)[0], int(pid), name))
    return found


def _children_of_this_process() -> dict[int, int]:
    """pid -> start time of every live descendant of this test process."""
    table = process_table()
    return {pid: table[pid][2] for pid in descendants([os.getpid()], table) if table[pid][1] != "Z"}


def _still_running(processes: dict[int, int]) -> list[int]:
    table = process_table()
    return [pid for pid, start in processes.items()
            if pid in table and table[pid][2] == start and table[pid][1] != "Z"]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _loopback_only(listeners):
    assert listeners, "found no listening socket to check"
    for address, pid, name in listeners:
        assert address in ("127.0.0.1", "[::ffff:127.0.0.1]"), f"{name} (pid {pid}) listens on {address}"
        assert "dashboard" not in name.lower()


def test_cluster_scores_are_bitwise_the_local_ones(cluster, batch, reference, tmp_path):
    local, local_cache = reference
    cache = ScoreCache(tmp_path)
    results, listeners = [], []
    for result in raybackend.RayBackend(NB201, cluster.address).score(POOL, NAMES, batch, SETTINGS, cache):
        if not listeners:  # while the cluster works: everything of it, and this driver, on loopback
            listeners = _listeners(set(cluster.leftovers()) | {os.getpid()})
        results.append(result)
    _loopback_only(listeners)
    assert sorted(r.index for r in results) == sorted(POOL)
    for result in results:
        assert result.values == local[result.index].values  # exact float equality
    assert sum(r.networks_built for r in results) == sum(r.networks_built for r in local.values())
    assert len(cache) == len(local_cache)  # the driver wrote every value under the same keys
    for index in POOL:
        for name in NAMES:
            key = scorer.cache_key(NB201, name, space.arch_at(index), batch, SETTINGS)
            assert cache.get(key) == local_cache.get(key)
    # A second pass is answered from the cache alone: no cluster is even contacted.
    again = list(raybackend.RayBackend(NB201, "127.0.0.1:1").score(POOL, NAMES, batch, SETTINGS, cache))
    assert sum(r.networks_built for r in again) == 0
    assert {r.index: r.values for r in again} == {i: r.values for i, r in local.items()}


def test_a_search_runs_to_the_end_on_the_cluster(cluster, shared_data, tmp_path):
    """Scoring and fine-stage training as Ray tasks, one session for the job; the results are the
    local backend's (same chosen cells, same scores)."""
    from knas.search.config import SearchConfig
    from knas.search.pipeline import Search

    values = dict(data=str(shared_data / "cifar10" / "cifar10_small.npz"),
                  truth=str(shared_data / "nb201" / "nb201_accuracies.csv"), pool="random:10",
                  proxy="synflow", baselines=("random",), k=2, n=8, fine="train:1",
                  train_samples=64, seed=4)
    on_ray = Search(SearchConfig(**values, backend="ray", ray_address=cluster.address),
                    ScoreCache(tmp_path / "ray"))
    events = list(on_ray.events())
    assert events[-1].kind == "finished"
    assert sum(e.kind == "trained" for e in events) == 4  # k candidates x 2 methods
    local = Search(SearchConfig(**values), ScoreCache(tmp_path / "local"), workers=1)
    local_events = list(local.events())
    assert [(r.method, r.chosen, r.topk) for r in on_ray.results] == \
        [(r.method, r.chosen, r.topk) for r in local.results]
    scores = {e.index: e.values for e in events if e.kind == "scored"}
    assert scores == {e.index: e.values for e in local_events if e.kind == "scored"}
    assert on_ray.results[0].device == "ray"


def test_cli_score_on_ray_writes_the_local_scores(shared_data, tmp_path):
    """The issue's contract: ``score --backend ray`` (a private instance started and stopped with
    the run) and ``--backend local`` write identical CSVs."""
    args = ["score", "--dataset", "cifar10", "--data", str(shared_data / "cifar10" / "cifar10_small.npz"),
            "--pool", "random:30", "--seed", "7", "--proxies", "params,synflow", "--n", "8"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    for backend in ("ray", "local"):
        out = subprocess.run([sys.executable, "-m", "knas", *args, "--backend", backend,
                              "--cache", str(tmp_path / backend), "--out", str(tmp_path / f"{backend}.csv")],
                             cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
        assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_backend_settings_are_checked_before_any_work(shared_data):
    from knas.search.config import ScoreConfig

    base = dict(dataset="cifar10", data=str(shared_data / "cifar10" / "cifar10_small.npz"))
    assert "backend" in ScoreConfig(**base, backend="spark").errors()
    assert "ray_address" in ScoreConfig(**base, ray_address="127.0.0.1:6379").errors()  # local
    assert "ray_address" in ScoreConfig(**base, backend="ray", ray_address="nohost").errors()
    assert ScoreConfig(**base, backend="ray", ray_address="auto").errors() == {}


def test_cluster_info_lists_both_nodes_in_a_child_process(cluster):
    out = subprocess.run([sys.executable, "-m", "knas.scoring.raycluster", "info", "--address", cluster.address],
                         cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ})
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 0 and info["ok"], out.stderr[-2000:]
    assert len(info["nodes"]) == 2 and info["cpus"] == 2 and info["gpus"] == 0
    assert all(node["ip"] == "127.0.0.1" for node in info["nodes"])
    assert sum(node["head"] for node in info["nodes"]) == 1
    assert info["auth"] == "token"


def test_the_cluster_refuses_a_driver_with_a_wrong_token(cluster):
    env = {**os.environ, "RAY_AUTH_TOKEN": "0" * 64}
    out = subprocess.run([sys.executable, "-m", "knas.scoring.raycluster", "info", "--address", cluster.address],
                         cwd=REPO, capture_output=True, text=True, timeout=180, env=env)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 2 and not info["ok"]
    assert f"could not connect to the Ray cluster at {cluster.address}" in info["error"]


def test_cluster_info_says_when_nothing_answers():
    out = subprocess.run([sys.executable, "-m", "knas.scoring.raycluster", "info", "--address", "127.0.0.1:1"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    info = json.loads(out.stdout)
    assert out.returncode == 2 and not info["ok"] and "no Ray cluster answers at 127.0.0.1:1" in info["error"]


def test_a_killed_worker_process_is_retried_and_nothing_is_lost(cluster, batch, reference, tmp_path):
    local, _ = reference
    cells = POOL[:16]
    killed, notices = [], []

    def kill_first_scoring_worker():
        deadline = time.time() + 120
        while not killed and time.time() < deadline:
            for pid in cluster.leftovers():
                if _cmdline(pid).startswith("ray::score_cells"):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_first_scoring_worker, daemon=True)
    killer.start()
    backend = raybackend.RayBackend(NB201, cluster.address, chunk=len(cells))
    results = list(backend.score(cells, NAMES, batch, SETTINGS, ScoreCache(tmp_path),
                                 on_retry=notices.append))
    killer.join(5)
    assert killed, "no worker was seen running the scoring task"
    assert len(notices) == 1
    assert notices[0].attempt == 2 and notices[0].limit == 4 and sorted(notices[0].cells) == sorted(cells)
    assert "WorkerCrashedError" in notices[0].reason
    assert events.Retry.of(notices[0], "mgm", 0).to_dict()["kind"] == "retry"
    assert sorted(r.index for r in results) == sorted(cells)
    assert all(r.values == local[r.index].values for r in results)


def test_cancel_stops_outstanding_tasks_and_a_rerun_resumes(cluster, batch, reference, tmp_path):
    """The driver stays connected (as a job holding one session would), so only the cancel can stop
    the tasks that were still queued or running."""
    local, _ = reference
    cache = ScoreCache(tmp_path)
    stop = threading.Event()
    received = []

    def scoring_workers():
        return [p for p in cluster.leftovers() if _cmdline(p).startswith("ray::score_cells")]

    with raycluster.session(cluster.address):
        with pytest.raises(Cancelled):
            for result in raybackend.RayBackend(NB201, cluster.address).score(
                    POOL, NAMES, batch, SETTINGS, cache, should_stop=stop.is_set):
                received.append(result)
                stop.set()
        table = process_table()  # a force-cancel kills these; a finished task would leave them idle
        busy = {pid: table[pid][2] for pid in scoring_workers() if pid in table}
        deadline = time.time() + 30  # generous: under load a killed worker takes seconds to go
        while time.time() < deadline and (scoring_workers() or _still_running(busy)):
            time.sleep(0.1)
        assert scoring_workers() == [], "scoring tasks still ran 30 s after the cancel"
        assert _still_running(busy) == [], "the cancelled tasks' workers were not killed"
        assert 0 < len(received) < len(POOL)
        for result in received:  # what was received is in the cache; nothing half-written
            for name in NAMES:
                assert cache.get(scorer.cache_key(NB201, name, space.arch_at(result.index), batch, SETTINGS)) is not None
        resumed = list(raybackend.RayBackend(NB201, cluster.address).score(POOL, NAMES, batch, SETTINGS, cache))
    assert sorted(r.index for r in resumed) == sorted(POOL)
    assert all(r.values == local[r.index].values for r in resumed)
    assert all(r.networks_built == 0 for r in resumed if r.index in {x.index for x in received})


def test_a_private_instance_binds_to_loopback_and_goes_away(batch, reference, tmp_path):
    local, _ = reference
    cells = POOL[:8]
    before = _children_of_this_process()
    instance, commands, listeners, results = {}, [], [], []
    for result in raybackend.RayBackend(NB201, workers=2).score(cells, NAMES, batch, SETTINGS, ScoreCache(tmp_path)):
        if not listeners:
            instance = {p: s for p, s in _children_of_this_process().items() if p not in before}
            commands = [_cmdline(p) for p in instance]
            listeners = _listeners(set(instance) | {os.getpid()})
        results.append(result)
    _loopback_only(listeners)
    assert any(name == "gcs_server" for _, _, name in listeners)  # it was our own instance
    assert any(command.startswith("ray::") for command in commands)  # workers and agents are tracked too
    assert all(r.values == local[r.index].values for r in results)
    deadline = time.time() + 30
    while time.time() < deadline and _still_running(instance):
        time.sleep(0.5)
    left = [(p, _cmdline(p)[:60]) for p in _still_running(instance)]
    assert left == [], "the private Ray instance left processes behind"


def test_zz_a_cluster_that_goes_away_raises_a_clear_error(cluster, batch, tmp_path):
    """Runs last in this module: it kills the shared cluster."""
    with pytest.raises(raycluster.ClusterLost, match="stopped answering"):
        for _ in raybackend.RayBackend(NB201, cluster.address).score(
                POOL, NAMES, batch, SETTINGS, ScoreCache(tmp_path)):
            cluster.kill()
    assert cluster.leftovers() == []
