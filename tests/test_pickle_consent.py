"""Unpickling only after consent: a planted official-format .pth (its pickle runs a command) given
as the ground truth through every entry point that is not the Data page's trust prompt or the
explicit `check` command; and error messages that never quote a file that is not a table."""
import os
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from knas.data import benchmark
from knas import jobs
from knas.search.config import SearchConfig
from knas.search.events import JobStatus
from tests.conftest import REPO

NOT_CONVERTED = "has not been converted"


@pytest.fixture
def planted(tmp_path):
    """A .pth whose unpickling creates ``witness``."""
    torch = pytest.importorskip("torch")
    witness = tmp_path / "the-pickle-ran"

    class Planted:
        def __reduce__(self):
            return (os.system, (f"touch {witness}",))

    path = tmp_path / "NAS-Bench-201-planted.pth"
    torch.save({"meta_archs": Planted()}, path)
    return path, witness


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "knas", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=os.environ, check=False)


def test_the_new_search_form_refuses_an_unconverted_pth(with_data, planted):
    path, witness = planted
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page("pages/new_search.py").run()
    at.text_input(key="ns_truth_nb201").set_value(str(path)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(NOT_CONVERTED in e.value.replace("\\", "") and "Data page" in e.value
               for e in at.error)
    assert at.button(key="ns_start").disabled
    assert not witness.exists()


def test_the_live_page_and_the_worker_never_convert(with_data, shared_data, planted):
    path, witness = planted
    store = jobs.JobStore()
    config = SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz"), truth=str(path),
                          pool="random:8", proxy="params", k=2, n=4,
                          fine=f"lookup:{shared_data / 'nb201' / 'nb201_12epoch.csv'}:cifar10_test_12ep")
    job_id, _ = store.claim(config)  # as a job stored before this check existed would be
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.query_params["job"] = job_id
    at.switch_page("pages/live.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(NOT_CONVERTED in w.value.replace("\\", "") for w in at.warning)
    assert not witness.exists()
    assert jobs.run_worker(job_id, store) == JobStatus.FAILED
    state = store.state(job_id)
    assert NOT_CONVERTED in state.error and "python -m knas check" in state.error
    assert not witness.exists()


def test_validation_and_the_cli_refuse_without_converting(shared_data, planted, runtime):
    path, witness = planted
    data = str(shared_data / "cifar10" / "cifar10_small.npz")
    errors = SearchConfig(data=data, truth=str(path), pool="random:8", k=2).errors()
    assert NOT_CONVERTED in errors["truth"]
    with pytest.raises(benchmark.BenchmarkError, match=NOT_CONVERTED):
        benchmark.load_table(path)
    scores = runtime / "scores.csv"
    scores.write_text("index,arch_str,params\n1,,1.0\n2,,2.0\n")
    for args in (["search", "--data", data, "--truth", str(path), "--pool", "random:8", "--k", "2"],
                 ["correlate", str(scores), "--truth", str(path)]):
        out = _cli(*args)
        assert out.returncode == 2 and NOT_CONVERTED in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    assert not witness.exists()


SECRET = "TOPSECRET-first-line:do-not-show"


def test_error_messages_never_quote_a_file_that_is_not_a_table(with_data, shared_data, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(f"{SECRET}\nroot:x:0:0\n")
    data = str(shared_data / "cifar10" / "cifar10_small.npz")
    with pytest.raises(benchmark.BenchmarkError) as info:
        benchmark.load_table(secret)
    assert SECRET not in str(info.value) and "not a ground-truth table" in str(info.value)
    errors = SearchConfig(data=data, truth=str(secret), pool="random:8", k=2).errors()
    assert "not a ground-truth table" in errors["report"] and SECRET not in str(errors)
    for args in (["search", "--data", data, "--truth", str(secret), "--pool", "random:8", "--k", "2"],
                 ["correlate", str(secret), "--truth", with_data.truth],
                 ["check", "--truth", str(secret)]):
        out = _cli(*args)
        assert out.returncode == 2 and SECRET not in out.stderr + out.stdout, out.stderr
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page("pages/new_search.py").run()
    at.text_input(key="ns_truth_nb201").set_value(str(secret)).run()
    shown = " ".join(str(e.value) for e in (*at.error, *at.warning, *at.selectbox, *at.caption))
    shown = shown.replace("\\", "")  # markdown escapes
    assert SECRET not in shown and "not a ground-truth table" in shown
