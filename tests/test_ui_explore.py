"""The Compare, Explorer and Data pages, driven headless through Streamlit's AppTest."""
from dataclasses import asdict

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from knas.data import benchmark
from knas.spaces.nb201 import costs, cells as space
from knas import fmt, jobs
from knas.results import headline
from knas.ui import settings
from knas.scoring.cache import ScoreCache
from knas.search.config import SearchConfig
from knas.fmt import md_escape
from tests.conftest import NB201, CELL_6111, REPO, finished_job

TIMEOUT = 60
PAGES = ("compare", "explorer", "data")


@pytest.fixture(autouse=True)
def cpu_device(monkeypatch):
    """No torch child for the sidebar's device check: these pages are about data, not devices."""
    monkeypatch.setattr("knas.ui.machine.device_info",
                        lambda timeout=60.0: {"device": "cpu", "name": "test CPU"})


@pytest.fixture
def runtime(isolated):
    return isolated


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page(f"pages/{page}.py")
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def metrics(at) -> dict:
    """Every st.metric and every card (``widgets.cards``) by its label."""
    import html
    import re

    found = {m.label: m.value for m in at.metric}
    for block in texts(at.markdown):
        for label, value in re.findall(r"opacity:\.75'>([^<]*)</div><div class='knas-card-value'"
                                       r"[^>]*>([^<]*)</div>", block):
            found[html.unescape(label)] = html.unescape(value)
    return found


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_data(runtime, page):
    at = open_page(page)
    assert at.title


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_data(with_data, page):
    at = open_page(page)
    assert not at.error, texts(at.error)


# --- Explorer ------------------------------------------------------------------------------------


def test_explorer_deep_link_by_index(with_data):
    at = open_page("explorer", arch="6111")
    assert [h.value for h in at.header] == ["Cell 6111"]
    assert metrics(at)["CIFAR-10 test"] == "94.37%"
    assert metrics(at)["Parameters"] == f"{costs.count_params(CELL_6111) / 1e6:.3f} M"
    assert CELL_6111 in texts(at.code)
    assert at.text_input(key="explorer_str").value == CELL_6111
    assert at.query_params["arch"] == "6111"
    neighbours = next(d for d in at.dataframe if d.key == "explorer_neighbours_6111").value
    assert len(neighbours) == 24 and neighbours["cifar10_test"].notna().all()
    labels = [b.label for b in at.get("download_button")]
    assert "PyTorch module (.py)" in labels and "Arch string (.txt)" in labels


def test_explorer_shows_a_cells_latency_on_every_device(with_data, shared_data):
    settings.save(settings.AppSettings(**{**asdict(with_data), "problems": [],
                                 "latency": str(shared_data / "hw" / "nb201_latency.csv")}))
    at = open_page("explorer", arch="6111")
    assert any(e.label == "Latency on 27 devices" for e in at.expander)
    table = pd.read_csv(shared_data / "hw" / "nb201_latency.csv").set_index("index")
    shown = next(d.value for d in at.dataframe if "latency (ms)" in d.value.columns)
    assert len(shown) == 27
    assert shown.set_index("name").at["pixel3", "latency (ms)"] == table.at[6111, "latency_ms_pixel3"]
    assert "Pixel 3" in list(shown["device"])


def test_explorer_by_number_string_edges_and_neighbour(with_data, shared_data):
    at = open_page("explorer")
    at.number_input(key="explorer_number").set_value(6111).run()
    assert metrics(at)["CIFAR-10 test"] == "94.37%"
    assert at.query_params["arch"] == "6111"
    assert [at.selectbox(key=f"explorer_choice_nb201_{d.name}").value for d in NB201.decisions()] == list(space.arch_at(6111))

    other = space.arch_at(123)
    at.text_input(key="explorer_str").set_value(space.to_str(other)).run()
    assert [h.value for h in at.header] == ["Cell 123"]
    assert at.number_input(key="explorer_number").value == 123

    target = space.parse("|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|")
    for decision, op in zip(NB201.decisions(), target):
        at.selectbox(key=f"explorer_choice_nb201_{decision.name}").set_value(op)
    at.run()
    index = space.index_of(target)
    assert [h.value for h in at.header] == [f"Cell {index}"]
    assert at.text_input(key="explorer_str").value == space.to_str(target)
    truth = benchmark.load_table(shared_data / "nb201" / "nb201_accuracies.csv")
    assert metrics(at)["CIFAR-10 test"] == f"{truth.at[index, 'cifar10_test']:.2f}%"

    pick = 5  # a row of the neighbour table: selecting it goes there
    expected = space.index_of(space.neighbours(target)[pick])
    at.session_state[f"explorer_neighbours_{index}"] = {"selection": {"rows": [pick], "columns": []}}
    at.run()
    assert not at.exception
    assert [h.value for h in at.header] == [f"Cell {expected}"]
    assert at.query_params["arch"] == str(expected)


