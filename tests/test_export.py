"""knas.export: the stand-alone PyTorch module, the HTML report, scores CSVs and the page helpers."""
import html
import json
import math
import random
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from knas import benchmark, costs, export, jobs, runview, space
from knas.search import RANDOM, MethodResult, SearchConfig, summarise
from tests.conftest import REPO

VENV_PYTHON = REPO / ".venv" / "bin" / "python"
CELL_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


# --- a finished job made of real numbers, without running torch ----------------------------------


def search_events(config: SearchConfig, truth: pd.DataFrame) -> list[dict]:
    """The events ``Search.events()`` yields for ``config`` with the ``params``/``flops`` proxies
    (whose scores are closed-form counts) and a lookup fine stage: the real event schema, the
    real pool, scores and accuracies, but no network built."""
    fine_column = config.fine.split(":", 1)[1]
    events = [{"kind": "started", "methods": list(config.methods), "repeats": config.repeats,
               "pool_size": len(space.parse_pool(config.pool, config.seed)), "k": config.k,
               "best_possible": dict(zip(("index", "value"), benchmark.best(truth, config.report_column)),
                                     column=config.report_column)}]
    results = []
    for repeat in range(config.repeats):
        seed = config.seed + repeat
        pool = space.parse_pool(config.pool, seed)
        for method in config.methods:
            if method == RANDOM:
                topk, scored = random.Random(seed).sample(pool, config.k), 0
            else:
                members = method.split(":", 1)[1].split("+") if method.startswith("ensemble:") else [method]
                values = {}
                for done, index in enumerate(pool, start=1):
                    arch = space.arch_at(index)
                    values[index] = {m: float(costs.count_params(arch) if m == "params"
                                              else costs.count_flops(arch)) for m in members}
                    events.append({"kind": "scored", "method": method, "repeat": repeat, "index": index,
                                   "values": values[index], "built": 1, "done": done,
                                   "total": len(pool), "rate": 10.0})
                topk = sorted(values, key=lambda i: (-values[i][members[0]], i))[:config.k]
                scored = len(pool)
            events.append({"kind": "topk", "method": method, "repeat": repeat, "indices": topk,
                           "final": True})
            chosen = max(topk, key=lambda i: (truth.at[i, fine_column], -i))
            result = MethodResult(method=method, repeat=repeat, seed=seed, chosen=chosen,
                                  arch_str=space.to_str(space.arch_at(chosen)),
                                  test_accuracy=float(truth.at[chosen, config.report_column]),
                                  fine_score=float(truth.at[chosen, fine_column]), topk=topk,
                                  coarse_seconds=0.5, fine_seconds=0.01, networks_scored=scored,
                                  networks_trained=0)
            results.append(result)
            events.append({"kind": "method_done", "result": result.__dict__.copy()})
    events.append({"kind": "finished", "summary": summarise(results), "seconds": 1.0})
    return events


def finished_job(store: jobs.JobStore, shared_data, truth: pd.DataFrame, **changes):
    """Put a finished job (``search_events``) into ``store``; returns (id, config, events)."""
    values = dict(data=str(shared_data / "cifar10" / "cifar10_small.npz"),
                  truth=str(shared_data / "nb201" / "nb201_accuracies.csv"), pool="random:12",
                  proxy="ensemble:params+flops", baselines=("params", RANDOM), k=3, n=4,
                  fine="lookup:cifar10_valid", repeats=2)
    values.update(changes)
    config = SearchConfig(**values)
    events = search_events(config, truth)
    job_id, _ = store.claim(config)
    for event in events:
        store.append(job_id, event)
    store.update(job_id, status="finished", summary=events[-1]["summary"], started=time.time() - 5,
                 finished=time.time())
    return job_id, config, events


@pytest.fixture(scope="session")
def truth(shared_data) -> pd.DataFrame:
    return benchmark.load_table(shared_data / "nb201" / "nb201_accuracies.csv")


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


# --- the PyTorch module --------------------------------------------------------------------------

_CHECK = r"""
import importlib.util, json, sys
import torch
from knas import nets
out = []
for path, arch, num_classes in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location("generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.build()
    ref = nets.build(arch, num_classes=num_classes)
    net.load_state_dict(ref.state_dict())  # strict: same names and shapes
    net.eval(); ref.eval()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y, y_ref = net(x), ref(x)
    out.append({"arch_str": module.ARCH_STR,
                "params": sum(p.numel() for p in net.parameters()),
                "count": nets.count_params(arch, num_classes=num_classes),
                "keys_equal": list(net.state_dict()) == list(ref.state_dict()),
                "shape": list(y.shape), "max_diff": float((y - y_ref).abs().max())})
print(json.dumps(out))
"""


