"""What ``python -m knas search`` prints of a run: a line per finished method, the limits a
constrained search keeps to, the summary table, or everything as one JSON object. Torch-free."""
from __future__ import annotations

import json
import math

# Summary columns a constrained or Pareto search adds to the text table.
DEPLOYED = (("gap_mean", "below best"), ("hypervolume_mean", "hypervolume"), ("igd_mean", "IGD"))
RESULT_FIELDS = ("chosen", "arch_str", "test_accuracy", "search_seconds", "coarse_seconds",
                 "fine_seconds", "networks_scored", "networks_trained", "gap", "measures", "front",
                 "hypervolume", "igd")


def method_line(r) -> str:
    """One finished method of one repeat (``events.MethodResult``), repeats counted from 1."""
    chose = f"chose {r.chosen}" if r.chosen >= 0 else f"trained {r.arch_str}"
    return (f"repeat {r.repeat + 1} {r.method:>12}: {chose} test acc "
            f"{r.test_accuracy:.2f}  ({r.coarse_seconds:.1f} s coarse, {r.fine_seconds:.1f} s fine)")


def limits_line(started) -> str:
    """What a constrained search keeps to: the limits, how many cells fit, the best of them."""
    fit = f"{started.feasible_cells:,} cells fit" if started.feasible_cells is not None \
        else "which cells fit is measured as the search goes"
    best = started.best_possible
    return f"under {started.constraints}: {fit}" + (
        f"; the best of them: cell {best['index']}, {best['value']:.2f}" if best else "")


def summary_lines(summary: list[dict]) -> list[str]:
    """The per-method table (``pipeline.summarise``) and what its search seconds count."""
    extra = [(key, label) for key, label in DEPLOYED if any(not math.isnan(row[key]) for row in summary)]
    lines = [f"{'method':>14} {'runs':>4} {'test acc':>16} {'search s':>9} {'coarse s':>9} "
             f"{'fine s':>8} {'scored':>7} {'trained':>7}" + "".join(f" {label:>11}" for _, label in extra)]
    for row in summary:
        spread = f"± {row['test_accuracy_std']:<5.2f}" if row["runs"] > 1 else " " * 7  # one run
        lines.append(f"{row['method']:>14} {row['runs']:>4} {row['test_accuracy_mean']:>8.2f} "
                     f"{spread} {row['search_seconds_mean']:>9.0f} "
                     f"{row['coarse_seconds_mean']:>9.1f} {row['fine_seconds_mean']:>8.1f} "
                     f"{row['networks_scored_mean']:>7.0f} {row['networks_trained_mean']:>7.0f}"
                     + "".join(f" {row[key]:>11.3f}" for key, _ in extra))
    return lines + ["search s: coarse stage as measured + recorded training time of the fine stage's "
                    "candidates (lookups) or measured training; classic strategies: their clock "
                    "(simulated on a space's tables, else measured training; bohb always trains)."]


def as_json(config, results, summary) -> str:
    """Every result per method (NaN as null), the config and the summary as one JSON object."""
    by_method: dict[str, dict] = {}
    for r in results:
        entry = by_method.setdefault(r.method, {name: [] for name in RESULT_FIELDS})
        for name in RESULT_FIELDS:
            value = getattr(r, name)
            entry[name].append(None if isinstance(value, float) and math.isnan(value) else value)
    return json.dumps({"config": config.to_dict(), "methods": by_method, "summary": summary})
