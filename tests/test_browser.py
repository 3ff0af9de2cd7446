"""The real server in a real browser: Playwright drives the system Chromium against
``streamlit run app.py`` on 127.0.0.1, runs a quick search from the New search page, watches the
live page to the result card and saves a screenshot of every page under test-artifacts/."""
import os
import re
import socket
import time
from pathlib import Path

import pytest

from knas.ui import settings
from knas.ui.settings import AppSettings
from tests.appserver import running_app
from tests.conftest import REPO, wait_for_job

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]


def _require_browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("KNAS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} not found (KNAS_REQUIRE_BROWSER=1); apt-get install chromium")
        pytest.skip(f"{CHROMIUM} not found; apt-get install chromium")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KNAS_DATA_DIR", str(tmp_path / "data"))
    # No dataset yet: the story sets it on the Data page.
    settings.save(AppSettings(truth=str(shared_data / "nb201" / "nb201_accuracies.csv"),
                              table12=str(shared_data / "nb201" / "nb201_12epoch.csv")))
    with running_app(tmp_path / "server.log") as app:
        yield app.url


def _settle(page, timeout=60_000):
    """Wait until Streamlit has finished running the script for this page (its "running" badge
    appears only after a short delay, so it must stay away for a second in a row)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    for _ in range(3):
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
        page.wait_for_timeout(1000)


def _open(page, url, heading):
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for()
    _settle(page)


def _shot(page, name, height=2000):
    """A 1440 px wide screenshot; Streamlit scrolls inside its own container, so the viewport is
    made tall for the picture rather than asking for a full-page one."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 1440, "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size(size)


def _set_number(page, label, value):
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    _settle(page)


def _go_by_sidebar(page, label, heading):
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=label).click()
    page.get_by_role("heading", name=heading).first.wait_for()
    _settle(page)


