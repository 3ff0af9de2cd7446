"""The figure builders, checked on the figure objects (no browser)."""
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from knas.results import plots, stats
from knas.spaces.nb201 import cells as space
from tests.conftest import REPO

def _frame(n=30, seed=0, scores=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = space.sample(n, seed)
    acc = rng.uniform(40, 95, n)
    return pd.DataFrame({
        "index": idx,
        "arch_str": [space.to_str(space.arch_at(i)) for i in idx],
        "mgm": acc * 3 + rng.normal(0, 20, n) if scores is None else scores,
        "acc": acc,
    })


def _title_stats(fig) -> dict:
    text = fig.layout.title.text
    return {k: v for k, v in re.findall(r"(ρ|τ|n) = ([-\d.]+|n/a)", text)}


def _points(fig) -> int:
    return sum(len(trace.x) for trace in fig.data)


# --- log rule --------------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    ([1, 10, 1000], True),
    ([1, 10, 100], False),  # exactly 2 decades: linear
    ([0.5, 1, 1000], True),
    ([0, 1, 1000], False),  # a zero
    ([-1, 1, 1000], False),
    ([1, 1000, np.inf, np.nan, -np.inf], True),  # non-finite values ignored
    ([], False),
    ([np.nan], False),
])
def test_auto_log(values, expected):
    assert plots.auto_log(values) is expected


# --- score_scatter ---------------------------------------------------------------------------

def test_scatter_points_customdata_and_stats():
    frame = _frame()
    fig = plots.score_scatter(frame, "mgm", "acc")
    assert len(fig.data) == 1 and _points(fig) == len(frame)
    trace = fig.data[0]
    assert [c[0] for c in trace.customdata] == frame["index"].tolist()  # ints, not strings
    assert [c[1] for c in trace.customdata] == frame["arch_str"].tolist()
    # a short hover (index, score, accuracy); the arch string is for the click, not the hover
    assert "customdata[0]" in trace.hovertemplate and "customdata[1]" not in trace.hovertemplate
    assert "score" in trace.hovertemplate and "accuracy" in trace.hovertemplate
    got = _title_stats(fig)
    assert got["ρ"] == f"{stats.spearman(frame['mgm'], frame['acc']):.3f}"
    assert got["τ"] == f"{stats.kendall(frame['mgm'], frame['acc']):.3f}"
    assert got["n"] == str(len(frame))
    assert fig.layout.xaxis.title.text == "mgm" and fig.layout.yaxis.title.text == "acc"


def test_scatter_log_rule_both_ways():
    linear = _frame(scores=np.linspace(1, 50, 30))
    wide = _frame(scores=np.logspace(-3, 4, 30))
    assert plots.score_scatter(linear, "mgm", "acc").layout.xaxis.type == "linear"
    fig = plots.score_scatter(wide, "mgm", "acc")
    assert fig.layout.xaxis.type == "log" and "log" in fig.layout.xaxis.title.text
    assert plots.score_scatter(wide, "mgm", "acc", log=False).layout.xaxis.type == "linear"
    assert plots.score_scatter(linear, "mgm", "acc", log=True).layout.xaxis.type == "log"


def test_scatter_drops_nan_and_notes_infinite():
    frame = _frame(scores=np.linspace(1, 50, 30))
    frame.loc[[0, 1], "mgm"] = np.nan
    frame.loc[2, "acc"] = np.nan
    frame.loc[[3, 4, 5], "mgm"] = [np.inf, -np.inf, -np.inf]
    fig = plots.score_scatter(frame, "mgm", "acc")
    assert _points(fig) == 30 - 3 - 3
    assert all(np.isfinite(fig.data[0].x))
    assert "3 infinite score(s) not shown" in fig.layout.title.text
    # n and what was left out add up to the cells scored (the Live page's progress count)
    assert "3 of 30 scored without a score or accuracy left out" in fig.layout.title.text
    kept = frame.dropna(subset=["mgm", "acc"])  # infinite scores still count in rho and tau
    got = _title_stats(fig)
    assert got["n"] == "27"
    assert got["ρ"] == f"{stats.spearman(kept['mgm'], kept['acc']):.3f}"
    assert got["τ"] == f"{stats.kendall(kept['mgm'], kept['acc']):.3f}"


def test_scatter_notes_non_positive_scores_on_a_forced_log_axis():
    frame = _frame(scores=np.linspace(-5, 50, 30))
    fig = plots.score_scatter(frame, "mgm", "acc", log=True)
    assert _points(fig) == int((frame["mgm"] > 0).sum())
    assert "≤ 0 not shown on the log axis" in fig.layout.title.text


