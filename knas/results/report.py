"""What a run looks like outside the app: a self-contained HTML report to email (headline first,
static SVG figures, every value HTML-escaped, no script and no external request) and a one-page
PNG or PDF summary for slides."""
from __future__ import annotations

import time

import pandas as pd

from knas import spaces
from knas.data import benchmark, datasets, latency
from knas.errors import KnasError
from knas.results import (cellsvg, columns, headline, latencyview, references, runview, scorefile,
                          staticfigs, stats)
from knas.search import constraints
from knas.fmt import html_escape as _e
from knas.search.events import JobState


class ReportError(KnasError):
    """A report cannot be made from this run (yet)."""


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
.headline { font-size: 1.25em; font-weight: 600; } .figure svg { max-width: 100%; height: auto; }
.cell { display: flex; gap: 1.5em; align-items: center; flex-wrap: wrap; }
"""


def html_report(config: dict, state: JobState | None, events: list, truth_table=None) -> str:
    """A self-contained HTML page about one run, for people who will not open the dashboard.
    It opens with the headline and the accuracy chart, then the chosen cell as a picture, then
    the details (tables, scatter, correlations, cost axis); settings and local paths close it in
    an appendix. Figures are static SVG (``knas.results.staticfigs``): no JavaScript, nothing loaded
    from anywhere. Every value is HTML-escaped."""
    config, state = dict(config or {}), state or JobState()
    view = _View(config, state, list(events or []), truth_table)
    parts = ["<h1>KNAS search report</h1>"]
    line = headline.headline(view.events, view.space, config.get("dataset", ""))
    if line is not None:
        beside = f" <span class='muted'>({_e(line.published_text)})</span>" \
            if line.published_text else ""
        parts.append(f"<p class='headline'>{_e(line.text)}{beside}</p>")
        parts.append(headline.cards_html(line.cards()))
    else:
        parts.append("<p class='muted'>No result yet: the run has not finished a search.</p>")
    parts.append(f"<p class='muted'>Status <b>{_e(state.status)}</b>"
                 f"{_when(' · finished ', state.finished)} · generated "
                 f"{_e(_stamp(time.time()))} by KNAS Studio. Training-free NAS on "
                 f"{_e(view.space.label or view.space.name)} (Xu et al., KNAS, ICML 2021).</p>")
    if state.error:
        parts.append(f"<p><b>Error:</b> {_e(state.error)}</p>")
    if not view.table.empty and view.table["test_accuracy_mean"].notna().any():
        parts.append(_figure(staticfigs.accuracy_intervals(view.table, view.best_value,
                                                           view.published), "accuracy"))
    for index in view.chosen[:1]:
        parts.append("<h2>The chosen cell</h2>")
        parts.append(_cell_block(view.space, index, view.dataset))

    parts.append("<h2>Details</h2>")
    if view.best:
        parts.append(f"<p>Best possible in the space on <code>{_e(view.best['column'])}</code>: "
                     f"<b>{view.best['value']:.2f}</b> (index {view.best['index']}, "
                     f"<code>{_e(view.space.format(view.space.arch_at(view.best['index'])))}</code>)"
                     ".</p>")
    if view.summary:
        shown = runview.paper_table_shown(view.table, one_run=True)
        parts.append(_frame_table(shown))
        parts.append(f"<p class='muted'>{_e(runview.energy_note())}</p>")
    else:
        parts.append("<p class='muted'>No summary: the run has not finished.</p>")
    if len(view.chosen) > 1:
        parts.append("<h3>The other chosen cells</h3>")
        parts += [_cell_block(view.space, index, view.dataset) for index in view.chosen[1:]]
    if not view.results.empty:
        parts.append("<h3>Every search</h3>")
        parts.append(_frame_table(view.results.drop(columns=["arch_str", "device"])))
    parts += [_figure(fig, f"fig{i}") for i, fig in enumerate(_detail_figures(view))]
    published = references.find(view.space, dataset=config.get("dataset"))
    if published:
        parts.append("<h3>Published results (reference rows, not measured here)</h3>")
        parts.append(_frame_table(references.table(published)))

    parts.append("<h2>Appendix: settings and paths</h2>")
    parts.append(_kv_table([(k, ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
                            for k, v in config.items()]
                           + [("started", _stamp(state.started) if state.started else ""),
                              ("finished", _stamp(state.finished) if state.finished else "")]))
    title = f"KNAS report · {config.get('dataset', '')} · {view.primary}"
    return ("<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>{_e(title)}</title>\n<style>{_REPORT_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")


class _View:
    """What the report and the one-page summary show about a run, computed once."""

    def __init__(self, config: dict, state: JobState, events: list, truth_table):
        self.events, self.config = events, config
        self.primary = config.get("proxy", "")
        self.dataset = config.get("dataset")
        self.space = spaces.get(config.get("space") or spaces.DEFAULT)
        self.column = config.get("report") or (self.space.truth_columns(self.dataset).test
                                               if self.dataset in datasets.CATALOG else "")
        self.summary = runview.summary(events) or state.summary or []
        self.results = runview.results_frame(events)
        self.table = runview.paper_table({"this run": self.summary})
        self.best = _best_possible(runview.started(events), truth_table, self.column)
        self.best_value = self.best["value"] if self.best else None
        self.published = references.find(self.space, "KNAS", config.get("dataset"))
        self.chosen = _chosen_cells(self.results, self.primary)
        self.truth = truth_table if truth_table is not None \
            and self.column in getattr(truth_table, "columns", ()) else None
        self.scores = runview.job_scores(events, self.space, repeat=0)
        self.proxies = scorefile.proxy_columns(self.scores)
        method = (runview.started(events).methods or (self.primary,))[0] if events else ""
        self.ranking = runview.ranking_column(method) if method else ""
        frame = runview.live_frame(events, self.space, method, 0) if method else self.scores
        self.frame = frame.assign(**{self.column: scorefile.truth_for(frame, self.truth, self.column)}) \
            if self.truth is not None and len(frame) else frame
        self.topk = runview.latest_topk(events, method=method, repeat=0) if method else []
        self.chosen_0 = runview.chosen_cell(events, method, 0) if method else None


def _detail_figures(view: _View) -> list:
    figures = []
    if view.truth is not None and view.ranking in view.frame.columns and len(view.frame):
        figures.append(staticfigs.scatter(view.frame, view.ranking, view.column, view.topk,
                                          view.chosen_0))
        names = [n for n in view.proxies + [view.ranking] if n in view.frame.columns]
        names = list(dict.fromkeys(names))  # a baseline's proxy is not in the searched method's frame
        table = stats.correlation_table(view.frame, names, view.frame[view.column])
        figures.append(staticfigs.correlation_bars(table))
    device = _latency_figure(view)
    if device is not None:
        figures.append(device)
    curves = runview.anytime_frame(view.events)
    if len(curves) or (view.results["search_seconds"].fillna(0) > 0).any():
        figures.append(staticfigs.anytime(curves, view.results,
                                          references.find(view.space, dataset=view.dataset)))
    return figures


def _latency_figure(view: _View):
    """The accuracy-latency plot of the searched method's first repeat, when the run has one."""
    measure = latencyview.axis(view.events)
    method = (runview.started(view.events).methods or ("",))[0]
    if measure is None or view.truth is None or not method:
        return None
    from knas.search.config import SearchConfig

    config = SearchConfig.from_dict(view.config)
    accuracy = view.truth[view.column]
    cells = latencyview.frame(view.events, method, 0, accuracy)
    front = latencyview.true_front(config, view.space, measure, accuracy)
    device = latency.label(constraints.device_of(measure))
    return staticfigs.latency(cells, front, latencyview.budget(config, measure),
                              f"latency on {device} (ms)", f"{method}: accuracy against latency")


