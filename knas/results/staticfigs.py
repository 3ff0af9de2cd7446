"""Static figures for what leaves the app: SVG for the HTML report and a one-page PNG or PDF
summary for slides, drawn with matplotlib (no browser, no JavaScript, no network).

Why matplotlib: it is a long-kept, widely packaged library that writes SVG, PNG and PDF itself,
in-process; plotly would need a browser (kaleido) to do the same, and embedding plotly.js makes a
report 3.5 MB. The pages keep their interactive plotly figures (``knas.results.plots``); these draw the
same quantities (robust axes, starred chosen cell, zoomed accuracy axis). Torch-free.
"""
from __future__ import annotations

import io
import textwrap

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter, NullFormatter
from matplotlib.patches import Circle, FancyBboxPatch, PathPatch, Polygon

from knas.results import cellsvg, latencyview, plots, stats
from knas.spaces.diagram import RADIUS

# Every text here is plain: a column or path holding "$" (a user's "$cost" column) is not
# mathtext, which would fail to parse and lose the whole figure. Texts read this when created, so
# it is set for the process (matplotlib draws nothing else in the Studio).
matplotlib.rcParams["text.parse_math"] = False

_STYLE = {"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False,
          "axes.spines.right": False, "svg.hashsalt": "knas"}


def to_svg(fig: Figure, salt: str = "knas") -> str:
    """The figure as an inline ``<svg>`` element: no XML prolog or DOCTYPE (which names an
    external DTD), text kept as text, element ids salted so several figures share a page."""
    out = io.StringIO()
    with matplotlib.rc_context({**_STYLE, "svg.hashsalt": salt}):
        fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg"):]


def to_bytes(fig: Figure, fmt: str = "png", dpi: int = 100) -> bytes:
    out = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        fig.savefig(out, format=fmt, dpi=dpi, metadata={"CreationDate": None} if fmt == "pdf" else None)
    return out.getvalue()


# --- the figures ---------------------------------------------------------------------------------


def accuracy_intervals(table: pd.DataFrame, best: float | None = None, published=(), ax=None):
    """Mean ± std test accuracy per method as a dot and an interval, the axis zoomed to them."""
    fig, ax = _axes(ax, (7, 0.9 + 0.42 * max(len(table), 1)))
    rows = table.dropna(subset=["test_accuracy_mean"])
    several = "run" in rows and rows["run"].nunique() > 1
    labels = [f"{m} · {r}" if several else str(m)
              for m, r in zip(rows["method"], rows["run"] if "run" in rows else rows["method"])]
    mean = rows["test_accuracy_mean"].to_numpy(float)
    std = rows["test_accuracy_std"].fillna(0.0).to_numpy(float)
    y = np.arange(len(labels))[::-1]
    ax.errorbar(mean, y, xerr=std, fmt="o", color=plots.POINT_COLOUR, ms=7, capsize=4, lw=2)
    runs = rows["runs"].to_numpy(int) if "runs" in rows else np.full(len(rows), 2)
    for xi, yi, s, r in zip(mean, y, std, runs):
        ax.annotate(f"{xi:.2f} ± {s:.2f}" if r > 1 else f"{xi:.2f}", (xi, yi), xytext=(0, 7),
                    textcoords="offset points", ha="center", fontsize=9)
    edges = list(mean - std) + list(mean + std)
    marks = ([(best, "best in the space")] if best is not None else []) + \
        [(r.test_mean, f"published {r.method}") for r in published]
    for value, text in marks:
        ax.axvline(value, color=plots.REFERENCE_COLOUR, ls=":", lw=1)
        ax.annotate(f"{text} {value:.2f}", (value, 1.0), xycoords=("data", "axes fraction"),
                    rotation=90, va="top", ha="right", fontsize=8, color=plots.REFERENCE_COLOUR)
        edges.append(value)
    if edges:
        lo, hi = min(edges), max(edges)
        pad = max((hi - lo) * 0.08, 0.1)
        ax.set_xlim(lo - pad, hi + pad)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel("test accuracy of the chosen cell (%), mean ± std")
    ax.set_title("Accuracy by method (zoomed axis)", loc="left", fontsize=11)
    return fig