def test_scatter_highlight_trace():
    frame = _frame()
    top = frame.nlargest(5, "mgm")["index"].tolist()
    fig = plots.score_scatter(frame, "mgm", "acc", highlight=top + [99999], title="MGM")
    assert len(fig.data) == 2 and _points(fig) == len(frame)
    main, hot = fig.data
    assert sorted(int(c[0]) for c in hot.customdata) == sorted(top)
    assert not {int(c[0]) for c in main.customdata} & set(top)
    assert hot.marker.color != main.marker.color and hot.name == "top-k (k=6)"
    assert fig.layout.title.text.startswith("MGM<br>")


def test_scatter_with_too_few_rows_says_n_a():
    fig = plots.score_scatter(_frame(n=2), "mgm", "acc")
    assert _title_stats(fig) == {"ρ": "n/a", "τ": "n/a", "n": "2"}


# --- score_histogram -------------------------------------------------------------------------

def test_histogram_linear_and_log():
    linear = plots.score_histogram(_frame(scores=np.linspace(1, 50, 30)), "mgm")
    assert linear.layout.xaxis.title.text == "mgm"
    np.testing.assert_allclose(linear.data[0].x, np.linspace(1, 50, 30))
    scores = np.logspace(-3, 4, 30)
    scores[0] = np.nan
    scores[1] = np.inf
    logged = plots.score_histogram(_frame(scores=scores), "mgm")
    assert logged.layout.xaxis.title.text == "log10(mgm)"
    np.testing.assert_allclose(logged.data[0].x, np.log10(scores[2:]))
    assert "1 infinite score(s) not shown" in logged.layout.title.text
    forced = plots.score_histogram(_frame(scores=np.logspace(-3, 4, 30)), "mgm", log=False)
    assert forced.layout.xaxis.title.text == "mgm"


# --- correlations ----------------------------------------------------------------------------

def test_heatmap_is_symmetric_with_ones_on_the_diagonal():
    frame = _frame()
    frame["neg"] = -frame["mgm"]
    frame["noise"] = np.random.default_rng(1).normal(size=len(frame))
    names = ["mgm", "neg", "noise", "acc"]
    fig = plots.correlation_heatmap(frame, names)
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (4, 4)
    np.testing.assert_allclose(z, z.T)
    np.testing.assert_allclose(np.diag(z), 1.0)
    assert z[0, 1] == pytest.approx(-1.0)
    assert z[0, 3] == pytest.approx(stats.spearman(frame["mgm"], frame["acc"]))
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-1, 1)
    assert list(fig.data[0].x) == names and fig.data[0].texttemplate


def test_correlation_bars():
    table = pd.DataFrame({"proxy": ["mgm", "naswot"], "spearman": [0.6, 0.8], "kendall": [0.4, 0.6]})
    fig = plots.correlation_bars(table)
    assert fig.layout.barmode == "group" and len(fig.data) == 2
    assert list(fig.data[0].x) == ["mgm", "naswot"] and list(fig.data[0].y) == [0.6, 0.8]
    assert list(fig.data[1].y) == [0.4, 0.6]
    assert tuple(fig.layout.yaxis.range) == (0, 1)  # rho of a useful proxy: 0 to 1
    table.loc[0, "kendall"] = -0.3
    assert tuple(plots.correlation_bars(table).layout.yaxis.range) == (-0.3, 1)


def test_robust_range_ignores_one_outlier():
    values = np.r_[np.linspace(85, 94, 50), 10.0]
    lo, hi = plots.robust_range(values)
    assert 10 < lo < 85 and 94 < hi < 95  # the bulk is in, the 10% cell is out
    assert plots.robust_range([1.0, 1.0, 1.0]) is not None  # no spread: still a range
    assert plots.robust_range([np.nan]) is None
    lo, hi = plots.robust_range(np.logspace(0, 4, 20), log=True)  # log10 units
    assert -0.5 < lo < 0 and 4 < hi < 4.5


