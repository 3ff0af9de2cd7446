"""The HTML run report: one self-contained page about a job, for people who will not open the
dashboard (every value HTML-escaped, plotly's JavaScript embedded once, no external requests)."""
from __future__ import annotations

import math
import time

import pandas as pd

from . import benchmark, costs, datasets, plots, references, runview, scorefile, space, stats
from .fmt import html_escape as _e

_REPORT_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: Menlo, Consolas, monospace; font-size: .9em; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: .7em; overflow-x: auto; }
.muted { color: #666; } .figure { margin: 1em 0; } .scroll { overflow-x: auto; }
"""


def html_report(config: dict, state: dict, events: list, truth_table=None) -> str:
    """A self-contained HTML page about one run, for people who will not open the dashboard:
    its settings, the result table in the KNAS paper's form, every (method, repeat) result,
    the chosen cells (DOT diagrams, or SVG when the ``graphviz`` package and binary are there)
    and the figures (plotly, its JavaScript embedded once). Every value is HTML-escaped."""
    config, state = dict(config or {}), dict(state or {})
    events = list(events or [])
    report_column = config.get("report") or datasets.test_column(config.get("dataset", ""))
    summary = runview.summary(events) or state.get("summary") or []
    results = runview.results_frame(events)
    started = runview.started(events)
    primary = config.get("proxy", "")

    parts = ["<h1>KNAS search report</h1>",
             f"<p class='muted'>Status <b>{_e(state.get('status', 'unknown'))}</b>"
             f"{_when(' · started ', state.get('started') or state.get('created'))}"
             f"{_when(' · finished ', state.get('finished'))} · generated {_e(_stamp(time.time()))}"
             " by KNAS Studio. Training-free NAS on NAS-Bench-201 (Xu et al., KNAS, ICML 2021).</p>"]
    if state.get("error"):
        parts.append(f"<p><b>Error:</b> {_e(state['error'])}</p>")

    parts.append("<h2>Settings</h2>")
    parts.append(_kv_table([(k, ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
                            for k, v in config.items()]))

    parts.append("<h2>Results</h2>")
    best = _best_possible(started, truth_table, report_column)
    if best:
        parts.append(f"<p>Best possible in the space on <code>{_e(best['column'])}</code>: "
                     f"<b>{best['value']:.2f}</b> (index {best['index']}, "
                     f"<code>{_e(space.to_str(space.arch_at(best['index'])))}</code>).</p>")
    if summary:
        table = runview.paper_table({"this run": summary}).drop(columns=["run", "test_accuracy_mean",
                                                                  "test_accuracy_std"])
        table = table.rename(columns={"test accuracy": f"test accuracy ({report_column or 'n/a'}) mean ± std"})
        parts.append(_frame_table(table))
        parts.append(f"<p class='muted'>{_e(runview.energy_note())}</p>")
        published = references.find(dataset=config.get("dataset"))
        if published:
            parts.append("<h3>Published results (reference rows, not measured here)</h3>")
            parts.append(_frame_table(references.table(published)))
    else:
        parts.append("<p class='muted'>No summary: the run has not finished.</p>")
    if not results.empty:
        parts.append("<h3>Every search</h3>")
        parts.append(_frame_table(results))

    chosen = _chosen_cells(results, primary)
    if chosen:
        parts.append("<h2>Chosen cell" + ("s" if len(chosen) > 1 else "") + "</h2>")
        for index in chosen:
            arch = space.arch_at(index)
            parts.append(f"<p>Index {index}: <code>{_e(space.to_str(arch))}</code> · "
                         f"{costs.count_params(arch) / 1e6:.3f} M parameters · "
                         f"{costs.count_flops(arch) / 1e6:.2f} M FLOPs</p>")
            parts.append(_diagram(plots.cell_dot(arch, title=f"index {index}")))

    figures = _report_figures(events, summary, primary, truth_table, report_column,
                              config.get("dataset"))
    if figures:
        parts.append("<h2>Figures</h2>")
        for i, fig in enumerate(figures):
            parts.append("<div class='figure'>"
                         + fig.to_html(full_html=False, include_plotlyjs=(i == 0))
                         + "</div>")

    title = f"KNAS report · {config.get('dataset', '')} · {primary}"
    return ("<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>{_e(title)}</title>\n<style>{_REPORT_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")


def _stamp(seconds) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(seconds)))


def _when(prefix: str, seconds) -> str:
    return f"{prefix}{_e(_stamp(seconds))}" if seconds else ""


def _cell(value) -> str:
    if isinstance(value, float):
        text = "n/a" if math.isnan(value) else f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e5 \
            else f"{value:.2f}"
        return f"<td class='num'>{_e(text)}</td>"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"<td class='num'>{value}</td>"
    return f"<td>{_e(value)}</td>"


def _kv_table(rows) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _frame_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(_cell(_plain(v)) for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            "</table></div>")


def _plain(value):
    """numpy scalars as Python ones, so the cell formatting sees floats and ints."""
    return value.item() if hasattr(value, "item") else value


def _best_possible(started: dict, truth_table, column: str):
    if started.get("best_possible"):
        return started["best_possible"]
    if truth_table is not None and column in getattr(truth_table, "columns", ()):
        index, value = benchmark.best(truth_table, column)
        return {"index": index, "value": value, "column": column}
    return None


def _chosen_cells(results: pd.DataFrame, primary: str, limit: int = 5) -> list[int]:
    if results.empty:
        return []
    mine = results[results["method"] == primary]
    mine = mine if not mine.empty else results
    return [int(i) for i in dict.fromkeys(mine["chosen"])][:limit]


def _diagram(dot: str) -> str:
    """An inline SVG when graphviz (package and ``dot`` binary) is available, else the DOT text."""
    try:
        import graphviz

        svg = graphviz.Source(dot).pipe(format="svg").decode("utf-8")
        start = svg.find("<svg")
        if start >= 0:
            return f"<div class='figure'>{svg[start:]}</div>"
    except Exception:  # not installed, no binary, or a rendering failure: show the source
        pass
    return ("<p class='muted'>Graphviz DOT source (paste into any Graphviz viewer):</p>"
            f"<pre>{_e(dot)}</pre>")


def _report_figures(events, summary, primary, truth_table, column, dataset) -> list:
    import plotly.graph_objects as go

    figures = []
    results = runview.results_frame(events)
    if len(results) and results["search_seconds"].notna().any():
        figures.append(plots.anytime_plot(runview.anytime_frame(events), results,
                                          references.find(dataset=dataset)))
    with_acc = [r for r in summary if not math.isnan(_float(r.get("test_accuracy_mean")))]
    if with_acc:
        fig = go.Figure(go.Bar(
            x=[r["method"] for r in with_acc], y=[r["test_accuracy_mean"] for r in with_acc],
            error_y={"type": "data", "array": [_float(r["test_accuracy_std"]) for r in with_acc]},
            marker_color=plots.POINT_COLOUR, texttemplate="%{y:.2f}", textposition="outside"))
        fig.update_layout(title={"text": f"Test accuracy of the chosen cell ({column}), mean ± std"},
                          yaxis={"title": {"text": f"{column} (%)"}})
        figures.append(fig)
    frame = runview.job_scores(events, repeat=0)
    proxies = scorefile.proxy_columns(frame)
    if frame.empty or not proxies:
        return figures
    main = next((p for p in proxies if p == primary), proxies[0])
    has_truth = truth_table is not None and column in getattr(truth_table, "columns", ())
    if has_truth:
        scored = frame.assign(**{column: scorefile.truth_for(frame, truth_table, column)})
        topk = runview.latest_topk(events, method=primary, repeat=0) or None
        figures.append(plots.score_scatter(scored, main, column, highlight=topk,
                                           title=f"{main} vs {column} (repeat 0; top-k highlighted)"))
        table = stats.correlation_table(scored, proxies, scored[column])
        figures.append(plots.correlation_bars(table))
    else:
        figures.append(plots.score_histogram(frame, main))
    if len(proxies) > 1:
        figures.append(plots.correlation_heatmap(frame, proxies))
    return figures


def report_file_name(job_id: str) -> str:
    return f"knas_report_{job_id[:12]}.html"


def _float(value) -> float:
    return math.nan if value is None else float(value)
