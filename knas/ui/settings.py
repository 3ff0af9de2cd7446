"""The dashboard's remembered choices: where each dataset and ground-truth table is.

Kept as JSON in the cache root so every page, server restart and worker sees the same paths.
Datasets found in their official layout under the data folder fill in what was not set. A file
that is not JSON, or holds a value of the wrong type, never stops a page: what cannot be used is
ignored and ``AppSettings.problems`` says so (every page shows it).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from knas.data import datasets
from knas.ui import machine
from knas import paths


@dataclass
class AppSettings:
    datasets: dict = field(default_factory=dict)  # name -> folder or .npz
    truth: str = ""  # 200-epoch ground-truth table (CSV or official .pth)
    table12: str = ""  # 12-epoch table for the cheap fine stage and the classic strategies
    costs: str = ""  # NAS-Bench-201's recorded training seconds per cell (the search-cost axis)
    latency: str = ""  # per-device latency of every cell (latency limits, Pareto fronts)
    problems: list = field(default_factory=list)  # what was ignored when loading (not saved)

    def dataset_path(self, name: str) -> str:
        return self.datasets.get(name, "")


def path() -> Path:
    return paths.settings_file()


def load() -> AppSettings:
    saved, problems = _read(path())
    settings = AppSettings(problems=problems)
    for name in ("truth", "table12", "costs", "latency"):
        value = saved.get(name, "")
        if isinstance(value, str):
            setattr(settings, name, value)
        else:
            problems.append(f"{name} must be a path (text), not {_kind(value)}: ignored")
    found = saved.get("datasets", {})
    if not isinstance(found, dict):
        problems.append(f"datasets must map dataset names to paths, not {_kind(found)}: ignored")
        found = {}
    for name, value in found.items():
        if name in datasets.all_names() and isinstance(value, str):
            settings.datasets[name] = value
        else:
            problems.append(f"datasets entry {name!r} is not a known dataset with a path: ignored")
    for name, found_path in {**machine.find_datasets(), **machine.find_text_datasets()}.items():
        settings.datasets.setdefault(name, found_path)
    if problems:
        settings.problems = [f"Settings file {path()}: {p}. Set it again on the Data page."
                             for p in problems]
    return settings


def _read(file: Path) -> tuple[dict, list[str]]:
    if not file.is_file():
        return {}, []
    try:
        saved = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not valid JSON"
        return {}, [f"cannot be read ({reason}); every setting in it is ignored"]
    if not isinstance(saved, dict):
        return {}, [f"holds {_kind(saved)} instead of an object; every setting in it is ignored"]
    return saved, []


def _kind(value) -> str:
    return {list: "a list", dict: "an object", str: "text", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def save(settings: AppSettings) -> None:
    path().parent.mkdir(parents=True, exist_ok=True)
    tmp = path().with_suffix(".tmp")
    values = {k: v for k, v in asdict(settings).items() if k != "problems"}
    tmp.write_text(json.dumps(values, indent=2))
    tmp.replace(path())
