"""Scores files: the CSV that ``python -m knas score`` writes and the Compare page reads.

Written with every float exact (``read_scores_csv`` gives back the same numbers, ``inf`` too) and
read back checked: benchmark indices, arch strings that match them, numeric proxy columns.
Torch-free.
"""
from __future__ import annotations

import io

import pandas as pd

from knas import fmt
from knas.results import runview
from knas.errors import KnasError


class ScoreFileError(KnasError):
    """A scores file that cannot be used; the message says which row or column and why."""


def scores_csv(frame: pd.DataFrame) -> str:
    """A scores table as CSV text in ``python -m knas score``'s layout: ``index``, ``arch_str``,
    then one column per proxy (other columns kept after them). Floats are written exactly, so
    ``read_scores_csv`` gives back the same numbers; ``inf``/``-inf`` survive the round trip."""
    first = [c for c in ("index", "arch_str") if c in frame.columns]
    ordered = frame[first + [c for c in frame.columns if c not in first]]
    return safe_csv(ordered)


# What a spreadsheet reads as a formula at the start of a cell (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutral(value):
    """Text a spreadsheet would run as a formula, prefixed with ' so it stays text; numbers
    (a negative score included) are left as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> str:
    """CSV text of a table for download: every float exact, and no header or text cell that a
    spreadsheet would evaluate (``=HYPERLINK(…)`` in a column name from an uploaded file)."""
    safe = frame.rename(columns=lambda c: _neutral(str(c)))
    for name in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[name]):
            safe[name] = safe[name].map(_neutral)
    return safe.to_csv(index=False, float_format=None, lineterminator="\n")


def read_scores_csv(data, space) -> pd.DataFrame:
    """A scores CSV (text, bytes or file-like) of ``space``'s cells, checked and ready to
    correlate.

    It needs an ``index`` column of cell indices (0..size-1, each once) and at least one numeric
    proxy column; an ``arch_str`` column, if present, must name each row's cell. The
    ``arch_str`` column is (re)written from the index, so the frame is always complete."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if isinstance(data, str):
        data = io.StringIO(data)
    try:
        frame = pd.read_csv(data)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ScoreFileError(f"not a CSV file ({fmt.clip(' '.join(str(err).split()), 200)})") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    if "index" not in frame.columns:  # not known to be a scores file: quote nothing of it
        raise ScoreFileError(f"no 'index' column in its first line ({len(frame.columns)} columns "
                             "found); expected the output of `python -m knas score`")
    if any(not fmt.plain_name(c) for c in frame.columns):
        raise ScoreFileError("a column name holds markup characters (< > & \" ` { } or control "
                             "characters); rename it")
    if frame.empty:
        raise ScoreFileError("a header but no rows")
    index = pd.to_numeric(frame["index"], errors="coerce")
    bad = index.isna() | (index % 1 != 0) | (index < 0) | (index >= space.size)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        value = index.iloc[row]
        shown = "empty or not a number" if pd.isna(value) else f"{value:g}"
        raise ScoreFileError(f"row {row + 1}: index {shown} is not an integer in "
                             f"0..{space.size - 1}")
    index = index.astype("int64")
    if index.duplicated().any():
        raise ScoreFileError(f"index {int(index[index.duplicated()].iloc[0])} appears more than once")
    arch_strs = [space.format(space.arch_at(int(i))) for i in index]
    if "arch_str" in frame.columns:
        for row, (given, expected) in enumerate(zip(frame["arch_str"], arch_strs)):
            if isinstance(given, str) and given.strip() and given.strip() != expected:
                raise ScoreFileError(f"row {row + 1}: arch_str {fmt.clip(repr(given), 80)} is not the cell at index "
                                  f"{int(index.iloc[row])} ({expected})")
    proxies = proxy_columns(frame)
    if not proxies:
        others = [c for c in frame.columns if c not in runview.META_COLUMNS]
        raise ScoreFileError("no numeric proxy columns besides index and arch_str"
                             + (f" (column(s) {fmt.clip(', '.join(others), 200)} hold text)" if others else ""))
    out = frame.assign(index=index)
    out = out.drop(columns=[c for c in ("arch_str",) if c in out.columns])
    out.insert(1, "arch_str", arch_strs)
    return out.reset_index(drop=True)


def proxy_columns(frame: pd.DataFrame) -> list[str]:
    """The score columns of a scores frame: numeric columns other than index/arch/method/repeat."""
    return [c for c in frame.columns if c not in runview.META_COLUMNS
            and pd.api.types.is_numeric_dtype(frame[c])]


def truth_for(frame: pd.DataFrame, table: pd.DataFrame, column: str) -> pd.Series:
    """The ``column`` of a truth table for each row of a scores frame, in the frame's order
    (NaN where the table lacks the cell)."""
    if column not in table.columns:
        raise ScoreFileError(f"no column {fmt.clip(repr(column), 80)} in the table; it has "
                             f"{fmt.clip(', '.join(map(str, table.columns)), 400)}")
    return pd.Series(table[column].reindex(frame["index"].astype(int)).to_numpy(), index=frame.index,
                     name=column)
