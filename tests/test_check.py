import subprocess
import sys

import pandas as pd

from knas.data import benchmark, check
from knas.spaces.nb201 import cells as space
from tests.conftest import NB201, REPO


def test_check_cli_on_shared_truth(shared_data):
    out = subprocess.run(
        [sys.executable, "-m", "knas", "check", "--truth", str(shared_data / "nb201" / "nb201_accuracies.csv")],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "index order: 15625/15625 match"
    # Every row either matches or is the benchmark's isomorphic-copy defect: no real mismatch.
    assert lines[1].startswith("params: ") and lines[1].endswith("/15625 match")
    assert "isomorphism class" in lines[2]
    assert out.returncode == 0, out.stderr


def _table(rows):
    return benchmark.validated(pd.DataFrame(rows), "test", verify_order=False)


def test_check_counts_order_and_param_mismatches():
    good = space.to_str(space.arch_at(0))
    rows = [
        {"index": 0, "arch_str": good, "params_mb_c10": 0.129306},
        {"index": 1, "arch_str": good, "params_mb_c10": 0.129306},  # wrong cell for index 1
        {"index": 2, "arch_str": space.to_str(space.arch_at(2)), "params_mb_c10": 0.5},  # wrong count
        {"index": 3, "arch_str": space.to_str(space.arch_at(3)), "params_mb_c10": float("nan")},
    ]
    report = check.check_table(_table(rows), NB201)
    assert report.lines()[:2] == ["index order: 3/4 match", "params: 2/3 match"]
    assert [m.index for m in report.order_mismatches] == [1]
    assert [m.index for m in report.params_mismatches] == [2]
    assert not report.ok


def test_check_cli_fails_on_mismatch(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame([{"index": 5, "arch_str": space.to_str(space.arch_at(6)), "params_mb_c10": 1.0}]).to_csv(path, index=False)
    out = subprocess.run([sys.executable, "-m", "knas", "check", "--truth", str(path)],
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert out.stdout.splitlines() == ["index order: 0/1 match", "params: 0/1 match"]
    assert out.returncode == 1
    assert "index 5 arch_str" in out.stderr


def test_check_cli_reports_missing_file_cleanly(tmp_path):
    out = subprocess.run([sys.executable, "-m", "knas", "check", "--truth", str(tmp_path / "nope.csv")],
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "file not found" in out.stderr and "Traceback" not in out.stderr
