"""Home, New search and Live run through the real app (streamlit.testing AppTest), plus the
torch-free helpers in knas.ui.forms. Runtime data is isolated in tmp folders."""

from streamlit.testing.v1 import AppTest

from knas import fmt, jobs
from knas.results import headline, runview
from knas.ui import forms
from knas.ui.settings import AppSettings
from tests.conftest import NB201, REPO
from tests.conftest import wait_for_job as _wait

TIMEOUT = 60
PAGES = ["pages/home.py", "pages/new_search.py", "pages/live.py"]


# --- fixtures -------------------------------------------------------------------------------


def _app(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    if query:
        at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _ended(state):
    return not state.status.is_active


def _texts(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "subheader", "title", "code",
                 "page_link"):
        parts += [str(e.value) for e in at.get(kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


# --- pages without data ---------------------------------------------------------------------


def test_pages_render_without_data(isolated):
    home = _app("pages/home.py")
    text = _texts(home)
    assert "No CIFAR-10 dataset is set" in text
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
    home = _app("pages/home.py")
    text = _texts(home)
    assert "No CIFAR-10" not in text and "loaded" in text
    assert not [b for b in home.button if b.label == "Quick demo search"][0].disabled

    new = _app("pages/new_search.py")
    assert not new.error, [e.value for e in new.error]
    assert not new.button(key="ns_start").disabled
    assert new.text_input(key="ns_data_cifar10").value == with_data.datasets["cifar10"]
    assert new.text_input(key="ns_truth_nb201").value == with_data.truth
    labels = {m.label: m.value for m in new.metric}
    assert labels["Networks to score"] != "0" and "Expected time" in labels
    # the default fine stage is what a short training would see: the 12-epoch table's test column
    assert new.radio(key="ns_fine_kind").value == "table12"
    assert new.selectbox(key="ns_t12_col_nb201_cifar10").value == "cifar10_test_12ep"
    # no "Select all" that would queue every proxy and strategy
    assert all(not new.multiselect(key=k).proto.select_all for k in ("ns_baselines", "ns_limit_devices"))
    # a classic strategy's rewards come from that same table: it is not asked for twice
    new.multiselect(key="ns_baselines").set_value(["random", "rea"]).run()
    assert not [t for t in new.text_input if t.key == "ns_t12_strategies_nb201"]
    assert any("12-epoch table of the fine stage (" in c.value and "12epoch.csv" in c.value
               for c in new.caption)
    new.radio(key="ns_fine_kind").set_value("lookup").run()
    assert new.text_input(key="ns_t12_strategies_nb201").value == with_data.table12
    new.multiselect(key="ns_baselines").set_value(["random"]).run()
    new.radio(key="ns_fine_kind").set_value("table12").run()

    # every other fine stage and an ensemble render without errors too
    new.radio(key="ns_fine_kind").set_value("lookup").run()
    assert not new.exception and not new.error, [e.value for e in new.error]
    assert new.selectbox(key="ns_fine_col_nb201_cifar10").value == "cifar10_valid"
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
    at.text_input(key="ns_truth_nb201").set_value("/nowhere/table.csv").run()
    messages = [e.value for e in at.error]
    assert any("/nowhere/table.csv does not exist" in m for m in messages), messages
    assert at.button(key="ns_start").disabled
    at.text_input(key="ns_truth_nb201").set_value(with_data.truth).run()
    assert not at.error and not at.button(key="ns_start").disabled


def test_the_weight_selection_is_asked_only_for_proxies_that_take_it(with_data):
    at = _app("pages/new_search.py")
    assert at.selectbox(key="ns_proxy").value == "mgm"
    assert [r.label for r in at.radio if r.key == "ns_params"] == ["MGM parameters"]
    at.selectbox(key="ns_proxy").set_value("meco").run()
    assert not [r for r in at.radio if r.key == "ns_params"]
    at.multiselect(key="ns_baselines").set_value(["mgm"]).run()  # a baseline that takes it
    assert [r.label for r in at.radio if r.key == "ns_params"] == ["MGM parameters"]


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
    assert state.status == "finished", state

    # a deep link in a new tab
    live = _app("pages/live.py", query={"job": job_id})
    text = _texts(live)
    assert "FINISHED" in text
    assert "Result: params" in text and "Chosen cell" in text and "Best in the whole space" in text
    assert "Per-method summary" in text
    assert "**Current top-3** (final)" in text  # the configured k
    assert len(live.get("plotly_chart")) >= 2  # scatter and histogram
    cells = [m for m in live.markdown if 'class="knas-cell"' in m.value]
    assert len(cells) >= 2  # the chosen cell and the top-k cells, as our own SVG
    line = headline.headline(store.events(job_id), NB201, config.dataset)
    assert any(fmt.md_escape(line.text) in s.value for s in live.success)  # the headline
    assert "KNAS paper" in text
    assert live.button(key="live_again")  # run again with these settings
    versus = [d for d in live.dataframe if "actual s" in d.value.columns]
    assert versus and versus[0].value.set_index("stage").loc["total", "actual s"] > 0
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
    home = _app("pages/home.py")
    assert any(job_id[:8] in link.value for link in home.get("page_link"))

    # the same settings again: New search says the search has run and offers it or a fresh run
    again = _app("pages/new_search.py")
    again.number_input(key="ns_pool_count").set_value(12).run()
    again.selectbox(key="ns_proxy").set_value("params").run()
    again.number_input(key="ns_n").set_value(4).run()
    again.number_input(key="ns_k").set_value(3).run()
    assert any("has run before and finished" in i.value for i in again.info)
    assert not [b for b in again.button if b.key == "ns_start"]
    assert "python -m knas search" in again.code[0].value and "--pool random:12" in again.code[0].value
    again.button(key="ns_open").click().run()
    assert again.query_params.get("job") == job_id and store.state(job_id).status == "finished"
    fresh = _app("pages/new_search.py")
    fresh.number_input(key="ns_pool_count").set_value(12).run()
    fresh.selectbox(key="ns_proxy").set_value("params").run()
    fresh.number_input(key="ns_n").set_value(4).run()
    fresh.number_input(key="ns_k").set_value(3).run()
    old_events = len(store.events(job_id))
    fresh.button(key="ns_rerun").click().run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert fresh.query_params.get("job") == job_id
    assert _wait(store, job_id, _ended).status == "finished"
    assert len(store.events(job_id)) == old_events  # a new run from the start, not appended


def test_quick_demo_starts_a_job_and_a_cancelled_job_offers_resume(with_data):
    home = _app("pages/home.py")
    [b for b in home.button if b.label == "Quick demo search"][0].click().run()
    assert not home.exception, [e.value for e in home.exception]
    store = jobs.JobStore()
    assert len(store.ids()) == 1
    job_id = store.ids()[0]
    assert home.query_params.get("job") == job_id  # switched to the live page
    config = store.config(job_id)
    assert (config.pool, config.proxy, config.n, config.k) == ("random:100", "mgm", 16, 10)

    live = _app("pages/live.py", query={"job": job_id})
    if store.state(job_id).status.is_active:
        live.button(key="live_cancel").click().run()
        assert not live.exception, [e.value for e in live.exception]
    jobs.cancel(job_id)  # in case the worker had not started when the button ran
    state = _wait(store, job_id, _ended, timeout=120)
    if state.status != "cancelled":  # a very fast machine may finish the demo first
        assert state.status == "finished", state
        return
    live = _app("pages/live.py", query={"job": job_id})
    assert "was cancelled" in _texts(live)
    live.button(key="live_resume").click().run()
    assert not live.exception, [e.value for e in live.exception]
    assert store.state(job_id).attempts == 2
    jobs.cancel(job_id)
    _wait(store, job_id, _ended, timeout=120)


# --- knas.ui.forms --------------------------------------------------------------------------------


def test_missing_and_demo_config(isolated, shared_data):
    empty = AppSettings()
    problems = forms.missing(empty)
    assert len(problems) == 2 and forms.demo_config(empty) is None
    gone = AppSettings(datasets={"cifar10": str(isolated / "nope")}, truth=str(isolated / "t.csv"))
    assert [p.split(" ")[1] for p in forms.missing(gone)] == ["CIFAR-10", "ground-truth"]
    ready = AppSettings(datasets={"cifar10": str(shared_data / "cifar10" / "cifar10_small.npz")},
                        truth=str(shared_data / "nb201" / "nb201_accuracies.csv"))
    assert forms.missing(ready) == []
    config = forms.demo_config(ready)
    assert config is not None and config.errors() == {}
    assert config.pool == "random:100" and config.baselines == ("random",)
    assert "cifar10_valid" in forms.csv_columns(ready.truth)
    options = forms.report_options(NB201, "cifar10", ready.truth)
    assert options[0] == "cifar10_test" and "cifar100_test" in options
    assert not [c for c in options if c.startswith(("n_seeds", "params_mb"))]  # accuracies only


def test_new_search_sets_a_latency_budget_and_says_when_none_fits(with_data, shared_data):
    at = _app("pages/new_search.py")
    at.text_input(key="ns_latency_nb201").set_value(str(shared_data / "hw" / "nb201_latency.csv")).run()
    assert "here" in at.multiselect(key="ns_limit_devices").options[-1]
    at.multiselect(key="ns_limit_devices").set_value(["pixel3"]).run()
    at.number_input(key="ns_maxlat_pixel3").set_value(0.001).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("no cell of nb201 meets the limits" in m and "0.00328 ms" in m for m in messages), messages
    assert at.button(key="ns_start").disabled
    at.number_input(key="ns_maxlat_pixel3").set_value(10.7).run()
    at.selectbox(key="ns_pareto").set_value("pixel3").run()
    assert not at.error and not at.button(key="ns_start").disabled
    shown = "\n".join(str(c.value) for c in at.code)
    assert "--max-latency pixel3:10.7" in shown and "--pareto pixel3" in shown
