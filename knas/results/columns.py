"""How a table's internal column names read for people: one label and one number format per
column, shared by the pages (``ui.table`` turns them into Streamlit column settings) and the HTML
report, so ``test_accuracy_mean`` never reaches a reader and every accuracy has two decimals.

Formats are printf-style (``%.2f``), which both Streamlit's column settings and Python's ``%``
operator understand. Repeats are stored 0-based and shown 1-based, as everywhere in the app.
Torch-free and streamlit-free.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import pandas as pd

from knas import spaces
from knas.data import datasets


@dataclass(frozen=True)
class Column:
    label: str
    format: str = ""  # printf format of a number; "" for text and flags
    kind: str = "number"  # number | text | flag
    help: str = ""


ACC, SECONDS, COUNT, CORR = "%.2f", "%.1f", "%d", "%.2f"
MISSING = "—"  # a value that is not there, in every table and caption
_TEXT = "text"

COLUMNS = {
    # who and what
    "run": Column("run", kind=_TEXT), "method": Column("method", kind=_TEXT),
    "proxy": Column("proxy", kind=_TEXT), "stage": Column("stage", kind=_TEXT),
    "what": Column("counts", kind=_TEXT), "device": Column("device", kind=_TEXT),
    "arch_str": Column("arch string", kind=_TEXT), "edge": Column("edge", kind=_TEXT),
    "from": Column("from", kind=_TEXT), "to": Column("to", kind=_TEXT),
    "repeat": Column("repeat", COUNT, help="numbered from 1"), "runs": Column("runs", COUNT),
    "seed": Column("seed", COUNT), "rank": Column("rank", COUNT),
    "index": Column("index", COUNT, help="NAS-Bench-201 index"),
    "chosen": Column("chosen cell", COUNT, help="NAS-Bench-201 index of the cell picked"),
    "picked": Column("picked", kind=_TEXT, help="★ marks the cell the fine stage picked"),
    # accuracy
    "test_accuracy": Column("test accuracy (%)", ACC),
    "test accuracy": Column("test accuracy (%)", kind=_TEXT, help="mean ± std over repeats"),
    "test_accuracy_mean": Column("test accuracy, mean (%)", ACC),
    "test_accuracy_std": Column("test accuracy, std", ACC),
    "fine_score": Column("fine-stage score", ACC, help="what the fine stage picked by"),
    "val_accuracy": Column("validation accuracy (%)", ACC),
    "accuracy": Column("accuracy (%)", ACC),
    # cost
    "coarse_seconds": Column("scoring s", SECONDS), "fine_seconds": Column("fine stage s", SECONDS),
    "coarse_seconds_mean": Column("scoring s", SECONDS),
    "fine_seconds_mean": Column("fine stage s", SECONDS),
    "coarse_s": Column("scoring s", SECONDS), "fine_s": Column("fine stage s", SECONDS),
    "total_s": Column("wall s", SECONDS, help="scoring + fine stage as measured"),
    "search_seconds": Column("search s", "%.0f", help="on the shared cost axis"),
    "search_seconds_mean": Column("search s", "%.0f", help="on the shared cost axis"),
    "search_seconds_std": Column("search s, std", "%.0f"),
    "search_s": Column("search s", "%.0f", help="on the shared cost axis"),
    "training_s": Column("training s", "%.0f",
                         help="recorded in the benchmark's tables, or measured (see basis)"),
    "training_basis": Column("training basis", kind=_TEXT,
                             help="recorded: a table's training time (NAS-Bench-201: GPU); "
                                  "measured: on this run's device"),
    "search s": Column("search s", "%.0f"), "seconds": Column("seconds", SECONDS),
    "estimated s": Column("estimated s", SECONDS), "actual s": Column("actual s", SECONDS),
    "actual ÷ estimated": Column("actual ÷ estimated", "%.2f"),
    "networks_scored": Column("networks scored", "%.0f"),
    "networks_trained": Column("networks trained", "%.0f"),
    "networks_scored_mean": Column("networks scored", "%.0f"),
    "networks_trained_mean": Column("networks trained", "%.0f"),
    "networks": Column("networks", COUNT),
    "gpu_hours": Column("GPU-hours", "%.2f"), "kwh": Column("kWh", "%.2f"),
    "kg_co2": Column("kg CO2e", "%.2f"),
    "simulated": Column("simulated", kind="flag", help="includes recorded (not measured) time"),
    "cost_estimated": Column("cost estimated", kind="flag",
                             help="training time from the FLOPs estimate"),
    # rank statistics
    "spearman": Column("Spearman ρ", CORR), "kendall": Column("Kendall τ", CORR),
    "top10_overlap": Column("top-10% overlap", CORR), "n": Column("cells", COUNT),
    "ndcg": Column("nDCG", CORR, help="nDCG@1000 as VKDNW reports it: gain 2^accuracy − 1, "
                                      "log2 discount"),
    "top1_precision": Column("top-1% precision", CORR,
                             help="share of the truly best 1% in the proxy's top 1%"),
    "top5_precision": Column("top-5% precision", CORR,
                             help="share of the truly best 5% in the proxy's top 5%"),
    "regret_top1": Column("regret of top-1", "%.2f",
                          help="accuracy points below the best cell, of the proxy's first pick"),
    "regret_top10": Column("regret of top-10", "%.2f",
                           help="accuracy points below the best cell, of the best of its top 10"),
    "same function": Column("same function", kind="flag"),
}
SCORE = "%.3g"  # a proxy's score: magnitudes differ by decades between proxies


def spec(name: str) -> Column:
    """The label and format of a column: the table above, the catalogue's accuracy columns, else
    the name itself (a proxy score, an ensemble's aggregate rank)."""
    if name in COLUMNS:
        return COLUMNS[name]
    if name in _truth_labels():
        return Column(_truth_labels()[name], ACC)
    if name.endswith(("_test", "_valid", "_valtest", "_12ep")):
        return Column(f"{name} (%)", ACC)
    return Column(name, SCORE)


@functools.lru_cache(maxsize=1)
def _truth_labels() -> dict:
    """Every built-in space's ground-truth accuracy columns -> their label for people."""
    out = {}
    for name in spaces.BUILTIN:
        space = spaces.get(name)
        for dataset in space.datasets:
            columns, label_ = space.truth_columns(dataset), datasets.info(dataset).label
            out.setdefault(columns.test, f"{label_} test (%)")
            out.setdefault(columns.valid, f"{label_} validation (%)")
            if columns.short:
                out.setdefault(columns.short, f"{label_} {space.short_epochs}-epoch test (%)")
    return out


def label(name: str) -> str:
    return spec(name).label


def text(name: str, value) -> str:
    """One value as the report and the captions print it."""
    column = spec(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if column.kind == "flag":
        return "yes" if value else "no"
    if column.kind == _TEXT or not column.format or isinstance(value, str):
        return str(value)
    if column.format == COUNT:
        return f"{int(value):,}"
    return column.format % float(value)


def for_people(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy to show: repeats counted from 1, a missing text value as "—", not "None" (labels
    are applied where it is drawn)."""
    out = frame.copy()
    if "repeat" in out.columns and len(out):
        out["repeat"] = out["repeat"].astype(int) + 1
    for name in out.columns:
        if not pd.api.types.is_numeric_dtype(out[name]) and not pd.api.types.is_bool_dtype(out[name]):
            out[name] = out[name].map(lambda v: MISSING if v is None or v is pd.NA or (
                isinstance(v, float) and math.isnan(v)) else v)
    return out


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as text under its label: what the HTML report prints."""
    shown = for_people(frame)
    return pd.DataFrame({label(c): [text(c, v) for v in shown[c]] for c in shown.columns},
                        columns=[label(c) for c in shown.columns])


def fine_stage(text: str) -> str:
    """A fine stage as people say it: "lookup of CIFAR-10 12-epoch test in nb201_12epoch.csv",
    "10 epochs of training" (the spec itself when it does not parse)."""
    from pathlib import Path

    from knas.search.specs import FineStage, SpecError

    try:
        stage = FineStage.parse(text)
    except SpecError:
        return str(text)
    if stage.kind == "train":
        return f"{stage.epochs} epoch{'s' if stage.epochs != 1 else ''} of training"
    label = spec(stage.column).label.removesuffix(" (%)")
    return f"lookup of {label} in " + (Path(stage.table).name if stage.table else "the truth table")
