"""Pure figure builders for the UI: a DataFrame in, a plotly figure (or a DOT string) out.

Torch-free on purpose: the Streamlit process draws these and never imports torch. Nothing here
reads session state or files, so every figure can be tested without a browser.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import space, stats

# Okabe-Ito colours (distinguishable under the common colour-vision deficiencies), one per op
# that `cell_dot` draws. `none` has no colour: it carries nothing, so it gets no edge.
OP_COLOURS = {
    "nor_conv_3x3": "#0072B2",  # blue
    "nor_conv_1x1": "#E69F00",  # orange
    "avg_pool_3x3": "#009E73",  # bluish green
    "skip_connect": "#CC79A7",  # reddish purple
}
OP_LABELS = {
    "nor_conv_3x3": "conv3x3",
    "nor_conv_1x1": "conv1x1",
    "avg_pool_3x3": "pool",
    "skip_connect": "skip",
}
DEAD_ALPHA = "40"  # appended to a colour as #RRGGBBAA: a dead edge is drawn at 25% opacity
POINT_COLOUR = "#0072B2"
HIGHLIGHT_COLOUR = "#D55E00"  # vermillion: contrasts with the blue of the other points
LOG_SPAN = 100.0  # more than 2 decades between the smallest and largest score


def _quote(text: str) -> str:
    """A DOT double-quoted string: arch strings hold `|` and `~`, titles may hold anything."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def cell_dot(arch, title=None) -> str:
    """The cell as a left-to-right Graphviz digraph, for ``st.graphviz_chart``.

    One edge per op that is not ``none``, labelled and coloured by op; ``none`` edges are left
    out (they carry nothing). Edges that cannot affect the output (``space.live_edges``) are
    dashed and faded, so a dead branch is visible but reads as dead.
    """
    ops = space.validate(arch)
    names = {0: "0\ninput", space.N_NODES - 1: f"{space.N_NODES - 1}\noutput"}
    lines = [
        "digraph cell {",
        '  graph [rankdir=LR, labelloc=t, fontname="Helvetica"'
        + (f", label={_quote(title)}" if title is not None else "") + "];",
        '  node [shape=circle, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    lines += [f"  n{node} [label={_quote(names.get(node, str(node)))}];" for node in range(space.N_NODES)]
    for (dst, src), op, live in zip(space.EDGES, ops, space.live_edges(ops)):
        if op == "none":
            continue
        colour = OP_COLOURS[op] if live else OP_COLOURS[op] + DEAD_ALPHA
        style = "solid" if live else "dashed"
        lines.append(
            f"  n{src} -> n{dst} [label={_quote(OP_LABELS[op])}, color={_quote(colour)}, "
            f"fontcolor={_quote(colour)}, style={style}];"
        )
    lines.append("}")
    return "\n".join(lines)


def auto_log(values) -> bool:
    """Whether a log axis suits these scores: all finite ones positive and spanning > 2 decades."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(len(v) and (v > 0).all() and v.max() / v.min() > LOG_SPAN)


def _plottable(values: pd.Series, log: bool) -> tuple[pd.Series, str]:
    """Mask of the scores an axis can show, and a note saying how many it leaves out and why."""
    finite = np.isfinite(values)
    shown = finite & (values > 0) if log else finite
    notes = []
    if (~finite).sum():
        notes.append(f"{int((~finite).sum())} infinite score(s) not shown")
    if (finite & ~shown).sum():
        notes.append(f"{int((finite & ~shown).sum())} score(s) ≤ 0 not shown on the log axis")
    return shown, " · ".join(notes)


def _fmt(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.3f}"


def _title(main: str, *details: str) -> dict:
    """A title with a smaller second line (a ``<sup>`` line renders in every plotly.js)."""
    sub = " · ".join(d for d in details if d)
    return {"text": main + (f"<br><sup>{sub}</sup>" if sub else "")}


def score_scatter(frame: pd.DataFrame, proxy: str, accuracy: str, log=None, highlight=None,
                  title=None) -> go.Figure:
    """Proxy score against accuracy, one point per architecture, with rho and tau in the title.

    Rows missing either value are dropped. rho and tau come from ``knas.stats`` over the rows
    left, infinite scores included (ranks handle them, as in ``stats.correlation_table``);
    infinite scores cannot be placed on an axis, so they are left out of the plot and the title
    says how many. ``log=None`` picks a log x-axis by ``auto_log``. Each point's ``customdata``
    is ``[index, arch_str]``, so a Streamlit selection maps back by ``point["customdata"][0]``.
    ``highlight`` (benchmark indices, e.g. the current top-k) is drawn as its own trace.
    """
    rows = frame.dropna(subset=[proxy, accuracy])
    x = rows[proxy].astype(float)
    ranked = stats.oriented(rows, proxy)  # rho of a smaller-is-better proxy is of its negation
    rho = stats.spearman(ranked, rows[accuracy])
    tau = stats.kendall(ranked, rows[accuracy])
    log = auto_log(x) if log is None else bool(log)
    shown, note = _plottable(x, log)
    rows = rows[shown]
    picked = rows["index"].isin(list(highlight or []))

    traces = [(rows[~picked], "architectures", POINT_COLOUR, 6, 0.6)]
    if highlight is not None:
        traces.append((rows[picked], "highlighted", HIGHLIGHT_COLOUR, 9, 0.95))
    fig = go.Figure([
        go.Scattergl(
            x=part[proxy], y=part[accuracy], mode="markers", name=name,
            marker={"color": colour, "size": size, "opacity": opacity},
            customdata=[[int(i), a] for i, a in zip(part["index"], part["arch_str"])],
            hovertemplate="index %{customdata[0]}<br>%{customdata[1]}<br>"
                          f"{proxy} %{{x:.4g}}<br>{accuracy} %{{y:.4g}}<extra></extra>",
        )
        for part, name, colour, size, opacity in traces
    ])
    fig.update_layout(
        title=_title(title or f"{proxy} vs {accuracy}",
                     f"Spearman ρ = {_fmt(rho)}", f"Kendall τ = {_fmt(tau)}", f"n = {len(x)}", note),
        xaxis_title=proxy + (" (log scale)" if log else ""), yaxis_title=accuracy,
        showlegend=highlight is not None,
    )
    fig.update_xaxes(type="log" if log else "linear")
    return fig


def score_histogram(frame: pd.DataFrame, proxy: str, log=None) -> go.Figure:
    """The distribution of one proxy's scores; with a log rule, bins are even in log10(score)."""
    x = frame[proxy].dropna().astype(float)
    log = auto_log(x) if log is None else bool(log)
    shown, note = _plottable(x, log)
    x = np.log10(x[shown]) if log else x[shown]
    fig = go.Figure(go.Histogram(x=x, marker={"color": POINT_COLOUR}, name=proxy))
    fig.update_layout(
        title=_title(f"{proxy} distribution", f"n = {int(shown.sum())}", note),
        xaxis_title=f"log10({proxy})" if log else proxy, yaxis_title="architectures",
        bargap=0.05,
    )
    return fig


def correlation_heatmap(frame: pd.DataFrame, proxies) -> go.Figure:
    """Spearman rho between every pair of proxies: which ones rank architectures alike."""
    proxies = list(proxies)
    z = np.empty((len(proxies), len(proxies)))
    for i, a in enumerate(proxies):
        z[i, i] = stats.spearman(frame[a], frame[a])
        for j in range(i + 1, len(proxies)):
            z[i, j] = z[j, i] = stats.spearman(frame[a], frame[proxies[j]])
    fig = go.Figure(go.Heatmap(
        z=z, x=proxies, y=proxies, zmin=-1, zmax=1, zmid=0, colorscale="RdBu",
        texttemplate="%{z:.2f}", hovertemplate="%{y} vs %{x}: ρ = %{z:.3f}<extra></extra>",
        colorbar={"title": {"text": "ρ"}},
    ))
    fig.update_layout(title=_title("Spearman ρ between proxies"))
    fig.update_yaxes(autorange="reversed")  # diagonal from top left, like a printed matrix
    return fig


def correlation_bars(table: pd.DataFrame) -> go.Figure:
    """Spearman rho and Kendall tau against ground truth, side by side per proxy."""
    fig = go.Figure([
        go.Bar(x=table["proxy"], y=table["spearman"], name="Spearman ρ", marker_color="#0072B2",
               texttemplate="%{y:.2f}"),
        go.Bar(x=table["proxy"], y=table["kendall"], name="Kendall τ", marker_color="#E69F00",
               texttemplate="%{y:.2f}"),
    ])
    fig.update_layout(barmode="group", title=_title("Rank correlation with accuracy"),
                      yaxis={"title": {"text": "correlation"}, "range": [-1, 1]})
    return fig


# --- the search-cost axis --------------------------------------------------------------------

METHOD_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
                  "#000000"]
