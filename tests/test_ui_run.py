"""Home, New search and Live run through the real app (streamlit.testing AppTest), plus the
torch-free helpers in knas.ui_run. Runtime data is isolated in tmp folders."""
import math
import subprocess
import sys

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from knas import jobs, runview, settings, ui_run
from knas.search import SearchConfig
from knas.settings import AppSettings
from tests.conftest import REPO
from tests.conftest import wait_for_job as _wait

TIMEOUT = 60
PAGES = ["app.py", "pages/new_search.py", "pages/live.py"]


# --- fixtures -------------------------------------------------------------------------------


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
    saved = AppSettings(datasets={"cifar10": str(shared_data / "cifar10" / "cifar10_small.npz")},
                        truth=str(shared_data / "nb201" / "nb201_accuracies.csv"),
                        table12=str(shared_data / "nb201" / "nb201_12epoch.csv"))
    settings.save(saved)
    return saved


def _app(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    if query:
        at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _ended(state):
    return state["status"] not in jobs.ACTIVE


def _texts(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "subheader", "title", "code",
                 "page_link"):
        parts += [str(e.value) for e in at.get(kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


# --- pages without data ---------------------------------------------------------------------


def test_pages_render_without_data(isolated):
    home = _app("app.py")
    text = _texts(home)
    assert "No CIFAR10 dataset is set" in text
    assert "No ground-truth table is set" in text
    assert any("Data page" in link.value for link in home.get("page_link"))
    demo = [b for b in home.button if b.label == "Quick demo search"][0]
    assert demo.disabled  # never fails: it says what is missing instead

    new = _app("pages/new_search.py")
    assert any("no dataset path given" in e.value for e in new.error)
    assert new.button(key="ns_start").disabled

    live = _app("pages/live.py")
    assert "No search has run yet" in _texts(live)


# --- pages with data ------------------------------------------------------------------------


def test_pages_render_with_data(with_data):
    home = _app("app.py")
    text = _texts(home)
    assert "No CIFAR10" not in text and "loaded" in text
    assert not [b for b in home.button if b.label == "Quick demo search"][0].disabled

    new = _app("pages/new_search.py")
    assert not new.error, [e.value for e in new.error]
    assert not new.button(key="ns_start").disabled
    assert new.text_input(key="ns_data_cifar10").value == with_data.datasets["cifar10"]
    assert new.text_input(key="ns_truth").value == with_data.truth
    labels = {m.label: m.value for m in new.metric}
    assert labels["Networks to score"] != "0" and "Expected time" in labels

    # every other fine stage and an ensemble render without errors too
    new.radio(key="ns_fine_kind").set_value("table12").run()
    assert not new.exception and not new.error, [e.value for e in new.error]
    assert new.selectbox(key="ns_t12_col_cifar10").value == "cifar10_test_12ep"
    new.radio(key="ns_fine_kind").set_value("train").run()
    assert not new.exception and not new.error
    assert int(new.metric[1].value.replace(",", "")) == 40 * 2  # k x (mgm + random)
    new.toggle(key="ns_ensemble").set_value(True).run()
    new.radio(key="ns_params").set_value("first").run()
    new.radio(key="ns_pool_kind").set_value("range").run()
    assert not new.exception and not new.error, [e.value for e in new.error]
    assert "ensemble:mgm+synflow" in new.code[0].value and "range:0:1000" in new.code[0].value


def test_validation_messages_sit_by_their_field_and_block_start(with_data):
    at = _app("pages/new_search.py")
    at.number_input(key="ns_pool_count").set_value(20).run()
    at.number_input(key="ns_k").set_value(50).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("k = 50 is larger than the pool (20 cells)" in m for m in messages), messages
    assert at.button(key="ns_start").disabled
    assert not at.metric  # no estimate for a config that cannot run

    at.number_input(key="ns_k").set_value(5).run()
    at.text_input(key="ns_truth").set_value("/nowhere/table.csv").run()
    messages = [e.value for e in at.error]
    assert any("/nowhere/table.csv does not exist" in m for m in messages), messages
    assert at.button(key="ns_start").disabled
    at.text_input(key="ns_truth").set_value(with_data.truth).run()
    assert not at.error and not at.button(key="ns_start").disabled


# --- a job from start to result -------------------------------------------------------------


def test_new_search_starts_a_job_and_live_page_shows_the_result(with_data):
    at = _app("pages/new_search.py")
    at.number_input(key="ns_pool_count").set_value(12).run()
    at.selectbox(key="ns_proxy").set_value("params").run()
    at.number_input(key="ns_n").set_value(4).run()
    at.number_input(key="ns_k").set_value(3).run()
    assert not at.error and not at.button(key="ns_start").disabled
    at.button(key="ns_start").click().run()
    assert not at.exception, [e.value for e in at.exception]

    store = jobs.JobStore()
    assert len(store.ids()) == 1
    job_id = store.ids()[0]
    assert at.query_params.get("job") == job_id  # switched to the live page's deep link
    config = store.config(job_id)
    assert (config.pool, config.proxy, config.n, config.k) == ("random:12", "params", 4, 3)
    assert config.baselines == ("random",)
    state = _wait(store, job_id, _ended)
    assert state["status"] == "finished", state

    # a deep link in a new tab
    live = _app("pages/live.py", query={"job": job_id})
    text = _texts(live)
    assert "FINISHED" in text
    assert "Result: params" in text and "Chosen cell" in text and "Best in the whole space" in text
    assert "Per-method summary" in text
    assert len(live.get("plotly_chart")) >= 2  # scatter and histogram
    assert len(live.get("graphviz_chart")) >= 2  # the chosen cell and the top-k cells
    assert not [b for b in live.button if b.key in ("live_cancel", "live_resume")]
    assert live.query_params.get("job") == job_id

    # a click on a scatter point (the selection a browser sends) shows that cell
    chosen = int(runview.results_frame(store.events(job_id))["chosen"].iloc[0])
    live.session_state[f"live_scatter_{job_id}_params_0"] = {
        "selection": {"points": [{"customdata": [chosen, "x"]}], "point_indices": [0],
                      "box": [], "lasso": []}}
    live.run()
    assert not live.exception
    assert f"Clicked: index {chosen}" in _texts(live)

    # the random baseline's card
    live.radio(key=f"live_method_{job_id}").set_value("random").run()
    assert not live.exception
    assert "Result: random" in _texts(live)

    # Home lists it
    home = _app("app.py")
    assert any(job_id[:8] in link.value for link in home.get("page_link"))


def test_quick_demo_starts_a_job_and_a_cancelled_job_offers_resume(with_data):
    home = _app("app.py")
    [b for b in home.button if b.label == "Quick demo search"][0].click().run()
    assert not home.exception, [e.value for e in home.exception]
    store = jobs.JobStore()
    assert len(store.ids()) == 1
    job_id = store.ids()[0]
    assert home.query_params.get("job") == job_id  # switched to the live page
    config = store.config(job_id)
    assert (config.pool, config.proxy, config.n, config.k) == ("random:100", "mgm", 16, 10)

    live = _app("pages/live.py", query={"job": job_id})
    if store.state(job_id)["status"] in jobs.ACTIVE:
        live.button(key="live_cancel").click().run()
        assert not live.exception, [e.value for e in live.exception]
    jobs.cancel(job_id)  # in case the worker had not started when the button ran
    state = _wait(store, job_id, _ended, timeout=120)
    if state["status"] != "cancelled":  # a very fast machine may finish the demo first
        assert state["status"] == "finished", state
        return
    live = _app("pages/live.py", query={"job": job_id})
    assert "was cancelled" in _texts(live)
    live.button(key="live_resume").click().run()
    assert not live.exception, [e.value for e in live.exception]
    assert store.state(job_id)["attempts"] == 2
    jobs.cancel(job_id)
    _wait(store, job_id, _ended, timeout=120)


# --- torch stays out of the UI process ------------------------------------------------------


def test_pages_do_not_import_torch(with_data):
    script = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(REPO / 'app.py')!r}, default_timeout={TIMEOUT}).run()
for page in {PAGES!r}:
    at.switch_page(page).run()
    assert not at.exception, (page, [e.value for e in at.exception])
import knas.ui_run, knas.jobs, knas.runview, knas.plots, knas.search, knas.settings
print("torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


# --- knas.ui_run --------------------------------------------------------------------------------


def test_specs_from_widgets():
    assert ui_run.pool_spec("random", count=8) == "random:8"
    assert ui_run.pool_spec("range", start=3, stop=9) == "range:3:9"
    assert ui_run.pool_spec("all") == "all"
    with pytest.raises(ValueError):
        ui_run.pool_spec("some")
    assert ui_run.proxy_spec(["mgm"]) == "mgm"
    assert ui_run.proxy_spec(["mgm", "synflow"]) == "ensemble:mgm+synflow"
    assert ui_run.proxy_spec([]) == ""
    assert ui_run.fine_spec("lookup", "cifar10_valid") == "lookup:cifar10_valid"
    assert ui_run.fine_spec("table12", "c", table="/t.csv") == "lookup:/t.csv:c"
    assert ui_run.fine_spec("train", epochs=3) == "train:3"
    assert ui_run.params_spec("all", 3, 4) == "all"
    assert ui_run.params_spec("first", 3, 4) == "first:3:4"
    assert ui_run.members("random") == []
    assert ui_run.members("ensemble:mgm+snip") == ["mgm", "snip"]
    assert ui_run.resolve_device("auto", "cuda") == "cuda"
    assert ui_run.resolve_device("cpu", "cuda") == "cpu"
    assert ui_run.fmt_seconds(5) == "5 s" and ui_run.fmt_seconds(125) == "2 min 05 s"
    assert ui_run.fmt_seconds(None) == "?" and ui_run.fmt_seconds(3 * 3600 + 60) == "3 h 01 min"


def test_missing_and_demo_config(isolated, shared_data):
    empty = AppSettings()
    problems = ui_run.missing(empty)
    assert len(problems) == 2 and ui_run.demo_config(empty) is None
    gone = AppSettings(datasets={"cifar10": str(isolated / "nope")}, truth=str(isolated / "t.csv"))
    assert [p.split(" ")[1] for p in ui_run.missing(gone)] == ["CIFAR10", "ground-truth"]
    ready = AppSettings(datasets={"cifar10": str(shared_data / "cifar10" / "cifar10_small.npz")},
                        truth=str(shared_data / "nb201" / "nb201_accuracies.csv"))
    assert ui_run.missing(ready) == []
    config = ui_run.demo_config(ready)
    assert config is not None and config.errors() == {}
    assert config.pool == "random:100" and config.baselines == ("random",)
    assert "cifar10_valid" in ui_run.csv_columns(ready.truth)
    assert ui_run.report_options("cifar10", ready.truth)[0] == "cifar10_test"
    est = ui_run.work_estimate(config, "cpu")
    assert est["networks"] > 0 and "networks to score" in est["text"]


class _Store:
    def __init__(self, events):
        self.all, self.calls = events, []

    def events(self, job_id, since=0):
        self.calls.append(since)
        return [{**e, "seq": i} for i, e in enumerate(self.all) if i >= since]


def _events():
    return [
        {"kind": "started", "methods": ["params", "random"], "repeats": 1, "pool_size": 3, "k": 2,
         "best_possible": {"index": 7, "value": 94.0, "column": "cifar10_test"}},
        *[{"kind": "scored", "method": "params", "repeat": 0, "index": i,
           "values": {"params": float(v)}, "built": 1, "done": n + 1, "total": 3, "rate": 2.0}
          for n, (i, v) in enumerate([(1, 5), (2, 9), (3, 1)])],
        {"kind": "topk", "method": "params", "repeat": 0, "indices": [2, 1], "final": True},
        {"kind": "method_done", "result": {
            "method": "params", "repeat": 0, "seed": 0, "chosen": 2, "arch_str": "x",
            "test_accuracy": 90.0, "fine_score": 88.0, "topk": [2, 1], "coarse_seconds": 1.5,
            "fine_seconds": 0.0, "networks_scored": 3, "networks_trained": 0}},
    ]


def test_read_events_reads_only_new_ones_and_restarts_with_the_job():
    store = _Store(_events()[:2])
    state = {"attempts": 1, "created": 1.0}
    events, cached = ui_run.read_events(store, "j", state, None)
    assert len(events) == 2
    store.all = _events()
    events, cached = ui_run.read_events(store, "j", state, cached)
    assert len(events) == 6 and store.calls == [0, 2]
    assert [e["seq"] for e in events] == list(range(6))
    events, _ = ui_run.read_events(store, "j", {"attempts": 2, "created": 5.0}, cached)
    assert store.calls[-1] == 0 and len(events) == 6  # a resumed job starts over


def test_live_tables_from_events():
    events = _events()
    accuracy = pd.Series({1: 80.0, 2: 90.0, 3: 70.0})
    frame = ui_run.live_frame(events, "params", 0, accuracy, "cifar10_test")
    assert list(frame["cifar10_test"]) == [80.0, 90.0, 70.0]
    table = ui_run.topk_table(frame, [2, 1], "params", "cifar10_test", accuracy)
    assert list(table["index"]) == [2, 1] and list(table["params"]) == [9.0, 5.0]
    assert list(table["rank"]) == [1, 2]
    empty = ui_run.live_frame(events, "random", 0, accuracy, "cifar10_test")
    assert empty.empty and ui_run.topk_table(empty, [4], "", None, None)["index"].tolist() == [4]
    card = ui_run.result_card(events, "params", 0)
    assert card["chosen"] == 2 and card["best_value"] == 94.0 and card["gap"] == pytest.approx(4.0)
    assert card["costs"]["networks"].tolist() == [3, 0]
    assert ui_run.result_card(events, "random", 0) is None
    details = ui_run.point_details(3, accuracy, frame)
    assert details["params"] == 1.0 and details["cifar10_test"] == 70.0


def test_progress_view_and_job_label():
    assert ui_run.progress_view({"status": "finished"}) == (1.0, "finished")
    assert ui_run.progress_view({"status": "queued", "progress": {}})[0] == 0.0
    fraction, text = ui_run.progress_view({"status": "running", "progress": {
        "stage": "coarse", "method": "mgm", "repeat": 0, "done": 25, "total": 100,
        "rate": 5.0, "eta": 15.0}})
    assert fraction == 0.25 and "5.0 archs/s" in text and "ETA 15 s" in text and "mgm" in text
    config = SearchConfig(pool="random:10")
    label = ui_run.job_label("abcdef0123456789", {"status": "running", "created": 0,
                                                  "progress": {"done": 3, "total": 10}}, config)
    assert label.startswith("abcdef01 · running 3/10 · mgm on random:10")
    assert not math.isnan(ui_run.progress_view({"status": "failed", "progress": {}})[0])
