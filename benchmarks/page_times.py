"""Page times of the real dashboard in a real browser: the real server (``streamlit run app.py``)
on a free port, the system Chromium driven by Playwright, and for each page the seconds from
asking until Streamlit has finished drawing it (``data-test-script-state`` back to notRunning
with the page's heading shown): a full load (a fresh browser tab, a warm server) and a warm click
on the sidebar link.

    python -m benchmarks.page_times --data ../shared/data/cifar10/cifar10_small.npz \\
        --truth ../shared/data/nb201/nb201_accuracies.csv --rounds 3

A small real search (random:100, n = 16) is run first, so Live and Compare have a finished job.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import machine
from tests.appserver import running_app

CHROMIUM = "/usr/bin/chromium"
PAGES = [("Home", "", "KNAS Studio"), ("New search", "new_search", "New search"),
         ("Live run", "live", "Live run"), ("Compare", "compare", "Compare"),
         ("Explorer", "explorer", "Explorer"), ("Data", "data", "Data")]
DONE = """([heading]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const h = [...document.querySelectorAll('h1')].some(e => e.textContent.trim() === heading);
  return app && app.dataset.testScriptState === 'notRunning' && h;
}"""


def _finished_job(data: str, truth: str) -> str:
    from knas import jobs
    from knas.ui import settings
    from knas.search.config import SearchConfig

    settings.save(settings.AppSettings(datasets={"cifar10": data}, truth=truth))
    config = SearchConfig(data=data, truth=truth, pool="random:100", n=16, k=10,
                          fine="lookup:cifar10_valid", baselines=("random",))
    store = jobs.JobStore()
    job_id = jobs.start(config, store)
    while store.state(job_id)["status"] in ("queued", "running"):
        time.sleep(1)
    return job_id


def _wait(page, heading: str, start: float) -> float:
    page.wait_for_function(DONE, arg=[heading], timeout=120_000, polling=20)
    return time.perf_counter() - start


def measure(url: str, job_id: str, rounds: int, pause: float = 0.0) -> dict:
    from playwright.sync_api import sync_playwright

    times = {name: {"first": None, "full": [], "click": []} for name, _, _ in PAGES}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for round_ in range(rounds + 1):
            for name, path, heading in PAGES:
                query = f"?job={job_id}" if path == "live" else ""
                tab = browser.new_page(viewport={"width": 1440, "height": 1000})
                start = time.perf_counter()
                tab.goto(f"{url}/{path}{query}")
                seconds = _wait(tab, heading, start)
                tab.close()
                if round_ == 0:
                    times[name]["first"] = seconds  # the first visit of this page on this server
                else:
                    times[name]["full"].append(seconds)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            start = time.perf_counter()
            page.goto(url)
            _wait(page, "KNAS Studio", start)
            for name, _, heading in PAGES[1:] + PAGES[:1]:
                time.sleep(pause)  # a user reading the previous page before the click
                start = time.perf_counter()
                page.locator('[data-testid="stSidebar"]').get_by_role("link", name=name).click()
                seconds = _wait(page, heading, start)
                if round_:
                    times[name]["click"].append(seconds)
            page.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds on each page before the next sidebar click (0: at once)")
    args = parser.parse_args()
    os.environ.setdefault("KNAS_CACHE_DIR", tempfile.mkdtemp(prefix="knas-page-times-"))
    print(f"Machine: {machine()}; command: python -m benchmarks.page_times "
          + " ".join(sys.argv[1:]))
    job_id = _finished_job(str(Path(args.data).resolve()), str(Path(args.truth).resolve()))
    with running_app() as app:
        times = measure(app.url, job_id, args.rounds, args.pause)
    print(f"| page | first visit s | full load s (median of {args.rounds}) | "
          f"warm sidebar click s (median, {args.pause:g} s after the previous page) |")
    print("|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t['first']:.2f} | {statistics.median(t['full']):.2f} | "
              f"{statistics.median(t['click']):.2f} |")


if __name__ == "__main__":
    main()
