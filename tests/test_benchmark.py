"""Ground-truth tables: the real shared CSVs, small CSVs written here, and a small official .pth."""
from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from knas.data import benchmark
from knas.spaces.nb201 import official, cells as space
from knas import paths
from knas.data.benchmark import BenchmarkError, NotInTable, best, column, load_table, lookup

REPO = Path(__file__).resolve().parents[1]


# --- the real shared ground truth ----------------------------------------------------------


@pytest.fixture(scope="module")
def accuracies(shared_data) -> pd.DataFrame:
    return load_table(shared_data / "nb201" / "nb201_accuracies.csv")


def test_real_table_shape_and_types(accuracies):
    assert len(accuracies) == space.N_ARCHS
    assert accuracies.index.name == "index"
    assert list(accuracies.index) == list(range(space.N_ARCHS))
    values = accuracies.drop(columns="arch_str")
    assert all(dtype == np.float64 for dtype in values.dtypes)
    assert set(official.ACCURACY_COLUMNS) <= set(accuracies.columns)


@pytest.mark.parametrize(
    "name, index, value",
    [("cifar10_test", 6111, 94.37), ("cifar100_test", 9930, 73.51), ("imagenet16_test", None, 47.31)],
)
def test_real_table_known_optima(accuracies, name, index, value):
    found_index, found_value = best(accuracies, name)
    assert found_value == pytest.approx(value, abs=0.005)
    if index is not None:
        assert found_index == index


def test_real_table_lookup_by_index_and_string(accuracies):
    by_index = lookup(accuracies, 6111)
    by_string = lookup(accuracies, by_index["arch_str"])
    assert by_index == by_string
    assert by_index["index"] == 6111
    assert by_index["cifar10_test"] == pytest.approx(94.37, abs=0.005)
    assert space.index_of(by_index["arch_str"]) == 6111


def test_real_12epoch_table_loads_the_same_way(shared_data):
    table = load_table(shared_data / "nb201" / "nb201_12epoch.csv")
    assert len(table) == space.N_ARCHS
    assert "cifar10_test_12ep" in table.columns
    assert table["cifar10_test_12ep"].max() < best(table, "cifar10_test_200ep_1seed")[1]


# --- small CSVs ------------------------------------------------------------------------------


def _arch(index: int) -> str:
    return space.to_str(space.arch_at(index))