def test_quick_search_in_a_real_browser(server, shared_data, tmp_path):
    sync_api = _require_browser()
    npz = str(shared_data / "cifar10" / "cifar10_small.npz")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(60_000)

        _open(page, server, "KNAS Studio")
        _shot(page, "home")

        # Data: the status box turns from missing to saved as soon as the path is saved.
        _open(page, f"{server}/data", "Data")
        assert page.get_by_text("CIFAR-10: missing").count() == 1
        page.get_by_label("Folder (official layout or one sub-folder per class) or .npz file").fill(npz)
        page.get_by_role("button", name="Check and save").first.click()
        page.get_by_text("Saved CIFAR-10").wait_for()
        _settle(page)
        assert page.get_by_text("CIFAR-10: missing").count() == 0
        assert page.get_by_text("CIFAR-10: npz at").count() == 1

        # New search keeps its fields while another page is visited.
        _go_by_sidebar(page, "New search", "New search")
        page.get_by_text("Start search").wait_for()
        _set_number(page, "Cells", 24)
        _set_number(page, "Samples per network (n)", 8)
        _set_number(page, "Top-k kept", 4)
        _go_by_sidebar(page, "Explorer", "Explorer")
        _go_by_sidebar(page, "New search", "New search")
        assert page.get_by_label("Cells", exact=True).input_value() == "24"
        assert page.get_by_label("Top-k kept", exact=True).input_value() == "4"
        page.get_by_text("Expected time").wait_for()
        _shot(page, "new_search")
        page.get_by_role("button", name="Start search").click()

        page.wait_for_url("**/live?job=*", timeout=60_000)
        # Live progress, or the result already: on a quiet machine the 24-cell job can end
        # (about 6 s) before the page has drawn its first progress line.
        page.get_by_text("archs/s").or_(page.get_by_text("Chosen cell: index")).first.wait_for(
            timeout=120_000)
        _shot(page, "live_running")
        page.get_by_text("Chosen cell: index").first.wait_for(timeout=300_000)  # the result card
        _settle(page)
        assert page.locator(".js-plotly-plot").count() >= 1  # the scatter (and histogram)
        page.get_by_text("picked cell").first.wait_for()  # the headline
        assert page.get_by_text("over random").count() >= 1
        assert page.get_by_text("★ picked").count() == 1  # the chosen cell starred in the top-k
        assert page.locator(".legend text", has_text="chosen cell ★").count() >= 1  # and the scatter
        cells = page.locator("svg.knas-cell")
        assert cells.count() >= 4  # the chosen cell and the top-k row, our own SVG
        sizes = {(round(b["width"]), round(b["height"])) for b in
                 (cells.nth(i).bounding_box() for i in range(cells.count()))}
        assert len(sizes) == 1 and min(sizes)[0] >= 300, sizes  # all the same, legible size
        smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
            'svg.knas-cell text')].map(t => t.getBoundingClientRect().height > 0 ?
            parseFloat(getComputedStyle(t).fontSize) : 99))""")
        assert smallest >= 11, smallest
        assert page.get_by_text("Estimated against actual time").count() == 1
        assert page.get_by_text("The estimate as the worker made it").count() == 1
        with page.expect_download() as download:
            page.get_by_role("button", name="HTML report").click()
        report_path = tmp_path / "report.html"
        download.value.save_as(report_path)
        html = report_path.read_text()
        assert report_path.stat().st_size < 1_500_000 and "<script" not in html
        assert 'class="knas-cell"' in html and "picked cell" in html
        assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html)
        _shot(page, "live_finished")
        job_url = page.url

        # The deep link works in a fresh tab, and the finished job is not polled any more: once
        # the page has drawn, the server sends nothing for several seconds (a polling fragment
        # would send its redraw every second).
        tab = browser.new_page(viewport={"width": 1440, "height": 1000})
        frames = []
        tab.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(time.time())))
        _open(tab, job_url, "Live run")
        tab.get_by_text("Chosen cell: index").first.wait_for()
        time.sleep(2)
        quiet_from = time.time()
        time.sleep(4)
        assert frames, "no websocket traffic seen at all"
        assert [t for t in frames if t > quiet_from] == []

        # Start again with the same settings: New search offers the finished job (or a fresh run)
        _go_by_sidebar(page, "New search", "New search")
        page.get_by_text("has run before and finished").wait_for()
        assert page.get_by_role("button", name="Start search").count() == 0
        assert page.get_by_role("button", name="Run it again fresh").count() == 1
        page.get_by_role("button", name="Open the finished search").click()
        page.wait_for_url(job_url, timeout=60_000)
        page.get_by_text("Chosen cell: index").first.wait_for()

        for name, heading in (("compare", "Compare"), ("explorer", "Explorer"), ("data", "Data")):
            _open(page, f"{server}/{name}", heading)
            if name == "compare":  # the finished job's proxies against the ground truth
                page.get_by_text("Rank correlation with").first.wait_for()
                _settle(page)
            _shot(page, name)
        assert page.get_by_text("Traceback").count() == 0
        browser.close()
    assert all((ARTIFACTS / f"{n}.png").stat().st_size > 10_000
               for n in ("home", "new_search", "live_finished", "compare", "explorer", "data"))


def test_server_listens_on_localhost_only(server):
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False
    port = int(server.rsplit(":", 1)[1])
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None)}
    for address in addresses - {"127.0.0.1", "::1"}:  # this machine's other addresses
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
            s.settimeout(1)
            assert s.connect_ex((address, port)) != 0, f"server reachable on {address}"


@pytest.fixture
def ready_server(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KNAS_DATA_DIR", str(tmp_path / "data"))
    settings.save(AppSettings(datasets={"cifar10": str(shared_data / "cifar10" / "cifar10_small.npz")}))
    with running_app(tmp_path / "server.log") as app:
        yield app.url


def test_a_search_on_a_space_defined_in_a_file(ready_server):
    """The example space, picked on New search (a file is loaded only once trusted), searched
    with a training fine stage, to the result on the Live page."""
    sync_api = _require_browser()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(60_000)
        _open(page, f"{ready_server}/new_search", "New search")
        page.get_by_role("combobox", name="Search space").click()
        page.get_by_role("option", name="a space in a Python file…").click()
        _settle(page)
        page.get_by_label("Space file").fill(f"{REPO / 'examples' / 'tinycnn.py'}:TinyCNN")
        page.get_by_label("Space file").press("Enter")
        _settle(page)
        page.get_by_text("Tick “I trust this file” to load it.").wait_for()
        assert page.get_by_text("Start search").count() == 0  # nothing loads before consent
        page.get_by_text("I trust this file: loading it").click()
        _settle(page)
        page.get_by_text("Train each candidate").click()
        _settle(page)
        _set_number(page, "Training images per candidate", 200)
        _set_number(page, "Cells", 8)
        _set_number(page, "Samples per network (n)", 8)
        _set_number(page, "Top-k kept", 2)
        page.get_by_text("Expected time").wait_for()
        page.get_by_role("button", name="Start search").click()

        page.wait_for_url("**/live?job=*", timeout=60_000)
        page.get_by_text("Chosen cell: index").first.wait_for(timeout=300_000)
        _settle(page)
        assert page.get_by_text("picked cell").count() >= 1  # accuracy measured on the test split
        assert page.get_by_text("width_1=").count() >= 1  # the space's own arch strings
        assert page.locator("svg.knas-cell").count() >= 2  # and its own diagrams
        assert page.get_by_text("Traceback").count() == 0
        _shot(page, "live_user_space")
        browser.close()


def test_live_draws_accuracy_against_latency_under_a_budget(ready_server, shared_data):
    """A real background search under a Pixel 3 latency budget; the Live page says so in its
    headline and draws the accuracy-latency plot with the true front and the budget line."""
    from knas import jobs
    from knas.search.config import SearchConfig

    sync_api = _require_browser()
    config = SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz"),
                          truth=str(shared_data / "nb201" / "nb201_accuracies.csv"),
                          latency=str(shared_data / "hw" / "nb201_latency.csv"),
                          max_latency=("pixel3:10.7",), proxy="params", pool="random:40", k=5,
                          n=4, fine="lookup:cifar10_valid", baselines=("random",), device="cpu")
    store = jobs.JobStore()
    job_id = jobs.start(config, store)
    assert wait_for_job(store, job_id, timeout=300).status.is_finished
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(60_000)
        _open(page, f"{ready_server}/live?job={job_id}", "Live run")
        page.get_by_text("Under latency on Pixel 3 ≤ 10.7 ms").first.wait_for()
        page.get_by_text("params: accuracy against latency on Pixel 3").first.wait_for()
        assert page.get_by_text("true front (every cell that fits)").count() >= 1
        assert page.get_by_text("budget 10.7 ms").count() >= 1
        assert page.get_by_text("Traceback").count() == 0
        page.get_by_text("params: accuracy against latency on Pixel 3").first.scroll_into_view_if_needed()
        _shot(page, "live_latency", height=1000)
        browser.close()


# what the layout check reads in the page: every cell diagram's box, and every metric or card
# value whose text is wider than its box (cut, or shown with an ellipsis)
_LAYOUT = """() => {
  const boxes = [...document.querySelectorAll('svg.knas-cell')].map(e => {
    const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; });
  const cut = [...document.querySelectorAll(
      '[data-testid="stMetricValue"], [data-testid="stMetricValue"] div, .knas-card-value')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent);
  return {boxes, cut, width: document.documentElement.clientWidth};
}"""


def _overlapping(boxes) -> list:
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1]


def test_layouts_hold_at_laptop_tablet_and_phone_widths(ready_server, shared_data):
    """A finished search beside random and REA: Live, Compare and Explorer at 1440, 1024 and
    390 px wide, a screenshot of each; no cell diagram overlaps another or leaves the screen, and
    no metric or result card shows a cut value."""
    from knas import jobs
    from knas.search.config import SearchConfig

    sync_api = _require_browser()
    nb201 = shared_data / "nb201"
    config = SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz"),
                          truth=str(nb201 / "nb201_accuracies.csv"), costs=str(nb201 / "nb201_costs.csv"),
                          table12=str(nb201 / "nb201_12epoch.csv"), proxy="params", pool="random:40",
                          k=6, n=4, fine=f"lookup:{nb201 / 'nb201_12epoch.csv'}:cifar10_test_12ep",
                          baselines=("random", "rea"), budget=4000.0, device="cpu")
    store = jobs.JobStore()
    job_id = jobs.start(config, store)
    assert wait_for_job(store, job_id, timeout=300).status.is_finished
    pages = {"live": (f"/live?job={job_id}", "Live run", "Chosen cell: index"),
             "compare": ("/compare", "Compare", "Rank correlation with"),
             "explorer": ("/explorer?arch=1234", "Explorer", "Cell 1234")}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for width in (1440, 1024, 390):
            page = browser.new_page(viewport={"width": width, "height": 1000})
            page.set_default_timeout(60_000)
            for name, (path, heading, ready) in pages.items():
                _open(page, f"{ready_server}{path}", heading)
                page.get_by_text(ready).first.wait_for()
                _settle(page)
                ARTIFACTS.mkdir(exist_ok=True)
                page.set_viewport_size({"width": width, "height": 2400})
                page.wait_for_timeout(500)
                page.screenshot(path=str(ARTIFACTS / f"layout_{name}_{width}.png"))
                found = page.evaluate(_LAYOUT)
                page.set_viewport_size({"width": width, "height": 1000})
                where = f"{name} at {width} px"
                assert _overlapping(found["boxes"]) == [], where
                assert all(b[0] >= -1 and b[2] <= found["width"] + 1 for b in found["boxes"]), where
                assert found["cut"] == [], (where, found["cut"])
                assert page.get_by_text("Traceback").count() == 0, where
            page.close()
        browser.close()
    assert all((ARTIFACTS / f"layout_{n}_{w}.png").stat().st_size > 10_000
               for n in pages for w in (1440, 1024, 390))


_CHIPS = """(box) => { const b = box.getBoundingClientRect();
  return [...box.querySelectorAll('span[title]')].map(t => { const r = t.getBoundingClientRect();
    return {text: t.textContent, cut: t.scrollWidth > t.clientWidth + 1,
            inside: r.top >= b.top - 1 && r.bottom <= b.bottom + 1 && r.left >= b.left - 1
                    && r.right <= b.right + 1}; }); }"""


def _choose_second_option(page, label, timeout_error, tries=5):
    """Open a multiselect's menu and click its second option. The menu can be closing when we look
    (a click on the box only closes one left open; a rerun redraws it), so each try waits a few
    seconds for the option to show and starts again from a closed menu if it does not."""
    combobox, option = page.get_by_role("combobox", name=label), page.get_by_role("option").nth(1)
    for _ in range(tries):
        try:
            if not option.is_visible():
                combobox.click()
            option.wait_for(state="visible", timeout=5_000)
            option.click(timeout=5_000)
            return
        except timeout_error:
            page.keyboard.press("Escape")
            _settle(page)
    raise AssertionError(f"the {label} menu did not offer a second option in {tries} tries")


def test_new_search_shows_every_chosen_baseline(ready_server):
    """Seven baselines chosen: every chip lies inside the Baselines box, none cut (Streamlit kept
    them on one line that scrolled sideways, showing only the last), at 1440 and at 390 px."""
    sync_api = _require_browser()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for width in (1440, 390):
            page = browser.new_page(viewport={"width": width, "height": 1400})
            page.set_default_timeout(60_000)
            _open(page, f"{ready_server}/new_search", "New search")
            box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Baselines").first
            for chosen in range(2, 8):  # random is chosen already
                _choose_second_option(page, "Baselines", sync_api.TimeoutError)
                box.locator("span[title]").nth(chosen - 1).wait_for()
                page.keyboard.press("Escape")
                _settle(page)
            chips = page.evaluate(_CHIPS, box.element_handle())
            assert len(chips) == 7, chips
            assert [c["text"] for c in chips if c["cut"] or not c["inside"]] == [], width
            page.close()
        browser.close()
