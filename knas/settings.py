"""The dashboard's remembered choices: where each dataset and ground-truth table is.

Kept as JSON in the cache root so every page, server restart and worker sees the same paths.
Datasets found in their official layout under the data folder fill in what was not set.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import machine, paths


@dataclass
class AppSettings:
    datasets: dict = field(default_factory=dict)  # name -> folder or .npz
    truth: str = ""  # 200-epoch ground-truth table (CSV or official .pth)
    table12: str = ""  # 12-epoch table for the cheap fine stage and the classic strategies
    costs: str = ""  # NAS-Bench-201's recorded training seconds per cell (the search-cost axis)

    def dataset_path(self, name: str) -> str:
        return self.datasets.get(name, "")


def path() -> Path:
    return paths.settings_file()


def load() -> AppSettings:
    saved = {}
    if path().is_file():
        try:
            saved = json.loads(path().read_text())
        except (OSError, ValueError):
            saved = {}  # a broken file is replaced on the next save; nothing else depends on it
    settings = AppSettings(datasets=dict(saved.get("datasets", {})), truth=saved.get("truth", ""),
                           table12=saved.get("table12", ""), costs=saved.get("costs", ""))
    for name, found in machine.find_datasets().items():
        settings.datasets.setdefault(name, found)
    return settings


def save(settings: AppSettings) -> None:
    path().parent.mkdir(parents=True, exist_ok=True)
    tmp = path().with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2))
    tmp.replace(path())