def scatter(frame: pd.DataFrame, proxy: str, accuracy: str, topk=(), chosen=None, ax=None):
    """Score against accuracy with robust axes (outliers on the edge as triangles), the top-k
    in orange and the chosen cell as a star; ρ in the title."""
    fig, ax = _axes(ax, (6.5, 4.2))
    rows = frame.dropna(subset=[proxy, accuracy])
    rows = rows[np.isfinite(rows[proxy].astype(float))]
    x, acc = rows[proxy].astype(float), rows[accuracy].astype(float)
    log = plots.auto_log(x)
    xr, yr = plots.robust_range(x, log), plots.robust_range(acc)
    xlim = (10 ** xr[0], 10 ** xr[1]) if log and xr else xr
    inside = acc.between(*yr) & x.between(*xlim) if xr and yr else pd.Series(True, index=rows.index)
    top = rows["index"].isin(list(topk))
    xs, ys = x.clip(*xlim) if xlim else x, acc.clip(*yr) if yr else acc
    ax.scatter(xs[inside & ~top], ys[inside & ~top], s=10, color=plots.POINT_COLOUR, alpha=0.55,
               label="architectures", rasterized=len(rows) > 300)
    if top.any():
        ax.scatter(xs[inside & top], ys[inside & top], s=22, color=plots.HIGHLIGHT_COLOUR,
                   label=f"top-k (k={len(list(topk))})")
    if (~inside).any():
        ax.scatter(xs[~inside], ys[~inside], s=26, marker="^", color=plots.REFERENCE_COLOUR,
                   label=f"outside the axes ({int((~inside).sum())})")
    if chosen is not None and (rows["index"] == chosen).any():
        at = rows["index"] == chosen
        ax.scatter(xs[at], ys[at], s=260, marker="*", color=plots.CHOSEN_COLOUR,
                   edgecolors="#222222", linewidths=1.2, label="chosen cell", zorder=5)
    if log:
        _log_x(ax)
    if xlim:
        ax.set_xlim(*xlim)
    if yr:
        ax.set_ylim(*yr)
    rho = stats.spearman(stats.oriented(rows, proxy), acc)
    ax.set_title(f"{proxy} against {accuracy} · Spearman ρ = {rho:.2f} · n = {len(rows)}",
                 loc="left", fontsize=11)
    ax.set_xlabel(proxy + (" (log scale)" if log else ""))
    ax.set_ylabel(f"{accuracy} (%)")
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    return fig


def latency(cells: pd.DataFrame, true_front: pd.DataFrame | None, budget: float | None,
            axis: str, title: str, ax=None):
    """Accuracy against latency, as ``latencyview.plot`` draws it: the true front as a step
    line, candidates, the kept ones, the returned front, the chosen cell ★ and the budget."""
    fig, ax = _axes(ax, (6.5, 4.2))
    rows = cells.dropna(subset=["latency", "accuracy"])
    if true_front is not None and len(true_front):
        ax.step(true_front["latency"], true_front["accuracy"], where="post",
                color=plots.REFERENCE_COLOUR, label="true front (every cell that fits)")
    layers = [(~rows["kept"].astype(bool), "candidates", plots.POINT_COLOUR, 10, "o"),
              (rows["kept"].astype(bool), "kept by the coarse stage", plots.HIGHLIGHT_COLOUR, 22, "o"),
              (rows["on_front"].astype(bool), "front returned", "#009E73", 40, "D"),
              (rows["chosen"].astype(bool), "chosen cell", plots.CHOSEN_COLOUR, 260, "*")]
    for mask, name, colour, size, marker in layers:
        if mask.any():
            ax.scatter(rows["latency"][mask], rows["accuracy"][mask], s=size, marker=marker,
                       color=colour, label=name, edgecolors="#222222" if marker == "*" else "none",
                       zorder=5 if marker == "*" else 3, rasterized=len(rows) > 300)
    if budget is not None:
        ax.axvline(budget, linestyle="--", color="#000000", label=f"budget {budget:g} ms")
    y_range = latencyview.y_range(rows["accuracy"], true_front)
    if y_range:
        ax.set_ylim(*y_range)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_xlabel(axis)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    return fig


