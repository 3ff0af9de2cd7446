"""The real server in a real browser: Playwright drives the system Chromium against
``streamlit run app.py`` on 127.0.0.1, runs a quick search from the New search page, watches the
live page to the result card and saves a screenshot of every page under test-artifacts/."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from knas import settings
from knas.settings import AppSettings
from tests.conftest import REPO

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KNAS_DATA_DIR", str(tmp_path / "data"))
    settings.save(AppSettings(datasets={"cifar10": str(shared_data / "cifar10" / "cifar10_small.npz")},
                              truth=str(shared_data / "nb201" / "nb201_accuracies.csv"),
                              table12=str(shared_data / "nb201" / "nb201_12epoch.csv")))
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=os.environ, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"server did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


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


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _set_number(page, label, value):
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    _settle(page)


def test_quick_search_in_a_real_browser(server):
    sync_api = _require_browser()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)

        _open(page, server, "KNAS Studio")
        _shot(page, "home")

        _open(page, f"{server}/new_search", "New search")
        page.get_by_text("Start search").wait_for()
        _set_number(page, "Cells", 24)
        _set_number(page, "Samples per network (n)", 8)
        _set_number(page, "Top-k kept", 4)
        _shot(page, "new_search")
        page.get_by_role("button", name="Start search").click()

        page.wait_for_url("**/live?job=*", timeout=60_000)
        page.get_by_text("archs/s").first.wait_for(timeout=120_000)  # live progress
        _shot(page, "live_running")
        page.get_by_text("Chosen cell: index").first.wait_for(timeout=300_000)  # the result card
        _settle(page)
        assert page.locator(".js-plotly-plot").count() >= 1  # the scatter (and histogram)
        page.locator('[data-testid="stGraphVizChart"] svg').first.wait_for(timeout=60_000)
        assert page.locator('[data-testid="stGraphVizChart"] svg').count() >= 1  # cell diagrams
        _shot(page, "live_finished")
        job_url = page.url

        # The deep link works in a fresh tab, and the finished job is not polled any more: once
        # the page has drawn, the server sends nothing for several seconds (a polling fragment
        # would send its redraw every second).
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        frames = []
        tab.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(time.time())))
        _open(tab, job_url, "Live run")
        tab.get_by_text("Chosen cell: index").first.wait_for()
        time.sleep(2)
        quiet_from = time.time()
        time.sleep(4)
        assert frames, "no websocket traffic seen at all"
        assert [t for t in frames if t > quiet_from] == []

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