def test_generated_module_builds_the_same_network_as_knas_nets(tmp_path):
    cases = [(CELL_6111, 10),
             ("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|", 10),
             ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 100)]
    jobs_ = []
    for n, (arch, num_classes) in enumerate(cases):
        source = export.arch_module_source(arch, num_classes=num_classes)
        assert "knas" not in source.split('"""', 2)[2]  # stand-alone: the code imports only torch
        assert f"ARCH_STR = {arch!r}" in source
        path = tmp_path / f"cell_{n}.py"
        path.write_text(source)
        jobs_.append([str(path), arch, num_classes])
    python = str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable)
    out = subprocess.run([python, "-c", _CHECK, json.dumps(jobs_)], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    for (arch, num_classes), result in zip(cases, json.loads(out.stdout)):
        assert result["arch_str"] == arch
        assert result["params"] == result["count"] == costs.count_params(arch, num_classes=num_classes)
        assert result["keys_equal"]
        assert result["shape"] == [2, num_classes]
        assert result["max_diff"] < 1e-5


def test_module_source_names_the_cell_and_rejects_bad_input():
    source = export.arch_module_source(6111)
    assert CELL_6111 in source and "Benchmark index: 6111" in source and "def build(" in source
    assert export.module_file_name(CELL_6111) == "nb201_cell_6111.py"
    compile(source, "generated.py", "exec")
    with pytest.raises(space.ArchError):
        export.arch_module_source("|nor_conv_3x3~0|+|bogus~0|")
    with pytest.raises(export.ExportError):
        export.arch_module_source(6111, num_classes=0)


# --- the HTML report -----------------------------------------------------------------------------


def test_html_report_holds_the_run_escaped_with_plotly(runtime, shared_data, truth):
    store = jobs.JobStore()
    job_id, config, events = finished_job(store, shared_data, truth)
    values = config.to_dict()
    values["note"] = "<script>alert('x')</script> & more"  # any text a config carries is escaped
    page = export.html_report(values, store.state(job_id), events, truth)

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
    for done, index in enumerate(space.parse_pool("random:5"), start=1):
        events.append({"kind": "scored", "method": "params", "repeat": 0, "index": index,
                       "values": {"params": float(costs.count_params(space.arch_at(index)))},
                       "built": 1, "done": done, "total": 5, "rate": 1.0})
    page = export.html_report(config, {"status": "running"}, events)
    assert "has not finished" in page and "running" in page
    assert "<script" in page  # the score histogram
    assert export.html_report({}, {}, []).startswith("<!DOCTYPE html>")


# --- scores CSV ----------------------------------------------------------------------------------


def test_scores_csv_round_trips_exactly():
    indices = [6111, 0, 15624, 42, 7]
    frame = pd.DataFrame({
        "index": indices,
        "arch_str": [space.to_str(space.arch_at(i)) for i in indices],
        "mgm": [0.1 + 0.2, 1e-300, math.inf, -math.inf, 123456789.123456789],
        "params": [float(costs.count_params(space.arch_at(i))) for i in indices],
        "naswot": [np.nan, -1.5, 2.0, 3.25, 1 / 3],
    })
    text = export.scores_csv(frame)
    assert text.splitlines()[0] == "index,arch_str,mgm,params,naswot"
    back = export.read_scores_csv(text)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    pd.testing.assert_frame_equal(export.read_scores_csv(text.encode()), frame, check_exact=True)
    assert export.proxy_columns(back) == ["mgm", "params", "naswot"]


@pytest.mark.parametrize("text, message", [
    ("arch_str,mgm\nx,1\n", "no 'index' column"),
    ("index,mgm\n15625,1\n", "not an integer in 0..15624"),
    ("index,mgm\n3,1\n3,2\n", "appears more than once"),
    (f"index,arch_str,mgm\n0,{CELL_6111},1\n", "is not the cell at index 0"),
    ("index,arch_str\n0,\n", "no numeric proxy columns"),
    ("index,mgm\n", "a header but no rows"),
    ("", "not a CSV"),
])
def test_bad_scores_csv_says_what_is_wrong(text, message):
    with pytest.raises(export.ExportError, match=message):
        export.read_scores_csv(text)


def test_job_scores_line_up_the_methods_of_a_repeat(runtime, shared_data, truth):
    store = jobs.JobStore()
    _, config, events = finished_job(store, shared_data, truth)
    frame = export.job_scores(events, repeat=1)
    pool = space.parse_pool(config.pool, config.seed + 1)
    assert list(frame["index"]) == pool
    assert list(frame.columns) == ["index", "arch_str", "params", "flops"]
    assert list(frame["params"]) == [float(costs.count_params(space.arch_at(i))) for i in pool]
    assert export.job_scores([], 0).empty


def test_paper_table_has_mean_std_and_costs(runtime, shared_data, truth):
    store = jobs.JobStore()
    job_id, config, events = finished_job(store, shared_data, truth)
    table = export.paper_table({"run A": runview.summary(events)})
    assert list(table["method"]) == list(config.methods)
    row = table.set_index("method").loc[RANDOM]
    results = runview.results_frame(events)
    accuracies = results[results["method"] == RANDOM]["test_accuracy"]
    assert row["runs"] == 2
    assert row["test accuracy"] == f"{accuracies.mean():.2f} ± {accuracies.std(ddof=0):.2f}"
    assert row["networks_scored"] == 0
    assert export.job_label(job_id, config).startswith(job_id[:8])


# --- Explorer and Data helpers -------------------------------------------------------------------


def test_cached_scores_finds_this_cells_entries_only(runtime):
    from knas.cache import ScoreCache

    arch = space.arch_at(6111)
    cache = ScoreCache()
    canonical = space.canonical(arch)
    cache.set(f"v1|mgm|abc123|cifar10:ffff|{canonical}", 2.5)
    cache.set(f"v1|params|abc123|cifar10:ffff|{space.to_str(arch)}", 1073466.0)
    cache.set(f"v1|mgm|abc123|cifar10:ffff|nor_conv_3x3(x)+{canonical}", 9.0)  # another cell
    cache.set(f"v1|mgm|abc123|cifar10:ffff|{space.canonical(space.arch_at(0))}", 7.0)
    cache.close()
    rows = export.cached_scores(arch)
    assert sorted((r["proxy"], r["value"], r["dataset"]) for r in rows) == [
        ("mgm", 2.5, "cifar10"), ("params", 1073466.0, "cifar10")]
    assert export.cached_scores(arch, limit=1) and len(export.cached_scores(arch, limit=1)) == 1
    assert export.cached_scores(arch, directory=runtime / "nowhere") == []


def test_neighbour_rows(truth):
    rows = export.neighbour_rows(6111, truth)
    assert len(rows) == 24
    assert list(rows["index"]) == [space.index_of(a) for a in space.neighbours(space.arch_at(6111))]
    assert rows["cifar10_test"].notna().all()
    assert "cifar10_test" not in export.neighbour_rows(6111).columns


def test_clear_is_refused_without_the_word_and_while_a_job_runs(runtime, shared_data):
    from knas.cache import ScoreCache

    cache = ScoreCache()
    cache.set("v1|mgm|a|b|x", 1.0)
    store = jobs.JobStore()
    with pytest.raises(export.ExportError, match="type CLEAR"):
        export.clear_score_cache("", store=store, cache=cache)
    with pytest.raises(export.ExportError, match="type CLEAR"):
        export.clear_score_cache("clear", store=store, cache=cache)
    job_id, _ = store.claim(SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz")))
    assert store.active_ids() == [job_id]
    with pytest.raises(export.ExportError, match="queued or running"):
        export.clear_score_cache("CLEAR", store=store, cache=cache)
    assert len(cache) == 1
    store.update(job_id, status="cancelled")
    assert export.clear_score_cache("CLEAR", store=store, cache=cache) == 1
    assert len(cache) == 0


def test_convert_table_reports_a_bad_file(tmp_path):
    with pytest.raises(export.ExportError, match="file not found"):
        export.convert_table(tmp_path / "missing.pth")


def test_md_escape_keeps_arch_strings_literal():
    assert export.md_escape(CELL_6111).replace("\\", "") == CELL_6111
    assert "~" not in export.md_escape(CELL_6111).replace("\\~", "")
    assert export.md_escape("a_b *c* `d` $e$") == "a\\_b \\*c\\* \\`d\\` \\$e\\$"


def test_export_cli_writes_module_string_scores_and_report(runtime, shared_data, truth):
    import subprocess
    import sys
    import os

    from tests.conftest import REPO

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
    assert set(pd.read_csv(scores)["index"]) == set(space.parse_pool(config.pool, config.seed))
    report = runtime / "report.html"
    cli("--job", job_id, "--out", str(report))
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") or "<html" in html[:200]
    assert "<script" in html
