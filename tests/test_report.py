"""knas.results.report (the HTML report and the one-page summary) and the export command."""
import html
import os
import re
import subprocess
import sys
import time

import pandas as pd
import pytest

from knas.data import benchmark
from knas.spaces.nb201 import costs, cells as space
from knas.results import headline, report, runview
from knas import jobs
from knas.search.config import SearchConfig
from knas.search.events import JobState, JobStatus, event_from_dict
from knas.search.specs import Pool
from tests.conftest import NB201, REPO, finished_job

LIMIT_BYTES = 1_500_000  # a report must stay small enough to email


def _loads_anything(page: str) -> list[str]:
    """Every src/href that would fetch something over the network (in-page #ids are fine)."""
    return re.findall(r"""(?:src|href)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", page, re.I)


def test_html_report_opens_with_the_headline_and_the_cell(runtime, shared_data, truth):
    store = jobs.JobStore()
    job_id, config, events = finished_job(store, shared_data, truth)
    values = config.to_dict()
    values["note"] = "<script>alert('x')</script> & more"  # any text a config carries is escaped
    page = report.html_report(values, store.state(job_id), events, truth)

    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "<script" not in page  # static figures: no JavaScript at all
    assert _loads_anything(page) == []
    line = headline.headline(events, NB201, config.dataset)
    first_h2 = page.index("<h2>")
    assert html.escape(line.text) in page[:first_h2]  # the headline comes first
    cards = page.index("knas-cards")  # then the cards that tell the trade
    for label, value, note in line.cards():
        assert html.escape(value) in page[cards:first_h2] and html.escape(note) in page[cards:first_h2]
    assert page.index("<svg", first_h2) < page.index("Details")  # then the chosen cell, drawn
    chosen = runview.results_frame(events).query("method == @config.proxy")["chosen"].iloc[0]
    assert f"aria-label=\"cell {html.escape(space.to_str(space.arch_at(int(chosen))))}\"" in page
    assert page.index("Appendix") > page.index("Every search") and \
        page.index(html.escape(config.data)) > page.index("Appendix")  # local paths at the end
    for row in runview.summary(events):
        assert f"{row['test_accuracy_mean']:.2f} ± {row['test_accuracy_std']:.2f}" in page
    best_index, best_value = benchmark.best(truth, "cifar10_test")
    assert f"<b>{best_value:.2f}</b> (index {best_index}" in page
    assert "test_accuracy_mean" not in page and "coarse_seconds" not in page  # people's labels
    every = page[page.index("Every search"):page.index("Appendix")]
    repeats = re.findall(r"<tr><td>[^<]+</td><td class='num'>(\d+)</td>", every)
    assert sorted(set(repeats)) == ["1", "2"]  # repeats counted from 1, as in the app


def test_report_of_a_thousand_cells_stays_small_and_quick(runtime, shared_data, truth):
    store = jobs.JobStore()
    job_id, config, events = finished_job(store, shared_data, truth, pool="random:1000", k=10,
                                          repeats=1)
    start = time.perf_counter()
    page = report.html_report(config.to_dict(), store.state(job_id), events, truth)
    print(f"1,000-cell report: {len(page.encode()):,} bytes in {time.perf_counter() - start:.1f} s")
    assert len(page.encode()) < LIMIT_BYTES
    assert page.count("<svg") >= 4  # accuracy chart, chosen cell, scatter, correlation bars


def test_html_report_of_an_unfinished_run_without_truth():
    config = SearchConfig(data="x.npz", pool="random:5", proxy="params", k=2).to_dict()
    events = [{"kind": "started", "methods": ["params"], "repeats": 1, "pool_size": 5, "k": 2,
               "best_possible": None}]
    for done, index in enumerate(Pool.parse("random:5", NB201.size).indices(NB201), start=1):
        events.append({"kind": "scored", "method": "params", "repeat": 0, "index": index,
                       "values": {"params": float(costs.count_params(space.arch_at(index)))},
                       "built": 1, "done": done, "total": 5, "rate": 1.0})
    events = [event_from_dict(e) for e in events]
    running = JobState(status=JobStatus.RUNNING)
    page = report.html_report(config, running, events)
    assert "has not finished" in page and "running" in page and "No result yet" in page
    assert report.html_report({}, None, []).startswith("<!DOCTYPE html>")
    with pytest.raises(report.ReportError):
        report.summary_image(config, running, events)


def test_summary_image_is_a_one_page_png_or_pdf(runtime, shared_data, truth):
    store = jobs.JobStore()
    job_id, config, events = finished_job(store, shared_data, truth)
    png = report.summary_image(config.to_dict(), store.state(job_id), events, truth)
    assert png.startswith(b"\x89PNG") and len(png) > 50_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1600, 900)
    pdf = report.summary_image(config.to_dict(), store.state(job_id), events, truth, "pdf")
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1  # one page


def test_export_cli_writes_module_string_scores_report_and_summary(runtime, shared_data, truth):
    job_id, config, events = finished_job(jobs.JobStore(), shared_data, truth)

    def cli(*args):
        out = subprocess.run([sys.executable, "-m", "knas", "export", *args], cwd=REPO,
                             capture_output=True, text=True, env=os.environ)
        assert out.returncode == 0, out.stderr
        return out

    assert cli("--arch", "6111", "--format", "string", "--out", "-").stdout.strip() == \
        space.to_str(space.arch_at(6111))
    module = runtime / "cell.py"
    cli("--arch", "6111", "--out", str(module))
    assert "def build(" in module.read_text()
    scores = runtime / "scores.csv"
    cli("--job", job_id, "--format", "scores", "--out", str(scores))
    assert set(pd.read_csv(scores)["index"]) == set(config.pools()[0])
    page = runtime / "report.html"
    cli("--job", job_id, "--out", str(page))
    assert page.read_text().startswith("<!DOCTYPE html>") and "<svg" in page.read_text()
    summary = runtime / "summary.png"
    cli("--job", job_id, "--format", "summary", "--out", str(summary))
    assert summary.read_bytes().startswith(b"\x89PNG")


def test_the_slide_shows_the_trade_and_no_local_paths(runtime, shared_data, truth):
    """The 16:9 page draws accuracy against search cost (not accuracy alone), keeps its headline
    inside the page and names no file by its path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    store = jobs.JobStore()
    job_id, config, events = finished_job(store, shared_data, truth)
    fig = report.summary_figure(config.to_dict(), store.state(job_id), events, truth)
    trade = [ax for ax in fig.axes if "search seconds" in ax.get_xlabel()]
    assert trade and trade[0].get_xscale() == "log" and "accuracy" in trade[0].get_ylabel()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # tick labels are made when drawn
    renderer = canvas.get_renderer()
    page = fig.bbox
    texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    for t in fig.texts:  # headline and footer stay on the page
        box = t.get_window_extent(renderer)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    shown = "\n".join(t.get_text() for t in texts)
    assert str(shared_data) not in shown and "/" + "work" not in shown
    assert "fine stage: lookup of" in shown
    assert "mathdefault" not in shown and "$" not in shown  # tick labels as plain numbers
