"""Input a hostile or careless user gives (#23): nothing stalls, nothing grows without bound,
nothing is computed silently wrong. Real files, real processes where the case is about one."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from knas import fmt
from knas.__main__ import main
from knas.data import imagefolder, readers
from knas.results import scorefile, staticfigs
from knas.search.specs import FineStage, Pool, SpecError
from tests.conftest import REPO, cli_error


@pytest.fixture
def env(cli_env):
    return cli_env


_error = cli_error


def _search(env, *extra):
    return ["search", "--data", env["data"], "--truth", env["truth"], "--proxy", "params", "--n", "4",
            "--k", "3", "--workers", "1", "--quiet", *extra]


# --- nothing stalls --------------------------------------------------------------------------------


def test_escaping_hostile_text_finishes_and_keeps_links_as_code():
    """Runs of link characters 100,000 long: the escape used to rescan each run from every position
    in it (a minute per visit, the whole server blocked). A separate process with a generous
    limit guards against a hang; the figure itself is a benchmark's, not this test's."""
    script = ("from knas import fmt\n"
              "for text in ('a' * 100_000, 'a.' * 50_000, 'a@' * 50_000, 'x' * 99_999 + '@y',"
              " 'h:' * 50_000):\n"
              "    assert fmt.md_escape(text)\n"
              "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
    assert fmt.md_escape("go to .http://x.y/~a or a@b.c") == "go to `.http://x.y/~a` or `a@b.c`"
    assert fmt.md_escape("[x](http://e)") == "\\[x\\](`http://e)`"


def test_clip_shows_the_start_and_the_length():
    assert fmt.clip("abc", 5) == "abc"
    assert fmt.clip("x" * 100_000, 10) == "xxxxxxxxxx… (100,000 characters, cut)"


def test_a_fifo_named_like_an_image_is_not_opened(tmp_path):
    """A FIFO called x.png would block the read forever: only regular files are images."""
    from PIL import Image

    (tmp_path / "cat").mkdir()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "cat" / "a.png")
    os.mkfifo(tmp_path / "cat" / "b.png")
    script = ("import sys\nfrom knas.data import readers\n"
              f"print(len(readers.load('folder', {str(tmp_path)!r}).images))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "1", done.stderr


# --- bounded messages and work ------------------------------------------------------------------


def test_a_huge_cell_is_quoted_as_a_short_excerpt(env, capsys):
    """An index cell of two million NUL bytes: the error quotes its start and its length."""
    table = env["tmp"] / "huge.csv"
    table.write_text("index,arch_str,cifar10_test\n" + "\0" * 2_000_000 + ",x,1.0\n")
    line = _error(capsys, ["check", "--truth", str(table)])
    assert "row 1: index" in line and "characters, cut" in line and len(line) < 600


@pytest.mark.parametrize("extra, message", [
    (["--budget", "1e300", "--baselines", "rea"], "budget: a positive number of seconds up to 1,000,000"),
    (["--seed", "99999999999999999999"], "seed: at most 2,147,483,647"),
    (["--weights-seed", str(2**64)], "weights_seed: a seed is a whole number from 0 to 2,147,483,647"),
    (["--repeats", "5000"], "repeats: at most 1,000"),
    (["--n", "100000"], "n: at most 1,024"),
    (["--pool", "random:--5"], "bad pool 'random:--5': use random:N"),
    (["--pool", "random:²"], "bad pool 'random:²': use random:N"),
    (["--fine", "train:²"], "train:EPOCHS (1 <= EPOCHS <= 1000)"),
])
def test_every_numeric_setting_has_a_range(env, capsys, extra, message):
    assert message in _error(capsys, _search(env, "--fine", "lookup:cifar10_valid", *extra))


def test_workers_beyond_the_cores_are_capped_with_a_warning(env, capsys):
    out = env["tmp"] / "s.csv"
    assert main(["score", "--dataset", "cifar10", "--data", env["data"], "--pool", "random:2",
                 "--proxies", "params", "--n", "4", "--workers", "500", "--out", str(out)]) == 0
    assert f"using {os.cpu_count()}" in capsys.readouterr().err
    assert len(pd.read_csv(out)) == 2


def test_an_exported_head_is_bounded(env, capsys):
    line = _error(capsys, ["export", "--arch", "0", "--format", "module", "--num-classes",
                           "100000000000", "--out", str(env["tmp"] / "m.py")])
    assert "--num-classes 100000000000: give 1 to 100,000" in line


def test_spec_errors_name_the_accepted_forms():
    for text in ("random:--5", "random:²", "range:0:²"):
        with pytest.raises(SpecError, match="use random:N"):
            Pool.parse(text, 100)
    with pytest.raises(SpecError, match="train:EPOCHS"):
        FineStage.parse("train:²")


# --- no silent wrong results ----------------------------------------------------------------------


def test_lookup_columns_and_the_report_column_must_hold_numbers_for_the_pool(env, capsys):
    truth = pd.read_csv(env["truth"])
    empty = env["tmp"] / "empty.csv"
    truth.assign(blank=np.nan).to_csv(empty, index=False)
    partial = env["tmp"] / "partial.csv"
    truth[truth["index"] < 100].to_csv(partial, index=False)
    line = _error(capsys, _search(env, "--fine", "lookup:arch_str"))
    assert "column 'arch_str' holds text, not numbers" in line
    line = _error(capsys, _search(env, "--truth", str(empty), "--fine", "lookup:blank"))
    assert "column 'blank' has no values" in line
    line = _error(capsys, _search(env, "--truth", str(empty), "--report", "blank",
                                  "--fine", "lookup:cifar10_valid"))
    assert "column 'blank' has no values" in line
    line = _error(capsys, _search(env, "--truth", str(partial), "--pool", "range:0:200",
                                  "--fine", "lookup:cifar10_valid"))
    assert "has no value for 100 of the 200 cells searched (e.g. cell 100)" in line


def test_an_npz_must_hold_the_named_data_sets_labels(tmp_path):
    images = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "wide.npz", x=images, y=np.array([0, 1, 2, 15]))
    with pytest.raises(readers.DataError, match="holds labels up to 15; cifar10 has 10 classes"):
        readers.load_named("cifar10", tmp_path / "wide.npz")
    np.savez(tmp_path / "two.npz", x=images, y=np.array([0, 1, 0, 1]), classes=np.array(["a", "b"]))
    with pytest.raises(readers.DataError, match="holds 2 classes; cifar10 has 10 classes"):
        readers.load_named("cifar10", tmp_path / "two.npz")
    np.savez(tmp_path / "few.npz", x=images, y=np.array([0, 1, 0, 3]))
    assert readers.load_named("cifar10", tmp_path / "few.npz").num_classes == 10  # CIFAR-10's head


def test_one_small_image_does_not_shrink_a_folder(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "0_tiny.png")
    for i in range(3):
        Image.new("RGB", (32, 32)).save(tmp_path / "b" / f"{i}.png")
    assert readers.load("folder", tmp_path).images.shape == (4, 32, 32, 3)


def test_a_dollar_in_a_column_name_draws_as_text():
    """matplotlib read "$…$" as math: a column named so failed the whole summary PNG."""
    frame = pd.DataFrame({"index": range(10), "p$x": np.arange(10.0), "acc$\\frac$": np.arange(10.0)})
    png = staticfigs.to_bytes(staticfigs.scatter(frame, "p$x", "acc$\\frac$"), "png")
    assert png.startswith(b"\x89PNG")


def test_downloaded_csvs_neutralise_formulas():
    frame = pd.DataFrame({"index": [0, 1], "arch_str": ["|a|", "=HYPERLINK(\"http://x\")"],
                          "=cmd": [-1.5, 2.0], "note": ["@SUM(A1)", "+1"]})
    text = scorefile.safe_csv(frame)
    assert text.splitlines() == ["index,arch_str,'=cmd,note", "0,|a|,-1.5,'@SUM(A1)",
                                 "1,\"'=HYPERLINK(\"\"http://x\"\")\",2.0,'+1"]


def test_an_error_line_is_bounded(env, capsys):
    line = _error(capsys, _search(env, "--data", "x" * 5000, "--fine", "lookup:cifar10_valid"))
    assert "(5,000 characters, cut)" in line and len(line) < 400


def test_a_path_longer_than_the_os_takes_is_a_field_error(env):
    """The OS refuses a 5,000-character path with an error of its own: the check said so as a
    traceback, on the New search page too."""
    from knas.search.config import ScoreConfig, SearchConfig

    errors = SearchConfig(data=env["data"], truth="y" * 5000, fine="lookup:cifar10_valid",
                          max_latency=("pixel3" * 1000 + ":10",)).errors()
    assert errors["truth"].startswith("at most 4,096 characters, got 5,000: yyy")
    assert errors["max_latency"].startswith("at most 4,096 characters, got 6,003")
    assert ScoreConfig(dataset="cifar10", data="x" * 5000).errors()["data"].endswith(
        "(5,000 characters, cut)")


def test_a_scores_file_error_quotes_a_short_excerpt():
    from knas import spaces

    text = "index,arch_str,p\n0," + "|x~0|" * 40_000 + ",1.0\n"
    with pytest.raises(scorefile.ScoreFileError) as err:
        scorefile.read_scores_csv(text, spaces.get("nb201"))
    assert "row 1: arch_str" in str(err.value) and "characters, cut" in str(err.value)
    assert len(str(err.value)) < 400


def test_every_text_field_of_the_dashboard_is_bounded():
    """A field takes at most MAX_TEXT characters in the browser, so no paste of megabytes reaches
    a check or a path lookup (#23)."""
    import ast

    unbounded = []
    for path in [*(REPO / "pages").glob("*.py"), *(REPO / "knas" / "ui").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                    "text_input", "text_area", "chat_input"):
                if not any(k.arg == "max_chars" for k in node.keywords):
                    unbounded.append(f"{path.name}:{node.lineno}")
    assert unbounded == []


def test_folder_scans_are_bounded(tmp_path, monkeypatch):
    """A data folder with thousands of sub-folders (a home directory, a photo archive) is looked
    into a bounded number of times, so the Data page answers in a moment."""
    from knas.ui import machine

    for i in range(machine.SCAN_FOLDERS * 3):
        (tmp_path / f"folder{i:05d}").mkdir()
    looked = []
    real_detect = readers.detect
    monkeypatch.setattr(readers, "detect", lambda p: looked.append(p) or real_detect(p))
    assert machine.find_datasets([tmp_path]) == {}
    assert len(looked) == machine.SCAN_FOLDERS + 1  # the root and at most SCAN_FOLDERS inside
    many = tmp_path / "folder00000"
    for i in range(imagefolder.DETECT_ENTRIES + 10):
        (many / f"class{i:05d}").mkdir()
    opened = []
    real_iterdir = type(many).iterdir
    monkeypatch.setattr(type(many), "iterdir", lambda self: opened.append(self) or real_iterdir(self))
    assert real_detect(many) is None
    assert len(opened) <= imagefolder.DETECT_ENTRIES + 1 + 2  # root, its class folders, the splits