def test_explorer_malformed_string_shows_the_fault_not_a_traceback(runtime):
    at = open_page("explorer", arch="6111")
    at.text_input(key="explorer_str").set_value("|nor_conv_3x3~0|+|bogus~0|nor_conv_3x3~1|+"
                                                "|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|").run()
    assert not at.exception
    errors = " ".join(texts(at.error))
    assert "unknown op 'bogus'" in errors and "Still showing cell 6111" in errors
    assert [h.value for h in at.header] == ["Cell 6111"]
    assert "No ground-truth table" in " ".join(texts(at.info))


def test_explorer_bad_deep_link_warns(runtime):
    at = open_page("explorer", arch="99999")
    assert "names no cell" in " ".join(texts(at.warning))
    assert [h.value for h in at.header] == ["Cell 0"]


# --- Data ----------------------------------------------------------------------------------------


def test_data_page_reports_missing_dataset_with_next_step(runtime):
    at = open_page("data")
    warnings = [w for w in texts(at.warning) if "CIFAR-10**" in w]
    assert warnings and "missing" in warnings[0] and "Next step: download it below" in warnings[0]
    assert md_escape(runtime / "data") in warnings[0]
    assert any("Ground truth (200 epochs)**: not set" in w for w in texts(at.warning))


def test_data_page_validates_and_saves_a_dataset_path(runtime, shared_data):
    at = open_page("data")
    at.text_input(key="data_ds_path").set_value(str(runtime / "nowhere.npz"))
    at.button(key="data_ds_submit").click().run()
    assert any("Not saved" in e for e in texts(at.error))
    npz = shared_data / "cifar10" / "cifar10_small.npz"
    at.text_input(key="data_ds_path").set_value(str(npz))
    at.button(key="data_ds_submit").click().run()
    assert not at.exception
    assert any("Saved CIFAR-10" in s for s in texts(at.success)), texts(at.error)
    assert settings.load().dataset_path("cifar10") == str(npz)


def test_data_page_refuses_a_table_of_the_wrong_kind(runtime, shared_data):
    """A 12-epoch table offered as the costs table is refused with the reason (#24)."""
    at = open_page("data")
    at.selectbox(key="data_table_field").set_value("costs")
    at.text_input(key="data_table_path").set_value(str(shared_data / "nb201" / "nb201_12epoch.csv"))
    at.button(key="data_table_submit").click().run()
    assert not at.exception
    refused = [e for e in texts(at.error) if "Not saved" in e]
    assert refused and "recorded training seconds" in refused[0], texts(at.error)
    assert settings.load().costs == ""
    at.selectbox(key="data_table_field").set_value("table12")
    at.button(key="data_table_submit").click().run()
    assert any("Saved" in s for s in texts(at.success)), texts(at.error)
    assert settings.load().table12.endswith("nb201_12epoch.csv")


def test_data_page_shows_an_offline_download_error(runtime, monkeypatch):
    from knas.data import readers, download

    def offline(name, root, url=None, progress=None, timeout=60.0):
        progress(1 << 20, None)
        raise readers.DataError(f"could not download (offline). To install it by hand, extract it into {root}")

    monkeypatch.setattr(download, "download", offline)
    at = open_page("data")
    at.button(key="data_download_cifar10").click().run()
    assert not at.exception
    assert any("To install it by hand" in e and md_escape(runtime / "data") in e for e in texts(at.error))


def test_data_page_guarded_clear(runtime):
    cache = ScoreCache()
    cache.set("v1|mgm|a|b|x", 1.0)
    at = open_page("data")
    assert metrics(at)["Cached scores"] == "1"
    at.button(key="data_clear").click().run()
    assert any("type CLEAR" in e for e in texts(at.error))
    assert len(cache) == 1
    at.text_input(key="data_clear_word").set_value("CLEAR")
    at.button(key="data_clear").click().run()
    assert any("Cleared 1 cached scores" in s for s in texts(at.success))
    assert len(cache) == 0
    cache.close()


