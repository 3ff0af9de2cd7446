"""A run's cells on the device axis, for the accuracy–latency plot of every view of a run.

From the run's events: what each candidate measures (``Measured``), what a method kept, returned
and chose (``TopK``, ``MethodDone``); from the truth and latency tables: the true front among
the cells that fit. The axis is the Pareto device's latency, else the first latency limit's.
Torch-free.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from knas.search import constraints, pareto
from knas.search.events import Measured, MethodDone
from knas.results import plots, runview

COLUMNS = ["index", "latency", "accuracy", "kept", "on_front", "chosen"]


def axis(events) -> str | None:
    """The latency measure a run is plotted on (None: the run has no latency measure)."""
    start = runview.started(events)
    if start.pareto:
        return constraints.latency_measure(start.pareto)
    for event in events:
        if isinstance(event, Measured):
            return next((m for m in event.measures if constraints.device_of(m)), None)
    return None


def frame(events, method: str, repeat: int, accuracy: pd.Series | None) -> pd.DataFrame:
    """One row per cell measured in the repeat: its latency on the axis, true accuracy (NaN
    without a truth table), whether the method kept it, returned it on its front, chose it."""
    measure = axis(events)
    latency: dict[int, float] = {}
    for event in events:
        if isinstance(event, Measured) and event.repeat == repeat and measure in event.measures:
            at = event.measures.index(measure) + 1
            latency.update({int(row[0]): float(row[at]) for row in event.rows})
    if not latency:
        return pd.DataFrame(columns=COLUMNS)
    kept = set(runview.latest_topk(events, method, repeat))
    result = next((e.result for e in events if isinstance(e, MethodDone)
                   and e.result.method == method and e.result.repeat == repeat), None)
    front = set(result.front) if result else set()
    cells = list(latency)
    return pd.DataFrame({
        "index": cells, "latency": [latency[i] for i in cells],
        "accuracy": (accuracy.reindex(cells).to_numpy(dtype=float) if accuracy is not None
                     else [float("nan")] * len(cells)),
        "kept": [i in kept for i in cells], "on_front": [i in front for i in cells],
        "chosen": [result is not None and i == result.chosen for i in cells]})


def true_front(config, space, measure: str | None, accuracy: pd.Series | None) -> pd.DataFrame | None:
    """The (latency, accuracy) front of every cell that fits the run's limits, from the tables;
    None when a table is missing or the latency is this machine's (measured for a few cells)."""
    device = constraints.device_of(measure or "")
    if accuracy is None or not config.latency or device in (None, "here"):
        return None
    table = constraints.load_table(config.latency, space)
    if device not in table.devices:
        return None
    measures = constraints.Measures(space, config.dataset, table)
    mask = constraints.Constraints(constraints.limits_of(config), measures).mask()
    whole = measures.everywhere(measure)
    values = accuracy.dropna()
    cells = [int(i) for i in values.index if mask is None or mask[int(i)]]
    points = {i: (float(values[i]), float(whole[i])) for i in cells}
    best = pareto.front(points)
    return pd.DataFrame({"index": best, "latency": [points[i][1] for i in best],
                         "accuracy": [points[i][0] for i in best]})


def budget(config, measure: str | None) -> float | None:
    """The run's limit on the plotted measure, if it has one."""
    for limit in constraints.limits_of(config):
        if limit.measure == measure:
            return limit.bound
    return None


def figure(events, config, method: str, repeat: int, accuracy: pd.Series | None,
           front: pd.DataFrame | None):
    """The accuracy–latency plot of one method and repeat (None: nothing measured or no
    accuracy to plot); ``front`` is ``true_front``'s, computed once per run by the caller."""
    from knas.data import latency

    measure = axis(events)
    cells = frame(events, method, repeat, accuracy)
    if measure is None or cells["accuracy"].isna().all():
        return None
    device = latency.label(constraints.device_of(measure))
    return plot(cells, front, budget(config, measure), f"latency on {device} (ms)",
                              f"{method}: accuracy against latency on {device}")


def front_note(events, method: str, repeat: int) -> str:
    """The Pareto mode's figures for a result, in words ("" outside it)."""
    result = next((e.result for e in events if isinstance(e, MethodDone)
                   and e.result.method == method and e.result.repeat == repeat), None)
    if result is None or not runview.started(events).pareto:
        return ""
    if pd.isna(result.hypervolume):
        return f"Front returned: {len(result.front)} cells (no true front to compare with)."
    return (f"Front returned: {len(result.front)} cells · hypervolume {result.hypervolume:.3f} of "
            f"the true front's · IGD {result.igd:.3f} (objectives scaled to the true front)")


def y_range(accuracy: pd.Series, true_front: pd.DataFrame | None):
    """The candidates' bulk (``robust_range``), stretched up to the top of the true front."""
    bounds = plots.robust_range(accuracy) if len(accuracy) else None
    if bounds and true_front is not None and len(true_front):
        bounds = (bounds[0], max(bounds[1], float(true_front["accuracy"].max()) + 0.5))
    return bounds


def plot(cells: pd.DataFrame, true_front: pd.DataFrame | None = None,
                 budget: float | None = None, axis: str = "latency (ms)",
                 title: str = "Accuracy against latency") -> go.Figure:
    """Accuracy against latency (a frame of ``COLUMNS``): the true front among the cells
    that fit (a step line), the run's candidates, the ones the method kept, the front it
    returned (Pareto mode) and the chosen cell ★, with the latency budget as a dashed line.
    The y axis spans the candidates' bulk (``robust_range``), the front's low end left out."""
    rows = cells.dropna(subset=["latency", "accuracy"])
    fig = go.Figure()
    if true_front is not None and len(true_front):
        fig.add_trace(go.Scatter(x=true_front["latency"], y=true_front["accuracy"], mode="lines",
                                 line={"shape": "hv", "color": plots.REFERENCE_COLOUR, "width": 2},
                                 name="true front (every cell that fits)",
                                 hovertemplate="%{x:.3g} ms · %{y:.2f}%<extra>true front</extra>"))
    layers = [(~rows["kept"], "candidates", plots.POINT_COLOUR, 6, 0.5, "circle"),
              (rows["kept"], "kept by the coarse stage", plots.HIGHLIGHT_COLOUR, 9, 0.9, "circle"),
              (rows["on_front"], "front returned", "#009E73", 11, 1.0, "diamond"),
              (rows["chosen"], "chosen cell ★", plots.CHOSEN_COLOUR, 18, 1.0, "star")]
    for mask, name, colour, size, opacity, symbol in layers:
        part = rows[mask.astype(bool)]
        if part.empty:
            continue
        fig.add_trace(go.Scattergl(
            x=part["latency"], y=part["accuracy"], mode="markers", name=name,
            marker={"color": colour, "size": size, "opacity": opacity, "symbol": symbol,
                    "line": {"width": 1.5 if symbol == "star" else 0, "color": "#222222"}},
            customdata=part[["index"]].to_numpy(),
            hovertemplate="index %{customdata[0]}<br>%{x:.3g} ms<br>%{y:.2f}%<extra></extra>"))
    if budget is not None:
        fig.add_vline(x=budget, line={"dash": "dash", "color": "#000000"},
                      annotation_text=f"budget {budget:g} ms")
    bounds = y_range(rows["accuracy"], true_front)
    fig.update_layout(title=plots.figure_title(title, f"{len(rows)} cells measured"), xaxis_title=axis,
                      yaxis_title="test accuracy (%)", legend={"orientation": "h", "y": -0.2})
    fig.update_yaxes(range=list(bounds) if bounds else None)
    return fig
