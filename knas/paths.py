"""Where runtime files live: one root for everything the app writes.

The root is ``$KNAS_CACHE_DIR`` when set, else ``<repo>/cache``; it holds the score store, the job
store, converted ground-truth tables and the dashboard's settings. Every path is read at call
time, so a process that sets the variable before its first call moves everything. Datasets are
looked for and downloaded under ``$KNAS_DATA_DIR`` (default ``<repo>/data``).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def root() -> Path:
    return Path(os.environ.get("KNAS_CACHE_DIR") or REPO / "cache")


def scores_dir() -> Path:
    return root() / "scores"


def jobs_dir() -> Path:
    return root() / "jobs"


def tables_dir() -> Path:
    """Converted official ``.pth`` ground-truth tables."""
    return root() / "benchmarks"


def settings_file() -> Path:
    return root() / "settings.json"


def data_root() -> Path:
    return Path(os.environ.get("KNAS_DATA_DIR") or REPO / "data")
