"""The command line never prints a traceback for bad input: every case answers `error: ...` with
exit status 2 before any work. Run through ``knas.__main__.main`` (the code `python -m knas`
runs), and as a real process where the case is about the process (a closed pipe)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from knas import jobs
from tests.conftest import REPO, cli_error


@pytest.fixture
def env(cli_env):
    return cli_env


_error = cli_error


def _score(env, *extra, out=None):
    return ["score", "--dataset", "cifar10", "--data", env["data"], "--pool", "random:40",
            "--n", "4", "--workers", "1", "--cache", str(env["tmp"] / "scores"),
            "--out", str(out or env["tmp"] / "scores.csv"), *extra]


@pytest.mark.parametrize("extra, message", [
    (["--n", "0"], "at least 2 samples"), (["--n", "-3"], "at least 2 samples"),
    (["--n", "1"], "at least 2 samples"), (["--seed", "-1"], "a seed is 0 or a positive"),
    (["--params", "first:0:5"], "bad parameter selection"),
    (["--params", "garbage"], "bad parameter selection"), (["--workers", "-2"], "--workers -2"),
])
def test_score_rejects_bad_numbers_and_specs(env, capsys, extra, message):
    assert message in _error(capsys, _score(env, *extra))
    assert not (env["tmp"] / "scores").exists()  # nothing was scored


@pytest.mark.parametrize("where, message", [
    ("missing/scores.csv", "does not exist"), ("/proc/scores.csv", "cannot be written"),
    (".", "is a folder")])
def test_score_checks_its_output_before_any_work(env, capsys, where, message):
    out = where if where.startswith("/") else env["tmp"] / where
    assert message in _error(capsys, _score(env, out=out))
    assert not (env["tmp"] / "scores").exists()  # no network was built or cached


def test_images_smaller_than_the_network_takes_are_refused(env, capsys):
    tiny = env["tmp"] / "tiny.npz"
    np.savez(tiny, x=np.zeros((20, 4, 4, 3), np.uint8), y=np.arange(20) % 10)
    argv = _score(env)
    argv[argv.index(env["data"])] = str(tiny)
    assert "images of 4×4 pixels cannot be scored" in _error(capsys, argv)


def test_an_empty_parameter_selection_is_an_error_never_a_cached_zero(env, capsys):
    message = _error(capsys, _score(env, "--params", "first:3:10000000", "--proxies", "mgm"))
    assert "selects no weights" in message
    from knas.scoring.cache import ScoreCache

    assert len(ScoreCache(env["tmp"] / "scores")) == 0


def test_export_of_a_bad_cell_or_path(env, capsys):
    assert "--arch ²: give a benchmark index" in _error(capsys, ["export", "--arch", "²"])
    assert "--arch ²" in _error(capsys, ["gram", "--arch", "²", "--data", env["data"]])
    assert "out of range" in _error(capsys, ["export", "--arch", "99999"])
    assert "cannot be written" in _error(capsys, ["export", "--arch", "5", "--out", "/proc/cell.py"])


@pytest.mark.parametrize("content, message", [
    (bytes(range(256)) * 20, "not a CSV file"),
    (b"index,arch_str,mgm\n1,,abc\n2,,def\n", "column(s) mgm hold text"),
    (b"index,arch_str,mgm\n99999,,1.0\n", "row 1: index 99999 is not an integer in 0..15624"),
])
def test_correlate_on_a_bad_scores_file(env, capsys, content, message):
    scores = env["tmp"] / "scores.csv"
    scores.write_bytes(content)
    line = _error(capsys, ["correlate", str(scores), "--truth", env["truth"]])
    assert message in line and "np.int64" not in line


def test_cancel_of_an_unknown_job_writes_nothing(env, capsys):
    assert "no job 'nosuchjob'" in _error(capsys, ["jobs", "--cancel", "nosuchjob"])
    store = jobs.JobStore()
    assert store.ids() == [] and store.db.get("nosuchjob:cancel") is None


def test_a_store_that_cannot_be_made_is_one_error_line(env, capsys):
    blocker = env["tmp"] / "a-file"
    blocker.write_text("x")
    assert "job store" in _error(capsys, ["jobs", "--jobs", str(blocker / "jobs")])


def test_a_closed_pipe_is_not_a_traceback(env, shared_data):
    from knas.search.config import SearchConfig

    jobs.JobStore().claim(SearchConfig(data=env["data"], pool="random:8", k=2))
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written, as with `| head -1`
    try:
        out = subprocess.run([sys.executable, "-m", "knas", "jobs"], cwd=REPO, stdout=write,
                             stderr=subprocess.PIPE, text=True, timeout=120, env=os.environ,
                             check=False)
    finally:
        os.close(write)
    assert out.stderr == "" and out.returncode == 141, (out.returncode, out.stderr)