def correlation_bars(table: pd.DataFrame, ax=None):
    """Spearman ρ and Kendall τ per proxy, on a 0–1 axis (lower only for a negative value)."""
    fig, ax = _axes(ax, (6.5, 3.2))
    x = np.arange(len(table))
    for shift, column, colour, name in ((-0.2, "spearman", "#0072B2", "Spearman ρ"),
                                        (0.2, "kendall", "#E69F00", "Kendall τ")):
        values = table[column].astype(float).to_numpy()
        ax.bar(x + shift, values, width=0.4, color=colour, label=name)
        for xi, v in zip(x + shift, values):
            ax.annotate(f"{v:.2f}", (xi, v), xytext=(0, 2), textcoords="offset points",
                        ha="center", fontsize=8)
    values = table[["spearman", "kendall"]].to_numpy(float)
    low = min(0.0, float(values[np.isfinite(values)].min())) if np.isfinite(values).any() else 0.0
    ax.set_ylim(low, 1.0)
    ax.set_xticks(x, table["proxy"])
    ax.set_title("Rank correlation with accuracy", loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False)
    return fig


def anytime(curves: pd.DataFrame, points: pd.DataFrame, references=(), ax=None):
    """Accuracy against search seconds (log axis): classic strategies' incumbents as mean lines
    with a ±1 std band, two-stage searches as diamonds with error bars, published figures grey
    (``plots.anytime_plot`` in static form)."""
    fig, ax = _axes(ax, (7, 4))
    colours = iter(plots.METHOD_COLOURS * 3)
    for method, line in plots.anytime_curves(curves).groupby("method", sort=False):
        colour = next(colours)
        ax.fill_between(line["seconds"], line["mean"] - line["std"], line["mean"] + line["std"],
                        color=colour, alpha=0.18, lw=0)
        ax.plot(line["seconds"], line["mean"], color=colour, lw=2, label=f"{method} (mean ± std)")
    simulated = set(curves["method"]) if len(curves) else set()
    for method, mine in points[~points["method"].isin(simulated)].groupby("method", sort=False):
        colour = next(colours)
        # a cost of 0 s (a lookup with no recorded time) sits at 1 s on the log axis
        x, y = mine["search_seconds"].astype(float).clip(lower=1.0), mine["test_accuracy"].astype(float)
        ax.errorbar([x.mean()], [y.mean()], xerr=[x.std(ddof=0)], yerr=[y.std(ddof=0)], fmt="D",
                    color=colour, ms=8, capsize=3, label=method)
    y_range, references, outside = plots.anytime_axis(curves, points, references)
    unplaced = []
    for ref in references:
        if ref.search_seconds:
            ax.errorbar([ref.search_seconds], [ref.test_mean], yerr=[ref.test_std or 0.0], fmt="x",
                        color=plots.REFERENCE_COLOUR, ms=8,
                        label=f"published: {ref.method} {ref.test_mean:.2f}")
        else:  # no published cost: a dotted level, named once in the note below
            ax.axhline(ref.test_mean, color=plots.REFERENCE_COLOUR, ls=":", lw=0.8)
            unplaced.append(f"{ref.method} {ref.test_mean:.2f}")
    if unplaced:
        ax.text(0.01, 0.98, "published, no search cost given (dotted):\n" + ", ".join(unplaced),
                transform=ax.transAxes, fontsize=7, color=plots.REFERENCE_COLOUR, va="top",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 2})
    if y_range is not None:  # zoomed on where the searches end up; far-off figures on its edge
        ax.set_ylim(*y_range)
        for i, ref in enumerate(outside):
            below = ref.test_mean < y_range[0]
            ax.annotate(f"{'▼' if below else '▲'} published: {ref.method} {ref.test_mean:.2f}",
                        (0.01, 0.02 + 0.06 * i if below else 0.98 - 0.06 * i),
                        xycoords="axes fraction", ha="left", va="bottom" if below else "top",
                        fontsize=7, color=plots.REFERENCE_COLOUR)
    _log_x(ax)
    ax.set_xlabel("search seconds (log scale; simulated and measured on one axis)")
    ax.set_ylabel("test accuracy of the chosen cell (%)")
    ax.set_title("Accuracy against search cost", loc="left", fontsize=11)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return fig