def test_data_page_refuses_to_clear_while_a_job_runs(runtime, shared_data):
    cache = ScoreCache()
    cache.set("v1|mgm|a|b|x", 1.0)
    jobs.JobStore().claim(SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz")))
    at = open_page("data")
    at.text_input(key="data_clear_word").set_value("CLEAR")
    at.button(key="data_clear").click().run()
    assert any("queued or running" in e for e in texts(at.error))
    assert len(cache) == 1
    cache.close()


# --- Compare -------------------------------------------------------------------------------------


def _scores_csv(indices) -> bytes:
    """A small real scores CSV, as `python -m knas score --proxies params,flops` writes it."""
    lines = ["index,arch_str,params,flops"]
    for i in indices:
        arch = space.arch_at(i)
        lines.append(f"{i},{space.to_str(arch)},{float(costs.count_params(arch))!r},"
                     f"{float(costs.count_flops(arch))!r}")
    return ("\n".join(lines) + "\n").encode()


def test_compare_correlates_an_uploaded_scores_csv(with_data, shared_data):
    from knas.results import stats

    indices = [6111, 0, 1, 42, 123, 777, 2024, 9999, 15624, 3000, 5000, 8000]
    at = open_page("compare")
    at.radio(key="compare_source").set_value("A scores CSV").run()
    at.file_uploader(key="compare_upload").set_value(("scores.csv", _scores_csv(indices), "text/csv"))
    at.run()
    assert not at.exception
    tables = [d.value for d in at.dataframe]
    table = next(t for t in tables if "spearman" in t.columns)
    assert list(table["proxy"]) == ["params", "flops"]
    truth = benchmark.load_table(shared_data / "nb201" / "nb201_accuracies.csv")
    expected = stats.spearman([costs.count_params(space.arch_at(i)) for i in indices],
                              truth.loc[indices, "cifar10_test"])
    assert table.loc[0, "spearman"] == pytest.approx(expected)
    assert table.loc[0, "n"] == len(indices)
    assert len(at.get("plotly_chart")) == 3  # ρ/τ bars, a scatter, the proxy-vs-proxy heatmap


def test_compare_rejects_a_bad_scores_csv(with_data):
    at = open_page("compare")
    at.radio(key="compare_source").set_value("A scores CSV").run()
    at.file_uploader(key="compare_upload").set_value(("bad.csv", b"arch_str,mgm\nx,1\n", "text/csv"))
    at.run()
    assert not at.exception
    assert any("no 'index' column" in e for e in texts(at.error))


def test_compare_shows_a_finished_job_and_the_paper_table(with_data, shared_data):
    truth = benchmark.load_table(shared_data / "nb201" / "nb201_accuracies.csv")
    job_id, config, events = finished_job(jobs.JobStore(), shared_data, truth)
    at = open_page("compare")
    assert not at.error, texts(at.error)
    tables = [d.value for d in at.dataframe]
    correlation = next(t for t in tables if "spearman" in t.columns)
    assert list(correlation["proxy"]) == ["params", "flops", config.proxy]  # the ensemble beside
    runs = next(t for t in tables if "test accuracy" in t.columns)
    line = headline.headline(events, NB201, config.dataset)
    assert any(fmt.md_escape(line.text) in s.value for s in at.success)  # each run's headline
    assert list(runs["method"]) == list(config.methods)
    summary = {row["method"]: row for row in events[-1].summary}
    for method, shown in zip(runs["method"], runs["test accuracy"]):
        row = summary[method]
        assert shown == f"{row['test_accuracy_mean']:.2f} ± {row['test_accuracy_std']:.2f}"
    best_index, best_value = benchmark.best(truth, "cifar10_test")
    assert any(f"**{best_value:.2f}** (index {best_index})" in m for m in texts(at.markdown))
    assert "HTML report" in [b.label for b in at.get("download_button")]


def test_explorer_draws_a_cells_gram_matrix_from_a_worker(with_data):
    at = open_page("explorer", arch="6111")
    at.button(key="explorer_gram_6111").click().run(timeout=300)
    assert not at.exception and not at.error, texts(at.error)
    shown = metrics(at)
    assert float(shown["gram_coherence"]) <= 1.0 and float(shown["gram_cond"]) >= 1.0
    assert float(shown["gram_trace"]) > 0


def test_a_bad_deep_link_warning_survives_a_rerun(runtime):
    at = open_page("explorer", arch="99999")
    at.run()  # the sidebar's device probe reruns the page when it answers
    assert "names no cell" in " ".join(texts(at.warning))
    at.number_input(key="explorer_number").set_value(5).run()
    assert "names no cell" not in " ".join(texts(at.warning))


def test_a_link_of_100_kb_is_not_read_and_says_so(runtime):
    """Any web page can send a user to ``/explorer?arch=`` + 100,000 characters: the page shows
    the start and the length and stays on its cell, without escaping or parsing the whole."""
    long = "|nor_conv_3x3~0|" + "x" * 100_000
    at = open_page("explorer", arch=long)
    warning = " ".join(texts(at.warning))
    assert "100,016 characters long" in warning and "was not used" in warning
    assert len(warning) < 600
    assert at.query_params["arch"] == "0"


def test_compare_plots_several_runs_on_one_accuracy_against_cost_plot(with_data, shared_data):
    """Two finished runs chosen: one plot holds both, each method named after its run."""
    import json

    truth = benchmark.load_table(shared_data / "nb201" / "nb201_accuracies.csv")
    store = jobs.JobStore()
    first, _, _ = finished_job(store, shared_data, truth)
    second, _, _ = finished_job(store, shared_data, truth, seed=1)
    at = open_page("compare")
    assert not at.error, texts(at.error)
    assert set(at.multiselect(key="compare_runs").value) == {first, second}
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    anytime = next(c for c in charts if "search cost" in json.dumps(c["layout"].get("title", "")))
    names = {trace.get("name", "") for trace in anytime["data"]}
    for job_id in (first, second):
        assert f"{job_id[:8]} · params" in names, names
