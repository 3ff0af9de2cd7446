"""How far behind the worker the Live page runs when several browsers watch one job: the real
server (``streamlit run app.py``), a real running search, N sessions of the system Chromium on
``/live?job=ID`` for a while, and per session the delay between the worker's latest event and
what the page shows.

    python -m benchmarks.live_viewers --data ../shared/data/cifar10/cifar10_small.npz \\
        --truth ../shared/data/nb201/nb201_accuracies.csv --sessions 10 --seconds 60

Every ``--sample`` seconds each page's progress bar (cells scored) and its scatter's ``n = …``
are read; a thread reads the job store ten times a second and notes when each count first
appeared. A page showing count c at time t lags by t minus the moment the worker had moved past
c (0 when it shows the latest). Each session first gets up to ``--warmup`` seconds to draw the
job (how long it took is reported); a session that never shows a count never drew the job.
"""
from __future__ import annotations

import argparse
import bisect
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks._report import machine

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOWN = """() => {
  const bar = document.querySelector('[data-testid="stProgress"]');
  const title = document.querySelector('.js-plotly-plot .gtitle');
  return [bar ? bar.innerText : '', title ? title.textContent : ''];
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=REPO, env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("server did not start")


class Worker:
    """When each count of scored cells first appeared in the job store."""

    def __init__(self, store, job_id: str):
        self.store, self.job_id = store, job_id
        self.times, self.counts = [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.stop.wait(0.1):
            done = (self.store.state(self.job_id).get("progress") or {}).get("done", 0)
            if not self.counts or done > self.counts[-1]:
                self.times.append(time.time())
                self.counts.append(done)

    def lag(self, shown: int, at: float) -> float:
        """Seconds since the worker moved past ``shown`` (0 if the page shows the latest)."""
        later = bisect.bisect_right(self.counts, shown)
        if later >= len(self.counts) or self.times[later] > at:
            return 0.0
        return at - self.times[later]


def _count(text: str, pattern: str) -> int | None:
    match = re.search(pattern, text.replace(",", ""))
    return int(match.group(1)) if match else None


def _read(page) -> tuple[str, str] | None:
    try:
        return page.evaluate(SHOWN)
    except Exception:  # the page is between two drawings
        return None


def watch(url: str, worker: Worker, sessions: int, seconds: float, sample: float,
          warmup: float) -> list[dict]:
    """Open the sessions, give each up to ``warmup`` seconds to draw the job once, then read
    every page each ``sample`` seconds for ``seconds``."""
    from playwright.sync_api import sync_playwright

    rows = [{"progress": [], "scatter": [], "updates": set(), "first": None}
            for _ in range(sessions)]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        pages, opened = [], time.time()
        for _ in range(sessions):
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            page.goto(f"{url}/live?job={worker.job_id}", wait_until="commit")
            pages.append(page)
        while time.time() < opened + warmup and any(r["first"] is None for r in rows):
            for page, row in zip(pages, rows):
                shown = _read(page) if row["first"] is None else None
                if shown and _count(shown[0], r"(\d+)/\d+") is not None:
                    row["first"] = time.time() - opened
            time.sleep(0.5)
        end = time.time() + seconds
        while time.time() < end:
            tick = time.time()
            for page, row in zip(pages, rows):
                shown = _read(page)
                if shown is None:
                    continue
                at = time.time()
                done = _count(shown[0], r"(\d+)/\d+")
                if done is not None:
                    row["progress"].append(worker.lag(done, at))
                    row["updates"].add(done)
                n = _count(shown[1], r"n = (\d+)")
                if n is not None:
                    row["scatter"].append(worker.lag(n, at))
            time.sleep(max(0.0, sample - (time.time() - tick)))
        browser.close()
    return rows


def _stats(lags: list[float]) -> str:
    if not lags:
        return "never drawn | – | –"
    ordered = sorted(lags)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"{statistics.median(ordered):.1f} | {p90:.1f} | {ordered[-1]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sample", type=float, default=1.0, help="seconds between two readings")
    parser.add_argument("--warmup", type=float, default=120,
                        help="seconds each session may take to draw the job first")
    parser.add_argument("--pool", default="all", help="the watched job's pool")
    args = parser.parse_args()
    os.environ.setdefault("KNAS_CACHE_DIR", tempfile.mkdtemp(prefix="knas-live-viewers-"))
    from knas import jobs, settings
    from knas.config import SearchConfig

    data, truth = str(Path(args.data).resolve()), str(Path(args.truth).resolve())
    settings.save(settings.AppSettings(datasets={"cifar10": data}, truth=truth))
    port = _free_port()
    server = _server(port)
    store = jobs.JobStore()
    config = SearchConfig(data=data, truth=truth, pool=args.pool, n=16, k=10,
                          fine="lookup:cifar10_valid")
    job_id = jobs.start(config, store)
    try:
        while (store.state(job_id).get("progress") or {}).get("done", 0) < 1:
            time.sleep(0.5)
        worker = Worker(store, job_id)
        load = os.getloadavg()[0]
        rows = watch(f"http://127.0.0.1:{port}", worker, args.sessions, args.seconds, args.sample,
                     args.warmup)
        worker.stop.set()
        load = (load + os.getloadavg()[0]) / 2
    finally:
        jobs.cancel(job_id, store)
        server.terminate()
        server.wait(timeout=30)
    rate = (worker.counts[-1] - worker.counts[0]) / max(worker.times[-1] - worker.times[0], 1e-9)
    print(f"Machine: {machine()}; 1-min load average ≈ {load:.1f} (other sessions share the CPU).")
    print(f"Command: python -m benchmarks.live_viewers {' '.join(sys.argv[1:])}")
    print(f"The worker scored {worker.counts[-1] - worker.counts[0]} cells in the window "
          f"({rate:.1f} cells/s). Lag in seconds behind the worker's latest event, per session:")
    print("")
    print("| session | first drawn after s | progress updates seen | progress lag median | p90 | "
          "max | scatter lag median | p90 | max |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i, row in enumerate(rows, start=1):
        first = "never" if row["first"] is None else f"{row['first']:.0f}"
        print(f"| {i} | {first} | {len(row['updates'])} | {_stats(row['progress'])} | "
              f"{_stats(row['scatter'])} |")
    drawn = [r for r in rows if len(r["updates"]) > 1]
    worst = max((max(r["progress"]) for r in rows if r["progress"]), default=float("nan"))
    print(f"\n{len(drawn)} of {len(rows)} sessions updated; worst progress lag {worst:.1f} s.")


if __name__ == "__main__":
    main()
