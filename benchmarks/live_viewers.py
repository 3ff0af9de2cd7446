"""How far behind the worker the Live page runs when several browsers watch one job: the real
server (``streamlit run app.py``), a real running search, N sessions of the system Chromium on
``/live?job=ID`` for a while, and per session the delay between the worker's latest event and
what the page shows.

    python -m benchmarks.live_viewers --data ../shared/data/cifar10/cifar10_small.npz \\
        --truth ../shared/data/nb201/nb201_accuracies.csv --sessions 10 --seconds 60

Each page logs twice a second what its progress bar (cells scored) and its scatter's ``n = …``
show; a thread reads the job store ten times a second and notes when each count first appeared;
the lags are taken every ``--sample`` seconds of the window. A page showing count c at time t
lags by t minus the moment the worker had moved past c (0 when it shows the latest). Each
session first gets up to ``--warmup`` seconds to draw the job (how long it took is reported); a
session that never shows a count never drew the job. Each session has its own browser, as separate
people would. Also printed: the CPU (in cores) the server, the worker and the browsers used while
watching, which other load on the machine changes far less than the lags.
"""
from __future__ import annotations

import argparse
import bisect
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._report import machine
from tests.appserver import running_app

CHROMIUM = "/usr/bin/chromium"
# In each page, twice a second: what its progress bar and its scatter's title show. The page
# keeps the log itself, so reading it never waits on a busy page; a page too busy to run its
# timer shows nothing new, which the lag then counts.
LOGGER = """window.__knasLog = [];
setInterval(() => {
  const bar = document.querySelector('[data-testid="stProgress"]');
  const title = document.querySelector('.js-plotly-plot .gtitle');
  window.__knasLog.push([Date.now() / 1000, bar ? bar.innerText : '',
                         title ? title.textContent : '']);
}, 500);"""


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
            done = (self.store.state(self.job_id).progress or {}).get("done", 0)
            if not self.counts or done > self.counts[-1]:
                self.times.append(time.time())
                self.counts.append(done)

    def lag(self, shown: int, at: float) -> float:
        """Seconds since the worker moved past ``shown`` (0 if the page shows the latest)."""
        later = bisect.bisect_right(self.counts, shown)
        if later >= len(self.counts) or self.times[later] > at:
            return 0.0
        return at - self.times[later]


def _tree() -> dict:
    """pid -> parent pid of every process (Linux /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return parents


def _descendants(root: int, parents: dict) -> set:
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        out.add(pid)
        todo += [child for child, parent in parents.items() if parent == pid]
    return out


def cpu_seconds(groups: dict) -> dict:
    """CPU seconds (user + system) used so far by each group of processes: the server, the
    worker with its scoring processes, and the browsers (every other process this one started)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents = _tree()
    mine = _descendants(os.getpid(), parents) - {os.getpid()}
    trees = {name: _descendants(pid, parents) for name, pid in groups.items()}
    trees["browsers"] = mine - set().union(*trees.values())
    out = {}
    for name, pids in trees.items():
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                # own user + system time, and that of children it has reaped (a child that ends
                # between two readings moves its time to its parent instead of losing it)
                total += sum(int(f) for f in fields[11:15]) / tick
            except (OSError, IndexError, ValueError):
                continue
        out[name] = total
    return out


def _count(text: str, pattern: str) -> int | None:
    match = re.search(pattern, text.replace(",", ""))
    return int(match.group(1)) if match else None


class Health:
    """The server's health endpoint asked five times a second: how long each answer took (a
    blocked server answers late or not at all)."""

    def __init__(self, url: str):
        self.url, self.times = f"{url}/_stcore/health", []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        import urllib.request

        while not self.stop.wait(0.2):
            asked = time.time()
            try:
                urllib.request.urlopen(self.url, timeout=120).read()
            except OSError:
                pass
            self.times.append(time.time() - asked)


