"""knas.report (the HTML run report) and the export command that writes it and its siblings."""
import html
import os
import subprocess
import sys

import pandas as pd

from knas import benchmark, costs, jobs, report, runview, space
from knas.config import SearchConfig
from knas.specs import Pool
from tests.conftest import REPO, finished_job


def test_html_report_holds_the_run_escaped_with_plotly(runtime, shared_data, truth):
    store = jobs.JobStore()
    job_id, config, events = finished_job(store, shared_data, truth)
    values = config.to_dict()
    values["note"] = "<script>alert('x')</script> & more"  # any text a config carries is escaped
    page = report.html_report(values, store.state(job_id), events, truth)

    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "<script>alert(" not in page
    assert "<script" in page and "Plotly" in page  # plotly.js embedded, figures drawn
    results = runview.results_frame(events)
    for arch_str in results["arch_str"]:
        assert html.escape(arch_str) in page
    for row in runview.summary(events):
        assert f"{row['test_accuracy_mean']:.2f} ± {row['test_accuracy_std']:.2f}" in page
        assert html.escape(row["method"]) in page
    best_index, best_value = benchmark.best(truth, "cifar10_test")
    assert f"<b>{best_value:.2f}</b> (index {best_index}" in page
    assert "digraph cell" in page  # no graphviz here: the DOT source, escaped, in a <pre>
    assert "n0 -&gt; n1" in page or "<svg" in page


def test_html_report_of_an_unfinished_run_without_truth():
    config = SearchConfig(data="x.npz", pool="random:5", proxy="params", k=2).to_dict()
    events = [{"kind": "started", "methods": ["params"], "repeats": 1, "pool_size": 5, "k": 2,
               "best_possible": None}]
    for done, index in enumerate(Pool.parse("random:5").indices(), start=1):
        events.append({"kind": "scored", "method": "params", "repeat": 0, "index": index,
                       "values": {"params": float(costs.count_params(space.arch_at(index)))},
                       "built": 1, "done": done, "total": 5, "rate": 1.0})
    page = report.html_report(config, {"status": "running"}, events)
    assert "has not finished" in page and "running" in page
    assert "<script" in page  # the score histogram
    assert report.html_report({}, {}, []).startswith("<!DOCTYPE html>")


def test_export_cli_writes_module_string_scores_and_report(runtime, shared_data, truth):
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
    report = runtime / "report.html"
    cli("--job", job_id, "--out", str(report))
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") or "<html" in html[:200]
    assert "<script" in html