def _figure(fig, salt: str) -> str:
    return f"<div class='figure'>{staticfigs.to_svg(fig, salt)}</div>"


def _cell_block(space, index: int, dataset: str = "cifar10") -> str:
    """A cell's diagram, arch string and (where the space knows them) its sizes for the data
    set's head and images."""
    arch = space.arch_at(index)
    facts = datasets.CATALOG.get(dataset) or datasets.info("cifar10")
    params = space.count_params(arch, facts.num_classes)
    flops = space.count_flops(arch, facts.num_classes, facts.image_side)
    sizes = " · ".join(text for value, text in (
        (params, f"{(params or 0) / 1e6:.3f} M parameters"),
        (flops, f"{(flops or 0) / 1e6:.2f} M FLOPs")) if value is not None)
    return (f"<div class='cell'>{cellsvg.cell_svg(space, arch, title=f'index {index}')}"
            f"<p><code>{_e(space.format(arch))}</code>" + (f"<br>{sizes}" if sizes else "")
            + "</p></div>")


def summary_image(config: dict, state: JobState | None, events: list, truth_table=None,
                  fmt: str = "png") -> bytes:
    """The run on one 16:9 page (PNG or PDF) for a slide (``summary_figure``)."""
    return staticfigs.to_bytes(summary_figure(config, state, events, truth_table), fmt)


def summary_figure(config: dict, state: JobState | None, events: list, truth_table=None):
    """Headline, accuracy against search cost, the chosen cell and the scatter
    (``staticfigs.summary_page``); the footer names tables by file name, never by path."""
    config, state = dict(config or {}), state or JobState()
    view = _View(config, state, list(events or []), truth_table)
    line = headline.headline(view.events, view.space, config.get("dataset", ""))
    if line is None or not view.chosen:
        raise ReportError("no finished search with a known accuracy to summarise yet")
    text = line.text + (f" ({line.published_text})" if line.published_text else "")
    footer = (f"KNAS Studio · {config.get('dataset', '')} · pool {config.get('pool', '')} · "
              f"k = {config.get('k', '')} · n = {config.get('n', '')} · fine stage: "
              f"{columns.fine_stage(config.get('fine', ''))} · generated {_stamp(time.time())}")
    return staticfigs.summary_page(text, runview.anytime_frame(view.events), view.results,
                                   view.space, view.chosen[0], view.frame, view.ranking,
                                   view.column if view.truth is not None else "", view.topk,
                                   view.published, footer)


def _stamp(seconds) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(seconds)))


def _when(prefix: str, seconds) -> str:
    return f"{prefix}{_e(_stamp(seconds))}" if seconds else ""


def _kv_table(rows) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _frame_table(frame: pd.DataFrame) -> str:
    """A table under people's labels with the app's formats (``knas.results.columns``)."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    shown = columns.text_frame(frame)
    head = "".join(f"<th>{_e(c)}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td class='num'>{_e(v)}</td>" if is_num else f"<td>{_e(v)}</td>"
                                    for v, is_num in zip(row, numeric)) + "</tr>"
                   for row in shown.itertuples(index=False))
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            "</table></div>")


def _best_possible(started: dict, truth_table, column: str):
    if started.best_possible:
        return started.best_possible
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


def report_file_name(job_id: str) -> str:
    return f"knas_report_{job_id[:12]}.html"


def summary_file_name(job_id: str, fmt: str = "png") -> str:
    return f"knas_summary_{job_id[:12]}.{fmt}"
