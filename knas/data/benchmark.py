"""Ground-truth tables of a search space: load a table of per-cell results and look things up.

A table is a ``pandas.DataFrame`` indexed by the space's cell ``index`` (sorted; it may hold every
cell or a sample of them), with an ``arch_str`` column and float value columns (accuracies in
percent, seed counts, parameters in millions, training seconds). It comes from a CSV in the
compact schema (``index,arch_str`` plus any value columns) or from a file in a space's own
format (NAS-Bench-201's official ``.pth``), which the space reads (``read_native_table``).
Torch-free. The space defaults to ``knas.spaces.DEFAULT``.
"""
from __future__ import annotations

import csv
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

from knas import fmt, paths, spaces
from knas.errors import KnasError

REQUIRED_COLUMNS = ("index", "arch_str")


class BenchmarkError(KnasError):
    """A benchmark file that cannot be used; the message names the file and the problem."""


class NotInTable(KnasError, KeyError):
    """A column or architecture that the table does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


# --- loading -------------------------------------------------------------------------------


MAX_CSV_BYTES = 256 * 2**20  # bounded reading: a table's rows are small numbers and names


def load_table(path, space=None, cache_dir=None, verify_order: bool = True,
               convert: bool = False) -> pd.DataFrame:
    """Load a ground-truth table of ``space`` from a compact CSV or a file in the space's own
    format (NAS-Bench-201's official ``.pth``).

    Rows in error messages are data rows counted from 1 (the header is not a row); messages
    never quote a file's content before it is known to be a table (it could be any file).

    A ``.pth`` file is read from its converted cache under ``cache_dir`` (default
    ``paths.tables_dir()``, keyed by the file's path, size and modification time), torch-free.
    Converting it unpickles it, which can run code stored in it, so that happens only with
    ``convert=True``: after the user confirmed they trust the file (the Data page) or asked for
    it by name (``python -m knas check``). Without a cache it raises ``BenchmarkError`` saying so.

    With ``verify_order`` (the default) each row's arch string must be the cell our space puts
    at that index, so lookups by string are sound; ``python -m knas check`` turns it off to
    count disagreements instead of stopping at the first.
    """
    space = space or spaces.get()
    source = Path(path)
    _check_file(source)
    if source.suffix.lower() in space.native_table_suffixes:
        cache = Path(cache_dir) if cache_dir is not None else paths.tables_dir()
        return space.read_native_table(source, cache, verify_order, convert)
    return _read_csv(source, verify_order, space)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise BenchmarkError(f"{path}: file not found")
    if not path.is_file():
        raise BenchmarkError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise BenchmarkError(f"{path}: empty file")


def _read_csv(path: Path, verify_order: bool, space) -> pd.DataFrame:
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise BenchmarkError(f"{path}: {size / 2**20:,.0f} MiB; a table in CSV is at most "
                             f"{MAX_CSV_BYTES // 2**20} MiB (NAS-Bench-201's are 2 to 4 MiB)")
    header = _first_line(path)  # checked first: what is not a table is never parsed or quoted
    if header is None:
        raise BenchmarkError(f"{path}: not a CSV file (binary content)")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if not header:
        raise BenchmarkError(f"{path}: empty file (no header)")
    if missing:
        raise BenchmarkError(f"{path}: not a ground-truth table: missing column(s) "
                             f"{', '.join(missing)} in its first line ({len(header)} columns found)")
    try:
        raw = pd.read_csv(path)
    except pd.errors.EmptyDataError as err:
        raise BenchmarkError(f"{path}: empty file (no header)") from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise BenchmarkError(f"{path}: not a CSV file ({fmt.clip(' '.join(str(err).split()), 200)})") from err
    except OSError as err:
        raise BenchmarkError(f"{path}: cannot be read ({err.strerror})") from err
    return validated(raw, path, verify_order, space)


def validated(raw: pd.DataFrame, source, verify_order: bool = True, space=None) -> pd.DataFrame:
    """Check a raw table against the schema and ``space``; return it indexed by cell index,
    sorted."""
    space = space or spaces.get()
    columns = [str(c).strip() for c in raw.columns]
    raw = raw.set_axis(columns, axis=1)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:  # not known to be a table: say nothing of what the file holds
        raise BenchmarkError(f"{source}: missing column(s) {', '.join(missing)} "
                             f"({len(columns)} columns found)")
    if len(set(columns)) != len(columns):
        raise BenchmarkError(f"{source}: duplicate column names in {fmt.clip(columns, 200)}")
    if any(not fmt.plain_name(c) for c in columns):
        raise BenchmarkError(f"{source}: a column name holds markup characters (< > & \" ` {{ }} "
                             "or control characters); rename it")
    value_columns = [c for c in columns if c not in REQUIRED_COLUMNS]
    if not value_columns:
        raise BenchmarkError(f"{source}: no value columns besides {', '.join(REQUIRED_COLUMNS)}")
    if raw.empty:
        raise BenchmarkError(f"{source}: a header but no rows")
    index = _checked_index(raw["index"], source, space)
    arch_strs = _checked_arch_strs(raw["arch_str"], index, source, verify_order, space)
    frame = pd.DataFrame(
        {"arch_str": arch_strs, **{c: _checked_numbers(raw[c], c, source) for c in value_columns}},
        index=pd.Index(index, name="index"),
    )
    return frame.sort_index()


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def _shown(value) -> str:
    """A cell as the user typed it: quoted if text, plain if a number (not ``np.float64(...)``),
    and at most a short excerpt (a cell can hold megabytes)."""
    return fmt.clip(repr(value) if isinstance(value, str) else str(value), 80)


def _checked_index(values: pd.Series, source, space) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers % 1 != 0) | (numbers < 0) | (numbers >= space.size)
    if bad.any():
        pos = _first(bad)
        raise BenchmarkError(
            f"{source}: row {pos + 1}: index {_shown(values.iloc[pos])} is not an integer in "
            f"0..{space.size - 1}"
        )
    index = numbers.astype("int64")
    repeated = index.duplicated()
    if repeated.any():
        pos = _first(repeated)
        earlier = _first(index == index.iloc[pos])
        raise BenchmarkError(
            f"{source}: index {index.iloc[pos]} appears more than once (rows {earlier + 1} and {pos + 1})"
        )
    return index.to_numpy()


def _checked_arch_strs(values: pd.Series, index: np.ndarray, source, verify_order: bool,
                       space) -> list[str]:
    """Each arch string must parse and (``verify_order``) be the cell its row's index names."""
    out = []
    for pos, (text, idx) in enumerate(zip(values, index)):
        text = "" if pd.isna(text) else text
        try:
            found = space.index_of(space.parse(text))
        except spaces.ArchError as err:
            raise BenchmarkError(f"{source}: row {pos + 1}: bad arch_str {_shown(text)}: "
                                 f"{fmt.clip(err, 200)}") from err
        if verify_order and found != idx:
            raise BenchmarkError(
                f"{source}: row {pos + 1}: arch_str {_shown(text)} is NAS-Bench-201 index {found}, "
                f"but the row says index {idx}"
            )
        out.append(text)
    return out


def _checked_numbers(values: pd.Series, name: str, source) -> np.ndarray:
    """Empty cells become NaN (missing result); anything else must be a number."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        pos = _first(bad)
        raise BenchmarkError(
            f"{source}: row {pos + 1}: column {name} has a non-numeric value {_shown(values.iloc[pos])}"
        )
    return numbers.astype("float64").to_numpy()


# --- lookups -------------------------------------------------------------------------------


def lookup(table: pd.DataFrame, arch, space=None) -> dict:
    """One architecture's row as a plain dict (``index``, ``arch_str``, values), found by
    cell index or by arch string / choice tuple."""
    space = space or spaces.get()
    if isinstance(arch, Integral) and not isinstance(arch, bool):
        index = int(arch)
        space.arch_at(index)  # range check, as an ArchError
    else:
        index = space.index_of(arch)
    if index not in table.index:
        raise NotInTable(
            f"architecture {index} ({space.format(space.arch_at(index))}) is not in this table "
            f"({len(table)} rows)"
        )
    row = table.loc[index]
    values = {name: float(row[name]) for name in table.columns if name != "arch_str"}
    return {"index": index, "arch_str": row["arch_str"], **values}


def column(table: pd.DataFrame, name: str) -> pd.Series:
    """A column by name, with an error that lists what the table does have."""
    if name not in table.columns:
        raise NotInTable(
            f"no column {name!r} in this table; available: {', '.join(map(str, table.columns))}"
        )
    return table[name]


def numeric_column(table: pd.DataFrame, name: str, cells=None) -> pd.Series:
    """A column a search reads numbers from (a lookup, the reported accuracy), refused when it
    holds text, has no values, or lacks a value for any of ``cells``: each would otherwise
    surface late and silently (a pick by lowest index, ``nan ± nan``)."""
    values = column(table, name)
    if not pd.api.types.is_numeric_dtype(values):
        raise BenchmarkError(f"column {fmt.clip(name, 80)!r} holds text, not numbers")
    if values.isna().all():
        raise BenchmarkError(f"column {fmt.clip(name, 80)!r} has no values")
    if cells is not None:
        missing = [c for c in dict.fromkeys(cells) if c not in values.index or pd.isna(values.get(c))]
        if missing:
            raise BenchmarkError(
                f"column {fmt.clip(name, 80)!r} has no value for {len(missing):,} of the "
                f"{len(set(cells)):,} cells searched (e.g. cell {missing[0]}); search a pool the "
                "table covers")
    return values


def best(table: pd.DataFrame, name: str) -> tuple[int, float]:
    """``(index, value)`` of the highest value in a numeric column (lowest index on ties)."""
    values = column(table, name)
    if not pd.api.types.is_numeric_dtype(values):
        raise ValueError(f"column {name!r} is not numeric")
    if values.isna().all():
        raise ValueError(f"column {name!r} has no values")
    index = values.idxmax()
    return int(index), float(values[index])


def csv_header(path) -> list[str]:
    """A table's column names, read from its first line only, so forms can offer columns
    without loading every row: [] for a binary file (a .pth), an unreadable file or a first line
    that is not a table header (naming index and arch_str), so nothing else of a file is ever
    shown."""
    path = Path(path) if path else None
    if path is None or not path.is_file():
        return []
    header = _first_line(path)
    return header if _is_table_header(header) else []


def _first_line(path: Path) -> list[str] | None:
    """The first line's fields ([] if blank or unreadable; None if the file is binary)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
            line = f.readline(1 << 16)
    except OSError:
        return []
    if "\0" in line or "\ufffd" in line:
        return None
    try:
        return [c.strip() for c in next(csv.reader([line]), []) if c.strip()]
    except csv.Error:
        return []


def _is_table_header(columns: list[str] | None) -> bool:
    return bool(columns) and all(c in columns for c in REQUIRED_COLUMNS)


def require_column(path, name: str, space=None) -> None:
    """Check a CSV table has a column without loading it (a table in the space's own format is
    checked when it loads)."""
    path = Path(path)
    if path.suffix.lower() in (space or spaces.get()).native_table_suffixes:
        return
    header = csv_header(path)
    if not header:
        raise NotInTable(f"{path.name} is not a ground-truth table: its first line is not a CSV "
                         f"header naming {' and '.join(REQUIRED_COLUMNS)} columns")
    if name not in header:
        raise NotInTable(f"{path.name} has no column {name!r}; it has: {', '.join(header)}")


# What each kind of table the Data page saves must hold: a truth column of some data set.
KINDS = {"truth": ("test", "ground-truth accuracies"),
         "table12": ("short", "short-schedule accuracies"),
         "costs": ("cost", "recorded training seconds")}


def kind_problem(table: pd.DataFrame, kind: str, space) -> str | None:
    """Why ``table`` cannot serve as a ``kind`` table of ``space`` (None: it can): it must hold
    that kind's column for at least one of the space's data sets (a 12-epoch table offered as
    the costs table is refused, naming the columns it would need)."""
    field, what = KINDS[kind]
    wanted = [getattr(space.truth_columns(d), field) for d in space.datasets]
    wanted = [c for c in wanted if c]
    if not wanted or any(c in table.columns for c in wanted):
        return None
    return (f"it holds no {what}: a {kind} table of {space.label or space.name} has a column "
            f"such as {', '.join(wanted[:3])}; this one has {fmt.clip(', '.join(map(str, table.columns)), 200)}")
