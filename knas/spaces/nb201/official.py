"""Official NAS-Bench-201 ``.pth`` files: converted once into the compact table, with consent.

Reading an official file means unpickling it through ``nas_201_api``, which can run code stored
in the file, so it happens only when the user asks (the Data page after a trust confirmation,
``python -m knas check``), in a child process when the caller is the UI (``convert_table``).
The converted table is cached under ``paths.tables_dir()`` keyed by the file's path, size and
modification time; later loads (``benchmark.load_table``) read only that cache, torch-free.
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import threading
import warnings
from pathlib import Path
from unittest import mock

import pandas as pd

from knas.data import benchmark
from knas.spaces.nb201 import columns
from knas import paths

# The compact schema of a converted .pth, from the dataset catalogue: column -> where it comes from.
ACCURACY_COLUMNS = columns.accuracy_columns()  # -> (NAS-Bench-201 dataset, evaluation set)
SEEDS_COLUMNS = {d.seeds_column: d.nb201_seeds for d in columns.BY_DATASET.values()}
PARAMS_COLUMNS = {d.params_column: d.nb201_name for d in columns.BY_DATASET.values()}
PTH_SUFFIXES = (".pth", ".pt")

# Converting a .pth temporarily patches nas_201_api; one conversion at a time keeps that sound
# (and keeps two multi-GB files out of memory at once).
_PTH_LOCK = threading.Lock()


def not_converted(path) -> str:
    return (f"{path} is an official NAS-Bench-201 .pth file that has not been converted yet; "
            "converting it unpickles it, which can run code stored in the file, so it happens "
            "only when you ask: convert it on the Data page (after confirming that you trust it) "
            f"or with `python -m knas check --truth {path}`")


def require_converted(path, cache_dir=None) -> None:
    """For a ``.pth``: its converted cache must exist (checked without reading the file)."""
    source = Path(path)
    if source.suffix.lower() not in PTH_SUFFIXES or not source.is_file():
        return
    cache = Path(cache_dir) if cache_dir is not None else paths.tables_dir()
    if not cache_path(source, cache).is_file():
        raise benchmark.BenchmarkError(not_converted(source))


def load(source: Path, cache_dir: Path, verify_order: bool, convert: bool) -> pd.DataFrame:
    """The compact table of an official file: its converted cache, or (``convert``) a fresh
    conversion, which unpickles the file."""
    cached = cache_path(source, cache_dir)
    if cached.is_file():
        try:
            return _read_cache(cached, verify_order)
        except (OSError, ValueError, benchmark.BenchmarkError) as err:
            warnings.warn(f"ignoring unreadable benchmark cache {cached}: {err}", stacklevel=3)
    if not convert:
        raise benchmark.BenchmarkError(not_converted(source))
    frame = _convert_pth(source, verify_order)
    _write_cache(frame, cached)
    return frame


def cache_path(source: Path, cache_dir: Path) -> Path:
    """A name that changes whenever the source file is moved, rewritten or touched."""
    stat = source.stat()
    key = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    # Parquet is faster and exact; pyarrow comes with streamlit but is not guaranteed.
    suffix = ".parquet" if importlib.util.find_spec("pyarrow") else ".csv"
    return cache_dir / f"{source.stem}-{digest}{suffix}"


def _read_cache(path: Path, verify_order: bool) -> pd.DataFrame:
    raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return benchmark.validated(raw, path, verify_order)


def _write_cache(frame: pd.DataFrame, path: Path) -> None:
    """Write via a temporary file, so an interrupted write never leaves a half cache behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            frame.reset_index().to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        warnings.warn(f"could not cache the converted benchmark at {path}: {err}", stacklevel=4)