def _write(tmp_path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _csv(rows, header="index,arch_str,cifar10_test") -> str:
    return header + "\n" + "\n".join(",".join(map(str, row)) for row in rows) + "\n"


@pytest.fixture
def subset(tmp_path) -> pd.DataFrame:
    """A table with one value column, rows out of order and one missing value."""
    rows = [(42, _arch(42), 80.5), (7, _arch(7), 91.25), (1000, _arch(1000), "")]
    return load_table(_write(tmp_path, _csv(rows)))


def test_subset_csv_is_indexed_sorted_and_float(subset):
    assert list(subset.index) == [7, 42, 1000]
    assert list(subset.columns) == ["arch_str", "cifar10_test"]
    assert subset["cifar10_test"].dtype == np.float64
    assert math.isnan(subset.loc[1000, "cifar10_test"])


def test_lookup_by_index_string_and_tuple(subset):
    expected = {"index": 42, "arch_str": _arch(42), "cifar10_test": 80.5}
    assert lookup(subset, 42) == expected
    assert lookup(subset, np.int64(42)) == expected
    assert lookup(subset, _arch(42)) == expected
    assert lookup(subset, space.arch_at(42)) == expected


def test_lookup_errors(subset):
    with pytest.raises(NotInTable, match=r"architecture 5 .* not in this table \(3 rows\)"):
        lookup(subset, 5)
    with pytest.raises(KeyError):
        lookup(subset, _arch(5))
    with pytest.raises(space.ArchError):
        lookup(subset, space.N_ARCHS)
    with pytest.raises(space.ArchError):
        lookup(subset, "|conv~0|")


def test_column_and_best(subset):
    assert column(subset, "cifar10_test").loc[7] == 91.25
    with pytest.raises(NotInTable, match="no column 'cifar100_test'.*available: arch_str, cifar10_test"):
        column(subset, "cifar100_test")
    assert best(subset, "cifar10_test") == (7, 91.25)
    with pytest.raises(ValueError, match="not numeric"):
        best(subset, "arch_str")


@pytest.mark.parametrize(
    "text, message",
    [
        (b"", "empty file"),
        (b"\n\n", r"empty file \(no header\)"),
        (b"\x80\x02\xff binary", "not a CSV file"),
        (b'index,arch_str,cifar10_test\n1,"unterminated\n', "not a CSV file"),
        (b"a,b\n1,2\n", r"missing column\(s\) index, arch_str in its first line \(2 columns found\)"),
        (b"index,cifar10_test\n1,2\n", r"missing column\(s\) arch_str"),
        (b"index,arch_str\n1,x\n", "no value columns"),
        (b"index,arch_str,cifar10_test\n", "a header but no rows"),
    ],
)
def test_csv_file_errors(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(text)
    with pytest.raises(BenchmarkError, match=message) as info:
        load_table(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([(0, _arch(0), 1), (1, _arch(1), 2), (2, "|conv_5x5~0|+|x~0|", 3)],
         r"row 3: bad arch_str '\|conv_5x5~0\|\+\|x~0\|': expected 3 nodes"),
        ([(0, _arch(0), 1), (1, _arch(1).replace("~0|+", "~1|+", 1), 2)],
         r"row 2: bad arch_str .*input node must be 0"),
        ([(0, _arch(0), 1), (1, "", 2)], "row 2: bad arch_str '': empty arch string"),
        ([(3, _arch(4), 1)], r"row 1: arch_str .* is NAS-Bench-201 index 4, but the row says index 3"),
        ([(5, _arch(5), 1), (6, _arch(6), 2), (5, _arch(5), 3)],
         r"index 5 appears more than once \(rows 1 and 3\)"),
        ([(0, _arch(0), 1), (space.N_ARCHS, _arch(0), 2)], r"row 2: index 15625 is not an integer in 0\.\.15624"),
        ([("abc", _arch(0), 1)], "row 1: index 'abc' is not an integer"),
        ([(1.5, _arch(1), 1)], "row 1: index 1.5 is not an integer"),
        ([(0, _arch(0), 1), (1, _arch(1), "ninety")],
         "row 2: column cifar10_test has a non-numeric value 'ninety'"),
    ],
)
def test_csv_content_errors(tmp_path, rows, message):
    with pytest.raises(BenchmarkError, match=message):
        load_table(_write(tmp_path, _csv(rows)))


def test_missing_file(tmp_path):
    with pytest.raises(BenchmarkError, match="file not found"):
        load_table(tmp_path / "nope.csv")
    with pytest.raises(BenchmarkError, match="not a regular file"):
        load_table(tmp_path)


def test_module_imports_without_torch():
    code = "import sys, knas.data.benchmark; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


# --- a small official-format .pth ----------------------------------------------------------

# dataset -> (seeds, evaluation sets); ImageNet16-120 is left out for one arch below.
RUNS = {
    "cifar10-valid": ([777, 888], ["x-valid", "ori-test"]),
    "cifar10": ([777, 888, 999], ["ori-test"]),
    "cifar100": ([777], ["x-valid", "x-test", "ori-test"]),
    "ImageNet16-120": ([777, 888], ["x-valid", "x-test", "ori-test"]),
}
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
PTH_ARCHS = (6111, 1, 42)
NO_IMAGENET = 42


def _acc(index, dataset, setname, seed, epoch, epochs):
    """Distinct, checkable numbers; the 12-epoch runs get values far from the 200-epoch ones."""
    base = 10.0 * (epochs == 12)
    return base + (index % 50) + len(dataset) + len(setname) / 10 + seed / 1000 + epoch


def _params(index, dataset):
    return np.float64(index / 10000 + CLASSES[dataset] / 1000)  # numpy, as in the real files


def _expected(index, dataset, setname, epochs=3):
    seeds = RUNS[dataset][0]
    return sum(_acc(index, dataset, setname, s, epochs - 1, epochs) for s in seeds) / len(seeds)


def _arch_results(index: int, epochs: int):
    from nas_201_api.api_utils import ArchResults, ResultsCount

    results = ArchResults(index, _arch(index))
    for dataset, (seeds, setnames) in RUNS.items():
        if dataset == "ImageNet16-120" and index == NO_IMAGENET:
            continue
        for seed in seeds:
            config = {"channel": 16, "num_cells": 5, "arch_str": _arch(index),
                      "class_num": CLASSES[dataset]}
            run = ResultsCount(dataset, None, {e: 50.0 + e for e in range(epochs)},
                               {e: 1.0 / (e + 1) for e in range(epochs)}, _params(index, dataset),
                               12.5, config, seed, epochs, [0.01])
            keys = [(f"{name}@{e}", name, e) for name in setnames for e in range(epochs)]
            run.update_eval({k: _acc(index, dataset, name, seed, e, epochs) for k, name, e in keys},
                            {k: 0.5 for k, _, _ in keys}, {k: 0.1 for k, _, _ in keys})
            results.update(dataset, seed, run)
    return results.state_dict()


@pytest.fixture(scope="module")
def official_pth(tmp_path_factory) -> Path:
    """The official layout: meta_archs for the whole space, results for a few archs."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("nas_201_api")
    data = {
        "meta_archs": [_arch(i) for i in range(space.N_ARCHS)],
        "arch2infos": {i: {"less": _arch_results(i, 12), "full": _arch_results(i, 3)}
                       for i in PTH_ARCHS},
        "evaluated_indexes": list(PTH_ARCHS),
    }
    path = tmp_path_factory.mktemp("official") / "NAS-Bench-201-tiny.pth"
    torch.save(data, path)
    return path


@pytest.fixture
def torch_loads(monkeypatch):
    """Record every torch.load call's weights_only argument."""
    import torch

    calls, real_load = [], torch.load

    def counting_load(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", counting_load)
    return calls


def test_official_pth_needs_unpickling(official_pth):
    import torch

    with pytest.raises(pickle.UnpicklingError):
        torch.load(official_pth)  # torch >= 2.6 default: weights_only=True


def test_official_pth_converts_to_compact_schema(official_pth, tmp_path, torch_loads):
    table = load_table(official_pth, cache_dir=tmp_path, convert=True)
    assert torch_loads == [False]
    assert list(table.index) == sorted(PTH_ARCHS)
    assert list(table.columns) == ["arch_str", *official.ACCURACY_COLUMNS,
                                   *official.SEEDS_COLUMNS, *official.PARAMS_COLUMNS]
    for index in PTH_ARCHS:
        row = lookup(table, index)
        assert row["arch_str"] == _arch(index)
        for name, (dataset, setname) in official.ACCURACY_COLUMNS.items():
            if dataset == "ImageNet16-120" and index == NO_IMAGENET:
                assert math.isnan(row[name])
            else:
                assert row[name] == pytest.approx(_expected(index, dataset, setname)), name
        assert row["n_seeds_c10valid"] == 2 and row["n_seeds_c100"] == 1
        assert row["params_mb_c100"] == pytest.approx(_params(index, "cifar100"))
    assert best(table, "cifar10_test")[0] == 42  # 42 % 50 beats 6111 % 50 and 1


def test_official_pth_matches_the_api(official_pth, tmp_path):
    import torch
    from nas_201_api import NASBench201API

    api = NASBench201API(torch.load(official_pth, weights_only=False), verbose=False)
    table = load_table(official_pth, cache_dir=tmp_path, convert=True)
    info = api.get_more_info(6111, "cifar100", iepoch=None, hp="200", is_random=False)
    assert table.loc[6111, "cifar100_valid"] == pytest.approx(info["valid-accuracy"])
    assert table.loc[6111, "cifar100_test"] == pytest.approx(info["test-accuracy"])
    assert table.loc[6111, "cifar100_valtest"] == pytest.approx(info["valtest-accuracy"])
    info = api.get_more_info(6111, "cifar10", iepoch=None, hp="200", is_random=False)
    assert table.loc[6111, "cifar10_test"] == pytest.approx(info["test-accuracy"])
    cost = api.get_cost_info(6111, "ImageNet16-120", hp="200")
    assert table.loc[6111, "params_mb_img"] == pytest.approx(cost["params"])


def test_official_pth_leaves_torch_load_alone(official_pth, tmp_path):
    import torch
    from nas_201_api import api_201

    load_table(official_pth, cache_dir=tmp_path, convert=True)
    assert api_201.torch is torch


def test_second_load_reads_the_cache_without_unpickling(official_pth, tmp_path, torch_loads):
    first = load_table(official_pth, cache_dir=tmp_path, convert=True)
    cached = list(tmp_path.iterdir())
    assert len(cached) == 1 and cached[0].suffix == ".parquet"
    second = load_table(official_pth, cache_dir=tmp_path, convert=True)
    assert torch_loads == [False]
    pd.testing.assert_frame_equal(first, second)


def test_touched_source_is_converted_again(official_pth, tmp_path, torch_loads):
    load_table(official_pth, cache_dir=tmp_path, convert=True)
    stat = official_pth.stat()
    os.utime(official_pth, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    load_table(official_pth, cache_dir=tmp_path, convert=True)
    assert torch_loads == [False, False]
    assert len(list(tmp_path.iterdir())) == 2


def test_unreadable_cache_is_rebuilt(official_pth, tmp_path, torch_loads):
    expected = load_table(official_pth, cache_dir=tmp_path, convert=True)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(b"not parquet")
    with pytest.warns(UserWarning, match="ignoring unreadable benchmark cache"):
        table = load_table(official_pth, cache_dir=tmp_path, convert=True)
    pd.testing.assert_frame_equal(table, expected)
    assert len(torch_loads) == 2
    assert load_table(official_pth, cache_dir=tmp_path, convert=True).equals(expected)
    assert len(torch_loads) == 2


def test_default_cache_dir_is_in_the_repo(monkeypatch, tmp_path):
    monkeypatch.delenv("KNAS_CACHE_DIR", raising=False)
    assert paths.tables_dir() == REPO / "cache" / "benchmarks"
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path))
    assert paths.tables_dir() == tmp_path / "benchmarks"  # it follows the runtime root


@pytest.mark.parametrize("damage", ["truncated", "text", "wrong_dict"])
def test_corrupt_pth(official_pth, tmp_path, damage):
    import torch

    path = tmp_path / "broken.pth"
    if damage == "truncated":
        path.write_bytes(official_pth.read_bytes()[: official_pth.stat().st_size // 2])
    elif damage == "text":
        path.write_text("index,arch_str\n")
    else:
        torch.save({"meta_archs": []}, path)
    with pytest.raises(BenchmarkError, match="not a readable NAS-Bench-201 .pth file") as info:
        load_table(path, cache_dir=tmp_path / "cache", convert=True)
    assert str(path) in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_pth_without_results(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "nothing.pth"
    torch.save({"meta_archs": [_arch(0)], "arch2infos": {}, "evaluated_indexes": []}, path)
    with pytest.raises(BenchmarkError, match="no evaluated architectures"):
        load_table(path, cache_dir=tmp_path / "cache", convert=True)


def test_convert_table_reports_a_bad_file(tmp_path):
    with pytest.raises(benchmark.BenchmarkError, match="file not found"):
        official.convert_table(tmp_path / "missing.pth")


def _files(folder: Path) -> set:
    found = set()
    for top, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in (".venv", ".git", "__pycache__")]
        found.update(Path(top) / f for f in files)
    return found


def test_check_writes_runtime_files_only_under_the_cache_root(official_pth, tmp_path):
    """``KNAS_CACHE_DIR`` moves every runtime file: converting an official .pth leaves nothing in
    the repository, next to the .pth or in the working directory."""
    root, cwd = tmp_path / "root", tmp_path / "cwd"
    cwd.mkdir()
    watched = [REPO, official_pth.parent, cwd]
    before = [_files(folder) for folder in watched]
    env = {**os.environ, "KNAS_CACHE_DIR": str(root), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "knas", "check", "--truth", str(official_pth)],
                         capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert "index order" in out.stdout, out.stderr
    assert [_files(folder) for folder in watched] == before
    converted = _files(root)
    assert converted and all(p.parent == root / "benchmarks" for p in converted)
