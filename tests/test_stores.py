"""Damaged, full and planted stores, and a broken settings file: real SQLite files damaged on disk,
the real CLI in a subprocess and the real pages (AppTest)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from knas import jobs, stores
from knas.ui import settings
from knas.scoring.cache import ScoreCache
from tests.conftest import REPO, finished_job

DAMAGE = {
    "truncated": lambda data: data[: len(data) // 3],
    "overwritten": lambda data: b"this is not a database\n" * 40,
    "zero bytes": lambda data: b"",
}


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "knas", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=os.environ, check=False)


def _damage(db: Path, how: str) -> bytes:
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = DAMAGE[how](db.read_bytes())
    db.write_bytes(data)
    return data


def _job_store_with_a_job(shared_data, truth) -> str:
    store = jobs.JobStore()
    job_id, _, _ = finished_job(store, shared_data, truth)
    store.db.close()
    return job_id


def _moved(directory: Path) -> list[Path]:
    return [p for p in directory.glob("cache.db.damaged-*")
            if not p.name.endswith(("-wal", "-shm", ".txt"))]


@pytest.mark.parametrize("how", list(DAMAGE))
def test_damaged_job_store_is_moved_aside_and_the_cli_keeps_working(how, runtime, shared_data,
                                                                     truth):
    job_id = _job_store_with_a_job(shared_data, truth)
    db = runtime / "cache" / "jobs" / "cache.db"
    damaged = _damage(db, how)
    out = _cli("jobs")
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "moved" in out.stderr and "job store" in out.stderr
    assert job_id not in out.stdout  # a fresh store: no jobs
    moved = _moved(db.parent)
    assert len(moved) == 1 and moved[0].read_bytes() == damaged  # kept, never deleted
    notices = stores.notices()
    assert len(notices) == 1 and str(moved[0]) in notices[0]
    assert _cli("jobs").stderr == ""  # the fresh store is fine: nothing more is moved
    assert len(_moved(db.parent)) == 1


def test_pages_show_a_banner_and_keep_working_with_damaged_stores(with_data, shared_data, truth):
    _job_store_with_a_job(shared_data, truth)
    cache = ScoreCache()
    cache.set("v1|mgm|a|b|x", 1.0)
    cache.close()
    root = Path(os.environ["KNAS_CACHE_DIR"])
    _damage(root / "jobs" / "cache.db", "overwritten")
    _damage(root / "scores" / "cache.db", "truncated")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    # Home and Live open the job store, Explorer and Data the score cache too
    for page in ("pages/home.py", "pages/live.py", "pages/explorer.py", "pages/data.py", "pages/home.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        warnings = " ".join(w.value for w in at.warning)
        assert "job store was damaged" in warnings, page
    assert "score cache was damaged" in warnings
    assert len(_moved(root / "jobs")) == 1 and len(_moved(root / "scores")) == 1


def test_a_planted_pickle_never_runs(runtime, tmp_path):
    import diskcache

    witness = tmp_path / "pwned"

    class Planted:
        def __reduce__(self):
            return (os.system, (f"touch {witness}",))

    folder = runtime / "cache" / "jobs"
    raw = diskcache.Cache(str(folder))  # diskcache's default, pickling disk: an old version
    raw.set("jobs", Planted())
    raw.close()
    out = _cli("jobs")
    assert out.returncode == 0 and "pickled" in out.stderr, out.stderr
    assert not witness.exists()
    assert [p.name.split("-")[0] for p in folder.glob("cache.db.pickled-*")
            if not p.name.endswith(".txt")] == ["cache.db.pickled"]
    # and planted into a store already in use, it is refused when read
    store = jobs.JobStore()
    raw = diskcache.Cache(str(folder))
    raw.set("jobs", Planted())
    raw.close()
    with pytest.raises(stores.StoreError, match="pickled"):
        store.ids()
    assert not witness.exists()


def test_stored_values_round_trip_as_json(runtime):
    from knas.search.events import EventKind, JobState, JobStatus, Scored

    store = stores.open_store(runtime / "s", "test store")
    value = {**JobState(status=JobStatus.FINISHED).to_dict(), **Scored(values={"grasp": -float("inf")}).to_dict(),
             "nan": float("nan"), "indices": [3, 1], "nested": [{"a": None, "b": True}]}
    store.set("k", value)
    store.set("score", 0.125)
    back = store.get("k")
    assert back["status"] == "finished" and back["kind"] == EventKind.SCORED
    assert back["values"]["grasp"] == -float("inf") and back["nan"] != back["nan"]
    assert back["indices"] == [3, 1] and back["nested"] == [{"a": None, "b": True}]
    assert store.get("score") == 0.125
    assert not list((runtime / "s").rglob("*.val"))  # nothing as a pickle file either


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, check=False).returncode == 0


def _scores(folder: Path) -> dict:
    store = stores.open_store(folder, "score cache")
    try:
        return {key: store.get(key) for key in store.iterkeys()}
    finally:
        store.close()


def test_a_full_disk_gives_one_clear_error_and_keeps_the_scores(shared_data, tmp_path, monkeypatch):
    root = tmp_path / "small"
    if not _tmpfs(root, "1m"):
        pytest.skip("needs root to mount a 1 MB tmpfs")
    try:
        monkeypatch.setenv("KNAS_CACHE_DIR", str(root))
        data = str(shared_data / "cifar10" / "cifar10_small.npz")
        score = ["score", "--dataset", "cifar10", "--data", data, "--proxies", "params", "--n", "4",
                 "--workers", "1"]
        first = _cli(*score, "--pool", "range:0:30", "--out", str(tmp_path / "first.csv"))
        assert first.returncode == 0, first.stderr
        before = _scores(root / "scores")
        filler = root / "filler"
        with open(filler, "wb") as f:  # fill the disk to the last byte
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        full = _cli(*score, "--pool", "range:100:400", "--out", str(tmp_path / "second.csv"))
        assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr
        errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "no space left" in errors[0], full.stderr
        filler.unlink()
        after = _scores(root / "scores")
        assert len(before) == 30 and {k: after[k] for k in before} == before
    finally:
        subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)


BAD_SETTINGS = {
    "not json": "{ this is not json",
    "a list": json.dumps([1, 2]),
    "wrong types": json.dumps({"truth": 5, "table12": ["x"], "datasets": {"cifar10": 3, "x": "y"}}),
    "datasets as text": json.dumps({"datasets": "cifar10"}),
}


@pytest.mark.parametrize("text", list(BAD_SETTINGS.values()), ids=list(BAD_SETTINGS))
def test_a_broken_settings_file_is_ignored_with_a_reason(text, isolated):
    settings.path().parent.mkdir(parents=True, exist_ok=True)
    settings.path().write_text(text)
    loaded = settings.load()
    assert loaded.truth == "" and loaded.table12 == "" and loaded.datasets == {}
    assert loaded.problems and all(str(settings.path()) in p for p in loaded.problems)


def test_pages_warn_about_wrongly_typed_settings_and_keep_working(isolated):
    settings.path().parent.mkdir(parents=True, exist_ok=True)
    settings.path().write_text(BAD_SETTINGS["wrong types"])
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    for page in ("pages/home.py", "pages/data.py", "pages/explorer.py", "pages/new_search.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert any("Settings file" in w.value and "truth must be a path" in w.value
                   for w in at.warning), page