class _UnpicklingTorch:
    """``torch`` as nas_201_api sees it during a load: ``torch.load`` with weights_only=False.

    torch >= 2.6 loads with weights_only=True by default, which refuses the benchmark's pickled
    objects. Swapping only nas_201_api's reference leaves every other ``torch.load`` in the
    process as safe as before. Letting the API load the path itself (rather than handing it a
    loaded dict) also avoids the deep copy it makes of a dict, which would double the memory.
    """

    def __init__(self, torch):
        self._torch = torch

    def __getattr__(self, name):
        return getattr(self._torch, name)

    def load(self, *args, **kwargs):
        return self._torch.load(*args, **{**kwargs, "weights_only": False})


def _convert_pth(path: Path, verify_order: bool) -> pd.DataFrame:
    """Read an official file through nas_201_api (unpickling it) and keep the compact columns."""
    try:
        import torch
        from nas_201_api import NASBench201API, api_201
    except ImportError as err:
        raise benchmark.BenchmarkError(
            f"{path}: reading an official .pth file needs torch and nas-bench-201 ({err})"
        ) from err
    try:
        with _PTH_LOCK, mock.patch.object(api_201, "torch", _UnpicklingTorch(torch)):
            api = NASBench201API(str(path), verbose=False)
        rows = [_pth_row(api, index) for index in api.evaluated_indexes]
    except Exception as err:  # pickle, zip, torch and the API's own asserts all mean "bad file"
        raise benchmark.BenchmarkError(
            f"{path}: not a readable NAS-Bench-201 .pth file ({type(err).__name__}: {err})"
        ) from err
    if not rows:
        raise benchmark.BenchmarkError(f"{path}: the file has no evaluated architectures")
    return benchmark.validated(pd.DataFrame(rows), path, verify_order)


def _pth_row(api, index: int) -> dict:
    """One row: what ``get_more_info(index, dataset, hp='200', is_random=False)`` and
    ``get_cost_info(index, dataset)['params']`` report, read from the 200-epoch ArchResults
    directly because ``get_cost_info`` deep-copies every result first (minutes for 15,625)."""
    results = api.arch2infos_dict[index]["200"]
    datasets = set(results.get_dataset_names())
    row = {"index": index, "arch_str": api.meta_archs[index]}
    for name, (dataset, setname) in ACCURACY_COLUMNS.items():
        row[name] = _final_accuracy(results, dataset, setname) if dataset in datasets else math.nan
    for name, dataset in SEEDS_COLUMNS.items():
        row[name] = len(results.get_dataset_seeds(dataset)) if dataset in datasets else math.nan
    for name, dataset in PARAMS_COLUMNS.items():
        row[name] = results.get_compute_costs(dataset)["params"] if dataset in datasets else math.nan
    return row


def _final_accuracy(results, dataset: str, setname: str) -> float:
    """Last-epoch accuracy averaged over seeds; NaN where the runs lack that evaluation set."""
    try:
        return float(results.get_metrics(dataset, setname, iepoch=None, is_random=False)["accuracy"])
    except KeyError:
        return math.nan


def convert_table(path, timeout: float = 3600.0) -> str:
    """Convert an official NAS-Bench-201 ``.pth`` into the cached compact table in a child
    process (it needs torch and nas_201_api, which the UI process never imports); returns what
    the child printed. Afterwards ``load_table(path)`` reads the cache, torch-free.

    The file is unpickled, which can run code stored in it: call this only for a file the user
    chose and trusts."""
    import subprocess
    import sys

    path = Path(path)
    if not path.is_file():
        raise benchmark.BenchmarkError(f"{path}: file not found")
    code = ("import sys; from knas.data import benchmark; "
            "t = benchmark.load_table(sys.argv[1], convert=True); "
            "print(f'{len(t)} rows, columns: {\", \".join(map(str, t.columns))}')")
    try:
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                             cwd=paths.REPO, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise benchmark.BenchmarkError(f"{path}: conversion did not finish within {timeout:.0f} s") from err
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
        raise benchmark.BenchmarkError(lines[-1] if lines else f"{path}: conversion failed")
    return out.stdout.strip()