REFERENCE_COLOUR = "#7f7f7f"


def anytime_curves(curves: pd.DataFrame, points: int = 80) -> pd.DataFrame:
    """Best-so-far test accuracy of each method's incumbent on a common log-spaced time grid:
    mean and std over repeats (a repeat counts from its first evaluation on)."""
    if curves.empty:
        return pd.DataFrame(columns=["method", "seconds", "mean", "std", "runs"])
    grid = np.geomspace(max(curves["clock"].min(), 1.0), curves["clock"].max(), points)
    rows = []
    for method, mine in curves.groupby("method", sort=False):
        runs = [run.sort_values("clock") for _, run in mine.groupby("repeat")]
        values = np.full((len(runs), len(grid)), np.nan)
        for r, run in enumerate(runs):
            at = np.searchsorted(run["clock"].to_numpy(), grid, side="right") - 1
            ok = at >= 0
            values[r, ok] = run["best_test"].to_numpy()[at[ok]]
        count = (~np.isnan(values)).sum(axis=0)
        with warnings.catch_warnings():  # columns before any repeat's first evaluation are empty
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        rows += [{"method": method, "seconds": t, "mean": m, "std": s, "runs": int(c)}
                 for t, m, s, c in zip(grid, mean, std, count) if c > 0]
    return pd.DataFrame(rows)


