"""Pure figure builders for the UI: a DataFrame in, a plotly figure out (cell diagrams are
``knas.results.cellsvg``, static figures for the report ``knas.results.staticfigs``). Colours
are Okabe-Ito (distinguishable under the common colour-vision deficiencies).

Torch-free on purpose: the Streamlit process draws these and never imports torch. Nothing here
reads session state or files, so every figure can be tested without a browser.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from knas.results import stats

POINT_COLOUR = "#0072B2"
HIGHLIGHT_COLOUR = "#D55E00"  # vermillion: contrasts with the blue of the other points
LOG_SPAN = 100.0  # more than 2 decades between the smallest and largest score
METHOD_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
                  "#000000"]
REFERENCE_COLOUR = "#7f7f7f"


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


def figure_title(main: str, *details: str) -> dict:
    """A title with a smaller second line (a ``<sup>`` line renders in every plotly.js)."""
    sub = " · ".join(d for d in details if d)
    return {"text": main + (f"<br><sup>{sub}</sup>" if sub else "")}


FENCE = 3.0  # an axis shows values within 3 interquartile ranges of the middle half
CHOSEN_COLOUR = "#F0E442"  # yellow star with a dark outline: the cell the fine stage picked


def robust_range(values, log: bool = False) -> tuple[float, float] | None:
    """An axis range that one outlier cannot set: the data within ``FENCE`` interquartile ranges
    of the quartiles (Tukey's far-out fences), padded by 4%; on a log axis, in log10. None when
    there is nothing finite to show."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
    if not len(v):
        return None
    v = np.log10(v) if log else v
    q1, q3 = np.percentile(v, [25, 75])
    lo, hi = max(v.min(), q1 - FENCE * (q3 - q1)), min(v.max(), q3 + FENCE * (q3 - q1))
    pad = (hi - lo) * 0.04 or max(abs(hi) * 0.01, 0.01)
    return float(lo - pad), float(hi + pad)


def _inside(values: pd.Series, bounds, log: bool) -> pd.Series:
    if bounds is None:
        return pd.Series(True, index=values.index)
    v = np.log10(values.where(values > 0)) if log else values
    return (v >= bounds[0]) & (v <= bounds[1])


def score_scatter(frame: pd.DataFrame, proxy: str, accuracy: str, log=None, highlight=None,
                  title=None, chosen: int | None = None) -> go.Figure:
    """Proxy score against accuracy, one point per architecture, with rho and tau in the title.

    Rows missing either value are dropped. rho and tau come from ``knas.results.stats`` over the rows
    left, infinite scores included (ranks handle them, as in ``stats.correlation_table``);
    infinite scores cannot be placed on an axis, so they are left out of the plot and the title
    says how many. ``log=None`` picks a log x-axis by ``auto_log``. Both axes span the bulk of
    the points (``robust_range``): a point outside is drawn on the edge as a triangle and the
    title counts them. The hover is short (index, score, accuracy); each point's ``customdata``
    is ``[index, arch_str, accuracy]``, so a Streamlit selection maps back by
    ``point["customdata"][0]`` and the page shows the whole cell. ``highlight`` (benchmark
    indices, the top-k) is drawn as its own trace, ``chosen`` (an index) as a star.
    """
    rows = frame.dropna(subset=[proxy, accuracy])
    x = rows[proxy].astype(float)
    lacking = len(frame) - len(rows)  # said in the title, so n adds up to the cells scored
    ranked = stats.oriented(rows, proxy)  # rho of a smaller-is-better proxy is of its negation
    rho = stats.spearman(ranked, rows[accuracy])
    tau = stats.kendall(ranked, rows[accuracy])
    log = auto_log(x) if log is None else bool(log)
    shown, note = _plottable(x, log)
    rows = rows[shown]
    x_range = robust_range(rows[proxy], log)
    y_range = robust_range(rows[accuracy])
    inside = _inside(rows[proxy].astype(float), x_range, log) & \
        _inside(rows[accuracy].astype(float), y_range, False)
    outside = int((~inside).sum())
    if lacking:
        note = " · ".join(n for n in (f"{lacking} of {len(frame):,} scored without a score or "
                                      "accuracy left out", note) if n)
    if outside:
        note = " · ".join(n for n in (note, f"{outside} outlier(s) drawn on the axis edge (▲)") if n)
    picked = rows["index"].isin(list(highlight or []))

    def edge(values: pd.Series, bounds, as_log: bool) -> pd.Series:
        if bounds is None:
            return values
        lo, hi = (10 ** b for b in bounds) if as_log else bounds
        return values.clip(lo, hi)

    traces = [(rows[~picked & inside], "architectures", POINT_COLOUR, 6, 0.6, "circle")]
    if highlight is not None:
        traces.append((rows[picked & inside], f"top-k (k={len(list(highlight))})",
                       HIGHLIGHT_COLOUR, 9, 0.95, "circle"))
    if outside:
        traces.append((rows[~inside], "outside the axis range", REFERENCE_COLOUR, 9, 0.8,
                       "triangle-up"))
    if chosen is not None and int(chosen) in set(rows["index"].astype(int)):
        traces.append((rows[rows["index"] == int(chosen)], "chosen cell ★", CHOSEN_COLOUR, 18, 1.0,
                       "star"))
    fig = go.Figure([
        go.Scattergl(
            x=edge(part[proxy].astype(float), x_range, log),
            y=edge(part[accuracy].astype(float), y_range, False), mode="markers", name=name,
            marker={"color": colour, "size": size, "opacity": opacity, "symbol": symbol,
                    "line": {"width": 1.5 if symbol == "star" else 0, "color": "#222222"}},
            customdata=[[int(i), a, float(acc), float(score)] for i, a, acc, score in
                        zip(part["index"], part["arch_str"], part[accuracy], part[proxy])],
            hovertemplate="index %{customdata[0]}<br>score %{customdata[3]:.3g}<br>"
                          "accuracy %{customdata[2]:.2f}<extra></extra>",
        )
        for part, name, colour, size, opacity, symbol in traces
    ])
    fig.update_layout(
        title=figure_title(title or f"{proxy} vs {accuracy}",
                     f"Spearman ρ = {_fmt(rho)}", f"Kendall τ = {_fmt(tau)}", f"n = {len(x)}", note),
        xaxis_title=proxy + (" (log scale)" if log else ""), yaxis_title=accuracy,
        showlegend=len(traces) > 1, legend={"orientation": "h", "y": -0.2},
    )
    fig.update_xaxes(type="log" if log else "linear", range=list(x_range) if x_range else None)
    fig.update_yaxes(range=list(y_range) if y_range else None)
    return fig


def score_histogram(frame: pd.DataFrame, proxy: str, log=None) -> go.Figure:
    """The distribution of one proxy's scores; with a log rule, bins are even in log10(score)."""
    x = frame[proxy].dropna().astype(float)
    log = auto_log(x) if log is None else bool(log)
    shown, note = _plottable(x, log)
    x = np.log10(x[shown]) if log else x[shown]
    fig = go.Figure(go.Histogram(x=x, marker={"color": POINT_COLOUR}, name=proxy))
    fig.update_layout(
        title=figure_title(f"{proxy} distribution", f"n = {int(shown.sum())}", note),
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
    fig.update_layout(title=figure_title("Spearman ρ between proxies"))
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
    values = table[["spearman", "kendall"]].to_numpy(dtype=float)
    low = min(0.0, float(values[np.isfinite(values)].min())) if np.isfinite(values).any() else 0.0
    fig.update_layout(barmode="group", title=figure_title("Rank correlation with accuracy"),
                      yaxis={"title": {"text": "correlation"}, "range": [low, 1]})
    return fig


def accuracy_intervals(table: pd.DataFrame, best: float | None = None, published=(),
                       title: str | None = None) -> go.Figure:
    """Mean ± std test accuracy per method as a dot with an interval, on an accuracy axis zoomed
    to the results (not 0–100), so differences of tenths of a percent are visible. ``table`` has
    ``method``, ``test_accuracy_mean``, ``test_accuracy_std`` and, for several runs, ``run``
    (``runview.paper_table``). ``best`` (the best cell in the space) and ``published``
    (``references.Reference``) are drawn as labelled grey lines."""
    rows = table.dropna(subset=["test_accuracy_mean"])
    several = "run" in rows and rows["run"].nunique() > 1
    labels = [f"{m} · {r}" if several else str(m)
              for m, r in zip(rows["method"], rows["run"] if "run" in rows else rows["method"])]
    mean = rows["test_accuracy_mean"].astype(float)
    std = rows["test_accuracy_std"].astype(float).fillna(0.0)
    fig = go.Figure(go.Scatter(
        x=mean, y=labels, mode="markers", name="mean ± std",
        marker={"color": POINT_COLOUR, "size": 12},
        error_x={"type": "data", "array": list(std), "color": POINT_COLOUR, "thickness": 2},
        customdata=list(zip(std, rows.get("runs", pd.Series(1, index=rows.index)))),
        hovertemplate="%{y}<br>%{x:.2f} ± %{customdata[0]:.2f}% over %{customdata[1]} "
                      "search(es)<extra></extra>"))
    edges = list(mean - std) + list(mean + std)
    marks = [(best, "best in the space")] if best is not None else []
    marks += [(r.test_mean, f"published {r.method}") for r in published]
    for value, text in marks:
        fig.add_vline(x=value, line={"color": REFERENCE_COLOUR, "dash": "dot", "width": 1},
                      annotation_text=f"{text} {value:.2f}", annotation_position="top",
                      annotation_font={"color": REFERENCE_COLOUR, "size": 11})
        edges.append(value)
    if edges:
        lo, hi = min(edges), max(edges)
        pad = max((hi - lo) * 0.08, 0.1)
        fig.update_xaxes(range=[lo - pad, hi + pad])
    fig.update_layout(title=figure_title(title or "Test accuracy of the chosen cell",
                                   "mean ± std over repeats; the axis is zoomed"),
                      xaxis_title="test accuracy (%)", showlegend=False,
                      height=160 + 40 * len(labels), margin={"l": 10, "r": 10})
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


# --- the search-cost axis --------------------------------------------------------------------



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


def anytime_axis(curves: pd.DataFrame, points: pd.DataFrame, references=()):
    """The anytime plot's accuracy axis, zoomed on where the searches end up (at most 4 points
    below the best mean, not their first random guesses) and widened to published figures just
    above, with the references (inside it, outside it): one outside (a collapsed DARTS at 54.30)
    is drawn on the edge with its value, never stretching the axis. No range without results."""
    means = list(anytime_curves(curves)["mean"]) + \
        (list(points["test_accuracy"].dropna()) if len(points) else [])
    if not means:
        return None, list(references), []
    best = max(means)
    low, high = max(min(means), best - 4.0), best
    high = max([high] + [r.test_mean for r in references if high < r.test_mean <= high + 2.0])
    inside = [r for r in references if low - 0.3 <= r.test_mean <= high + 0.3]
    return (low - 0.3, high + 0.3), inside, [r for r in references if r not in inside]


def anytime_plot(curves: pd.DataFrame, points: pd.DataFrame, references=(),
                 title: str | None = None) -> go.Figure:
    """Test accuracy of the chosen cell against search seconds (log axis), on one cost axis.

    ``curves`` (``runview.anytime_frame``): the classic strategies' incumbents over their
    simulated clock, drawn as mean lines with a ±1 std band over repeats. ``points``
    (``runview.results_frame``): two-stage searches (KNAS and its baselines), one marker per
    method at its mean search seconds and accuracy with ±1 std error bars in both directions.
    ``references`` (``knas.results.references.Reference``): published results, drawn grey and labelled
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
        # a cost of 0 s (a lookup with no recorded time) sits at 1 s on the log axis
        x, y = mine["search_seconds"].astype(float).clip(lower=1.0), mine["test_accuracy"].astype(float)
        fig.add_trace(go.Scatter(
            x=[x.mean()], y=[y.mean()], mode="markers", name=method,
            marker={"color": colour, "size": 11, "symbol": "diamond"},
            error_x={"type": "data", "array": [x.std(ddof=0)], "color": colour},
            error_y={"type": "data", "array": [y.std(ddof=0)], "color": colour},
            hovertemplate=(f"{method}<br>%{{x:,.0f}} s<br>%{{y:.2f}}% (mean of {len(mine)})"
                           "<extra></extra>")))
    unplaced = []
    y_range, references, outside = anytime_axis(curves, points, references)
    for ref in outside:  # on the axis' edge with their value: the measured results keep the axis
        below = ref.test_mean < y_range[0]
        fig.add_trace(go.Scatter(
            x=[ref.search_seconds] if getattr(ref, "search_seconds", None) else [None],
            y=[y_range[0] if below else y_range[1]], mode="markers+text",
            marker={"color": REFERENCE_COLOUR, "size": 10,
                    "symbol": "triangle-down" if below else "triangle-up"},
            text=[f"{ref.method} {ref.test_mean:.2f}"], textposition="top center" if below
            else "bottom center", name=f"published: {ref.method} {ref.test_mean:.2f} (off the axis)",
            cliponaxis=False))
    for ref in references:
        label = f"published: {ref.method} {ref.test_mean:.2f}"
        if getattr(ref, "search_seconds", None):
            fig.add_trace(go.Scatter(
                x=[ref.search_seconds], y=[ref.test_mean], mode="markers", name=label,
                marker={"color": REFERENCE_COLOUR, "size": 10, "symbol": "x-open"},
                error_y={"type": "data", "array": [ref.test_std or 0.0], "color": REFERENCE_COLOUR}))
        else:  # no published cost: a dotted level, named once in the note below
            fig.add_hline(y=ref.test_mean, line={"color": REFERENCE_COLOUR, "dash": "dot", "width": 1})
            unplaced.append(f"{ref.method} {ref.test_mean:.2f}")
    if unplaced:
        fig.add_annotation(text="published, no search cost given (dotted): " + ", ".join(unplaced),
                           xref="paper", yref="paper", x=0, y=-0.22, showarrow=False,
                           font={"color": REFERENCE_COLOUR, "size": 11}, xanchor="left")
    fig.update_layout(title=figure_title(title or "Accuracy against search cost",
                                   "simulated and measured seconds on one axis"),
                      xaxis_title="search seconds (log scale)",
                      yaxis_title="test accuracy of the chosen cell (%)", hovermode="closest")
    fig.update_xaxes(type="log")
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    return fig


def gram_heatmap(matrix, labels=None, title: str | None = None) -> go.Figure:
    """The Gram matrix G of per-sample gradients, G[i, j] = <g_i, g_j>, as a heatmap on a colour
    scale centred at 0 (agreeing samples red, opposing blue). Its mean is MGM."""
    g = np.asarray(matrix, dtype=float)
    bound = float(np.abs(g).max()) or 1.0
    names = [f"{i} (class {c})" for i, c in enumerate(labels)] if labels is not None \
        else [str(i) for i in range(len(g))]
    fig = go.Figure(go.Heatmap(
        z=g, x=names, y=names, zmin=-bound, zmax=bound, zmid=0, colorscale="RdBu_r",
        colorbar={"title": {"text": "<g_i, g_j>"}},
        hovertemplate="sample %{y} · sample %{x}<br><g_i, g_j> = %{z:.4g}<extra></extra>"))
    fig.update_layout(title=figure_title(title or "Gram matrix of per-sample gradients",
                                   f"n = {len(g)}", f"mean (MGM) = {g.mean():.4g}"))
    fig.update_yaxes(autorange="reversed")
    return fig