def cell(space, arch, ax=None, title: str | None = None):
    """The cell as ``knas.results.cellsvg`` draws it (the space's diagram), on matplotlib axes."""
    picture = space.diagram(arch)
    fig, ax = _axes(ax, (picture.width / 72, picture.height / 72))
    for e in picture.edges:
        alpha = 1.0 if e.live else cellsvg.DEAD_OPACITY
        path = MplPath([e.start, e.control, e.end], [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3])
        ax.add_patch(PathPatch(path, fill=False, ec=e.colour, lw=2.2, alpha=alpha,
                               ls="-" if e.live else (0, (4, 3))))
        ax.add_patch(Polygon(e.arrow, closed=True, fc=e.colour, alpha=alpha))
        width = len(e.label) * 7 + 8
        ax.add_patch(FancyBboxPatch((e.label_at[0] - width / 2, e.label_at[1] - 8), width, 16,
                                    boxstyle="round,pad=0,rounding_size=8", fc=cellsvg.tint(e.colour),
                                    ec=e.colour, lw=0.8, alpha=alpha))
        ax.text(*e.label_at, e.label, ha="center", va="center", fontsize=9, alpha=alpha,
                color="#1a1a1a")
    for node in picture.nodes:
        ax.add_patch(Circle((node.x, node.y), RADIUS, fc="white", ec="#555555", lw=1.3, zorder=3))
        ax.text(node.x, node.y, node.number, ha="center", va="center", fontsize=10, weight="bold",
                zorder=4)
        if node.caption:
            ax.text(node.x, node.y + 28, node.caption, ha="center", va="center", fontsize=9,
                    color="#777777")
    ax.set_xlim(0, picture.width)
    ax.set_ylim(picture.height, 0)  # SVG's y grows downwards
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return fig


def summary_page(headline: str, curves: pd.DataFrame, points: pd.DataFrame, space, chosen,
                 frame=None, proxy="", accuracy="", topk=(), published=(),
                 footer: str = "") -> Figure:
    """One 16:9 page for a slide: the headline, the trade (each method's accuracy against its
    search cost, ``anytime``), the chosen cell and, with scores and ground truth, the
    score-against-accuracy scatter. The headline wraps to the page's width."""
    fig = Figure(figsize=(16, 9))
    fig.text(0.03, 0.96, "\n".join(textwrap.wrap(headline, 105)[:3]), fontsize=16, weight="bold",
             va="top")
    grid = fig.add_gridspec(2, 2, left=0.07, right=0.97, top=0.83, bottom=0.1, hspace=0.5,
                            wspace=0.2, width_ratios=(1.5, 1))
    anytime(curves, points, published, ax=fig.add_subplot(grid[0, 0]))
    cell(space, chosen, ax=fig.add_subplot(grid[0, 1]), title=f"chosen cell: index {chosen}")
    if frame is not None and proxy and accuracy and len(frame):
        scatter(frame, proxy, accuracy, topk, chosen, ax=fig.add_subplot(grid[1, :]))
    if footer:
        fig.text(0.03, 0.02, footer, fontsize=9, color="#666666")
    return fig


def _log_x(ax) -> None:
    """A log x axis with plain tick labels (math text is off here: user text is never parsed)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.10g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _axes(ax, size):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size)
    return fig, fig.add_subplot()