def anytime_plot(curves: pd.DataFrame, points: pd.DataFrame, references=(),
                 title: str | None = None) -> go.Figure:
    """Test accuracy of the chosen cell against search seconds (log axis), on one cost axis.

    ``curves`` (``runview.anytime_frame``): the classic strategies' incumbents over their
    simulated clock, drawn as mean lines with a ±1 std band over repeats. ``points``
    (``runview.results_frame``): two-stage searches (KNAS and its baselines), one marker per
    method at its mean search seconds and accuracy with ±1 std error bars in both directions.
    ``references`` (``knas.references.Reference``): published results, drawn grey and labelled
    "published", never mixed with what was measured."""
    fig = go.Figure()
    colours = iter(METHOD_COLOURS * 3)
    for method, line in anytime_curves(curves).groupby("method", sort=False):
        colour = next(colours)
        band_x = list(line["seconds"]) + list(line["seconds"][::-1])
        band_y = list(line["mean"] + line["std"]) + list((line["mean"] - line["std"])[::-1])
        fig.add_trace(go.Scatter(x=band_x, y=band_y, fill="toself", fillcolor=colour + "30",
                                 line={"width": 0}, hoverinfo="skip", showlegend=False,
                                 legendgroup=method))
        fig.add_trace(go.Scatter(
            x=line["seconds"], y=line["mean"], mode="lines", name=f"{method} (mean ± std)",
            line={"color": colour, "width": 2}, legendgroup=method,
            hovertemplate=f"{method}<br>%{{x:,.0f}} s<br>%{{y:.2f}}%<extra></extra>"))
    two_stage = points[points["method"].isin(set(points["method"]) - set(curves.get("method", [])))] \
        if len(points) else points
    for method, mine in two_stage.groupby("method", sort=False):
        colour = next(colours)
        x, y = mine["search_seconds"].astype(float), mine["test_accuracy"].astype(float)
        fig.add_trace(go.Scatter(
            x=[x.mean()], y=[y.mean()], mode="markers", name=method,
            marker={"color": colour, "size": 11, "symbol": "diamond"},
            error_x={"type": "data", "array": [x.std(ddof=0)], "color": colour},
            error_y={"type": "data", "array": [y.std(ddof=0)], "color": colour},
            hovertemplate=(f"{method}<br>%{{x:,.0f}} s<br>%{{y:.2f}}% (mean of {len(mine)})"
                           "<extra></extra>")))
    for ref in references:
        label = f"published: {ref.method} {ref.test_mean:.2f}"
        if getattr(ref, "search_seconds", None):
            fig.add_trace(go.Scatter(
                x=[ref.search_seconds], y=[ref.test_mean], mode="markers", name=label,
                marker={"color": REFERENCE_COLOUR, "size": 10, "symbol": "x-open"},
                error_y={"type": "data", "array": [ref.test_std or 0.0], "color": REFERENCE_COLOUR}))
        else:
            fig.add_hline(y=ref.test_mean, line={"color": REFERENCE_COLOUR, "dash": "dot",
                                                 "width": 1},
                          annotation_text=label, annotation_position="top left",
                          annotation_font={"color": REFERENCE_COLOUR, "size": 11})
    fig.update_layout(title=_title(title or "Accuracy against search cost",
                                   "simulated and measured seconds on one axis"),
                      xaxis_title="search seconds (log scale)",
                      yaxis_title="test accuracy of the chosen cell (%)", hovermode="closest")
    fig.update_xaxes(type="log")
    return fig