def test_scatter_marks_an_outlier_on_the_edge_and_stars_the_chosen_cell():
    frame = _frame(n=40)
    frame["acc"] = np.linspace(85, 94, 40)  # NAS-Bench-201's bulk
    frame.loc[0, "acc"] = 10.0  # and one untrainable cell
    chosen = int(frame["index"].iloc[5])
    fig = plots.score_scatter(frame, "mgm", "acc", highlight=frame["index"].tolist()[5:9],
                              chosen=chosen)
    lo, hi = fig.layout.yaxis.range
    assert lo > 10.0 and hi <= 96  # the axis spans the bulk, not the outlier
    names = [t.name for t in fig.data]
    assert names == ["architectures", "top-k (k=4)", "outside the axis range", "chosen cell ★"]
    out = fig.data[2]
    assert [c[0] for c in out.customdata] == [int(frame["index"].iloc[0])]
    assert out.y[0] == pytest.approx(lo) and out.customdata[0][2] == 10.0  # true value kept
    assert "1 outlier(s)" in fig.layout.title.text
    star = fig.data[3]
    assert star.marker.symbol == "star" and [c[0] for c in star.customdata] == [chosen]
    assert _points(fig) == len(frame) + 1  # the star is drawn over its top-k point


def test_accuracy_intervals_zoom_to_the_results():
    table = pd.DataFrame({"method": ["mgm", "random", "synflow"], "runs": [3, 3, 3],
                          "test_accuracy_mean": [93.4, 91.2, 92.8],
                          "test_accuracy_std": [0.2, 1.1, 0.4]})
    fig = plots.accuracy_intervals(table, best=94.37)
    trace = fig.data[0]
    assert list(trace.y) == ["mgm", "random", "synflow"] and list(trace.x) == [93.4, 91.2, 92.8]
    assert list(trace.error_x.array) == [0.2, 1.1, 0.4]
    lo, hi = fig.layout.xaxis.range
    assert 89 < lo < 90.1 and 94.37 < hi < 95  # zoomed, not 0-100, and the best line shown
    runs = pd.concat([table.assign(run="A"), table.assign(run="B")])
    assert plots.accuracy_intervals(runs).data[0].y[0] == "mgm · A"


def test_figures_serialise():
    frame = _frame()
    for fig in [plots.score_scatter(frame, "mgm", "acc", highlight=[]),
                plots.score_histogram(frame, "mgm"),
                plots.correlation_heatmap(frame, ["mgm", "acc"])]:
        assert fig.to_json()


# --- torch-free ------------------------------------------------------------------------------

def test_importing_plots_does_not_import_torch():
    code = "import sys, knas.results.plots; assert 'torch' not in sys.modules, 'knas.results.plots imported torch'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_gram_heatmap_is_centred_and_names_the_mean():
    g = np.array([[4.0, -1.0], [-1.0, 2.0]])
    fig = plots.gram_heatmap(g, labels=[3, 7])
    heat = fig.data[0]
    assert heat.zmid == 0 and heat.zmin == -4.0 and heat.zmax == 4.0
    assert list(heat.x) == ["0 (class 3)", "1 (class 7)"]
    assert f"{g.mean():.4g}" in fig.layout.title.text


def test_the_anytime_axis_zooms_on_the_searches_and_marks_far_published_figures():
    """A collapsed DARTS at 54.30 does not stretch the axis: it sits on the edge with its value."""
    from knas.results import references, staticfigs

    curves = pd.DataFrame({"method": ["rea"] * 4, "repeat": [0, 0, 1, 1],
                           "clock": [100.0, 5000.0, 100.0, 5000.0],
                           "best_test": [90.0, 93.8, 91.0, 94.0]})
    points = pd.DataFrame({"method": ["mgm", "mgm"], "search_seconds": [900.0, 1100.0],
                           "test_accuracy": [93.3, 93.5]})
    refs = [references.Reference("DARTS-V2", "cifar10", 54.30, 0.0, "paper", "checked", 35782.0),
            references.Reference("REA", "cifar10", 93.92, 0.30, "paper", "checked"),
            references.Reference("optimal", "cifar10", 94.37, None, "paper", "checked")]
    (low, high), inside, outside = plots.anytime_axis(curves, points, refs)
    assert [r.method for r in inside] == ["REA", "optimal"] and [r.method for r in outside] == ["DARTS-V2"]
    assert low > 89 and high == pytest.approx(94.37 + 0.3)  # REA's first guesses at 90: inside
    fig = plots.anytime_plot(curves, points, refs)
    assert list(fig.layout.yaxis.range) == [low, high]
    edge = [t for t in fig.data if t.name and "off the axis" in t.name]
    assert [(t.text[0], t.y[0]) for t in edge] == [("DARTS-V2 54.30", low)]
    static = staticfigs.anytime(curves, points, refs)
    assert static.axes[0].get_ylim() == pytest.approx((low, high))
    assert any("DARTS-V2 54.30" in t.get_text() for t in static.axes[0].texts)