def watch(url: str, worker: Worker, sessions: int, seconds: float, sample: float,
          warmup: float, groups: dict, hostile: int = 0) -> tuple[list[dict], dict, list]:
    """Open the sessions, give them up to ``warmup`` seconds to draw the job once, watch for
    ``seconds``; then, every ``sample`` seconds of that window, what each page showed. With
    ``hostile``, one more browser opens ``/explorer?arch=`` followed by that many characters as
    the window starts, and the health endpoint's answer times are returned too."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        pages, browsers, opened = [], [], time.time()
        for _ in range(sessions):  # one browser each, as ten people would have (and no shared
            # limit on WebGL contexts, which one browser with ten plotly pages runs into)
            browsers.append(p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu",
                                                    "--disable-dev-shm-usage"]))
            context = browsers[-1].new_context(viewport={"width": 1440, "height": 1000})
            context.add_init_script(LOGGER)
            page = context.new_page()
            page.goto(f"{url}/live?job={worker.job_id}", wait_until="commit")
            pages.append(page)
        deadline = opened + warmup
        while time.time() < deadline and not all(_drawn(page) for page in pages):
            time.sleep(1.0)
        start, before = time.time(), cpu_seconds(groups)
        health = Health(url) if hostile else None
        if hostile:  # as any web page could send a user's browser there
            browsers.append(p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu"]))
            browsers[-1].new_page().goto(f"{url}/explorer?arch=|nor_conv_3x3~0|{'x' * hostile}",
                                         wait_until="commit")
        time.sleep(seconds)
        after = cpu_seconds(groups)
        if health:
            health.stop.set()
        logs = [page.evaluate("() => window.__knasLog") for page in pages]
        for browser in browsers:
            browser.close()
    used = {name: (after[name] - before.get(name, 0.0)) / seconds for name in after}
    return ([_session(log, worker, opened, start, start + seconds, sample) for log in logs], used,
            health.times if health else [])


def _drawn(page) -> bool:
    log = page.evaluate("() => window.__knasLog || []")
    return any(_count(bar, r"(\d+)/\d+") is not None for _, bar, _ in log)


def _session(log, worker: Worker, opened: float, start: float, end: float, sample: float) -> dict:
    """Lags at each sample time of the window: the page shows its latest logged count."""
    row = {"progress": [], "scatter": [], "updates": set(), "first": None}
    shown = {"progress": None, "scatter": None}
    entries, i, at = sorted(log), 0, start
    for t, bar, title in entries:
        if row["first"] is None and _count(bar, r"(\d+)/\d+") is not None:
            row["first"] = t - opened
    while at <= end:
        while i < len(entries) and entries[i][0] <= at:
            _, bar, title = entries[i]
            done, n = _count(bar, r"(\d+)/\d+"), _count(title, r"n = (\d+)")
            shown["progress"] = done if done is not None else shown["progress"]
            shown["scatter"] = n if n is not None else shown["scatter"]
            i += 1
        for what in ("progress", "scatter"):
            if shown[what] is not None:
                row[what].append(worker.lag(shown[what], at))
        if shown["progress"] is not None:
            row["updates"].add(shown["progress"])
        at += sample
    return row


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
    parser.add_argument("--hostile-link", type=int, default=0, metavar="CHARS",
                        help="one more session opens /explorer?arch= + CHARS characters as the "
                             "window starts; the health endpoint is timed throughout")
    args = parser.parse_args()
    os.environ.setdefault("KNAS_CACHE_DIR", tempfile.mkdtemp(prefix="knas-live-viewers-"))
    from knas import jobs
    from knas.ui import settings
    from knas.search.config import SearchConfig

    data, truth = str(Path(args.data).resolve()), str(Path(args.truth).resolve())
    settings.save(settings.AppSettings(datasets={"cifar10": data}, truth=truth))
    store = jobs.JobStore()
    config = SearchConfig(data=data, truth=truth, pool=args.pool, n=16, k=10,
                          fine="lookup:cifar10_valid")
    with running_app() as app:
        job_id = jobs.start(config, store)
        try:
            while (store.state(job_id).progress or {}).get("done", 0) < 1:
                time.sleep(0.5)
            worker = Worker(store, job_id)
            load = os.getloadavg()[0]
            groups = {"server": app.pid, "worker": store.state(job_id).pid}
            rows, used, health = watch(app.url, worker, args.sessions, args.seconds, args.sample,
                                       args.warmup, groups, args.hostile_link)
            worker.stop.set()
            load = (load + os.getloadavg()[0]) / 2
        finally:
            jobs.cancel(job_id, store)
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
    print("CPU used while watching (cores): " + ", ".join(f"{name} {value:.2f}"
                                                         for name, value in used.items()))
    if health:
        print(f"Health endpoint while a session opened /explorer?arch= + {args.hostile_link:,} "
              f"characters: {len(health)} answers, median {statistics.median(health):.3f} s, "
              f"slowest {max(health):.3f} s, {sum(t > 1.0 for t in health)} over 1 s.")


if __name__ == "__main__":
    main()
