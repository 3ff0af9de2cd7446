"""Text data sets: the real SST-2, TREC, MRPC and RTE files of the shared data, a user's CSV/TSV,
every bad input as one line naming file and line, and downloads from a server on 127.0.0.1."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import os
import shutil
import socket
import threading
import urllib.parse
import zipfile
from pathlib import Path

import numpy as np
import pytest

from knas.data import text
from knas.data.readers import DataError
from knas.data.text import TextDataError, TextSplit, detect_text, load_text
from knas.data.textdownload import download_text
from knas.errors import KnasError

REAL = {  # name: (train, test, classes, pair)
    "sst2": (6920, 1821, ("negative", "positive"), False),
    "trec": (5452, 500, ("DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"), False),
    "mrpc": (3668, 408, ("not_equivalent", "equivalent"), True),
    "rte": (2490, 277, ("entailment", "not_entailment"), True),
}


@pytest.fixture(scope="module")
def text_root(shared_data) -> Path:
    root = shared_data / "text"
    if not all((root / name).is_dir() for name in REAL):
        if os.environ.get("KNAS_REQUIRE_SHARED") == "1":
            pytest.fail(f"shared text data not found at {root} (KNAS_REQUIRE_SHARED=1)")
        pytest.skip(f"shared text data not found at {root}")
    return root


# --- the real files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(REAL))
def test_real_data_sets_read_with_their_counts_labels_and_classes(text_root, name):
    n_train, n_test, classes, pair = REAL[name]
    info = text.CATALOG[name]
    assert (info.num_classes, info.classes, info.pair) == (len(classes), classes, pair)
    for split, n in (("train", n_train), ("test", n_test)):
        ds = load_text(name, text_root / name, split)
        assert len(ds) == len(ds.texts) == n
        assert ds.labels.dtype == np.int64 and not ds.labels.flags.writeable
        assert set(np.unique(ds.labels)) == set(range(len(classes)))  # every class occurs
        assert (ds.num_classes, ds.classes, ds.name) == (len(classes), classes, name)
        assert all(t and t == t.strip() for t in ds.texts)
        assert Path(ds.source) == text_root / name / info.files[split]
        if pair:
            assert len(ds.texts_b) == n and all(ds.texts_b)
        else:
            assert ds.texts_b is None
        # the folder above works too, and gives the same content
        assert load_text(name, text_root, split).digest() == ds.digest()
    assert text.CATALOG[name].max_tokens == {"sst2": 64, "trec": 32, "mrpc": 128, "rte": 128}[name]


def test_real_labels_mean_what_the_classes_say(text_root):
    trec = load_text("trec", text_root / "trec")
    by_text = dict(zip(trec.texts, (trec.classes[i] for i in trec.labels)))
    assert by_text["What does the abbreviation AIDS stand for ?"] == "ABBR"
    assert by_text["What films featured the character Popeye Doyle ?"] == "ENTY"
    assert by_text["How did serfdom develop in and then leave Russia ?"] == "DESC"
    assert by_text["When was Ozzy Osbourne born ?"] == "NUM"
    assert by_text["What country do the Galapagos Islands belong to ?"] == "LOC"
    # the official file's one byte that is not UTF-8 (line 66) is read as Latin-1
    assert trec.texts[65] == "Which city has the oldest relationship as a sister\u00f0city with Los Angeles ?"
    test = load_text("trec", text_root, "test")
    assert dict(zip(test.texts, test.labels))["Who was Galileo ?"] == trec.classes.index("HUM")
    sst = load_text("sst2", text_root, "test")
    assert sst.texts[0] == "no movement , no yuks , not much of anything ." and sst.labels[0] == 0
    mrpc = load_text("mrpc", text_root, "train")  # BOM and lone quote characters
    assert mrpc.texts[0].startswith('Amrozi accused his brother, whom he called "the witness"')
    assert mrpc.labels[0] == 1 and mrpc.texts_b[0].startswith("Referring to him")
    rte = load_text("rte", text_root, "test")
    assert rte.texts_b[0] == "Christopher Reeve had an accident." and rte.labels[0] == 1


def test_sst2_offers_its_dev_split_and_others_refuse_it(text_root):
    assert len(load_text("sst2", text_root, "dev")) == 872
    with pytest.raises(TextDataError, match="TREC has no split 'dev'; choose one of train, test"):
        load_text("trec", text_root, "dev")
    with pytest.raises(TextDataError, match="unknown text data set 'imdb'"):
        load_text("imdb", text_root)


def test_rte_in_glues_own_layout_with_word_labels_reads_the_same(text_root, tmp_path):
    """GLUE's RTE.zip writes index, sentence1, sentence2, label with labels as words."""
    folder = tmp_path / "rte"
    folder.mkdir()
    for name in ("train.tsv", "dev.tsv"):
        lines = (text_root / "rte" / name).read_text(encoding="utf-8").splitlines()
        rows = ["index\tsentence1\tsentence2\tlabel"]
        for line in lines[1:]:
            a, b, label, idx = line.split("\t")
            rows.append(f"{idx}\t{a}\t{b}\t{('entailment', 'not_entailment')[int(label)]}")
        (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    for split in ("train", "test"):
        assert load_text("rte", folder, split).digest() == load_text("rte", text_root, split).digest()
    assert detect_text(folder) == "rte"


def test_detect_text_by_names_and_header(text_root, tmp_path):
    for name in REAL:
        assert detect_text(text_root / name) == name
    assert detect_text(text_root) == "sst2"  # several: the first in NAMES order
    assert text.text_kinds(text_root) == ("sst2", "trec", "mrpc", "rte")
    assert text.text_kinds(text_root / "rte") == ("rte",)
    assert detect_text(text_root / "mrpc" / "train.tsv") == "mrpc"
    assert detect_text(text_root / "rte" / "dev.tsv") == "rte"
    assert detect_text(text_root / "trec" / "TREC.test.all") == "trec"
    assert detect_text(tmp_path) is None and detect_text(tmp_path / "nope") is None
    (tmp_path / "train.csv").write_text("text,label\na,0\n")
    assert detect_text(tmp_path / "train.csv") == "text"
    assert detect_text(tmp_path) is None  # no test file yet
    (tmp_path / "test.csv").write_text("text,label\nb,1\n")
    assert detect_text(tmp_path) == "text" and text.text_kinds(tmp_path) == ("text",)
    assert detect_text(tmp_path / "notes.txt") is None


def test_digest_keys_the_content_not_the_path(text_root, tmp_path):
    shutil.copytree(text_root / "sst2", tmp_path / "sst2")
    a, b = load_text("sst2", text_root), load_text("sst2", tmp_path)
    assert a.digest() == b.digest() and len(a.digest()) == 16
    labels = a.labels.copy()
    labels[0] = 1 - labels[0]
    assert dataclasses.replace(a, labels=labels).digest() != a.digest()
    assert dataclasses.replace(a, texts_b=a.texts).digest() != a.digest()
    with pytest.raises(ValueError):
        TextSplit("x", ("a", "b"), None, np.array([0]), 2, ("n", "p"), "f")


# --- a user's own file ------------------------------------------------------------------------


def test_user_csv_with_string_labels_and_pairs(tmp_path):
    (tmp_path / "train.csv").write_text(
        '\ufeffText,text_b,Label,extra\n'
        '"Hello, world","said ""hi""",pos,1\n'
        'plain,"two\nlines",neg,2\n'
        'third,x,neutral,3\n', encoding="utf-8")
    (tmp_path / "test.csv").write_text("text,text_b,label\nq,r,neg\ns,t,pos\n")
    train = load_text("text", tmp_path, "train")
    assert train.classes == ("neg", "neutral", "pos") and train.num_classes == 3
    assert train.texts == ("Hello, world", "plain", "third")
    assert train.texts_b == ('said "hi"', "two\nlines", "x")
    assert train.labels.tolist() == [2, 0, 1] and train.name == tmp_path.name
    test = load_text("text", tmp_path, "test")
    assert test.labels.tolist() == [0, 2] and test.classes == train.classes
    assert test.source == str(tmp_path / "test.csv")


def test_user_tsv_with_integer_labels_reads_quotes_as_text(tmp_path):
    file = tmp_path / "mine.tsv"
    file.write_text('text\tlabel\r\nhe said "no\t3\r\nfine\t0\r\n\r\n')
    ds = load_text("text", file)
    assert ds.texts == ('he said "no', "fine") and ds.texts_b is None
    assert ds.labels.tolist() == [3, 0] and ds.num_classes == 4
    assert ds.classes == ("0", "1", "2", "3") and ds.name == "mine"
    assert load_text("text", file, "test").digest() == ds.digest()  # one file serves both
    file.write_text("text\tlabel\tnote\nhi\t1\t\nthere\t0\t\n\n")  # an empty last field
    assert load_text("text", file).texts == ("hi", "there")


def test_user_test_split_must_use_the_training_labels(tmp_path):
    (tmp_path / "train.tsv").write_text("text\tlabel\na\t0\nb\t1\n")
    (tmp_path / "test.tsv").write_text("text\tlabel\nc\t1\nd\t2\n")
    with pytest.raises(TextDataError) as err:
        load_text("text", tmp_path, "test")
    assert str(err.value) == (f"{tmp_path / 'test.tsv'}, line 3: label '2' is not one of the "
                              f"training labels (0..1)")
    (tmp_path / "train.tsv").write_text("text\tlabel\na\tcat\nb\tdog\n")
    (tmp_path / "test.tsv").write_text("text\tlabel\nc\tdog\nd\tcow\n")
    with pytest.raises(TextDataError, match=r"test.tsv, line 3: label 'cow' is not one of the "
                                            r"training labels \(cat, dog\)"):
        load_text("text", tmp_path, "test")


# --- every bad input: one line naming the file and the line -----------------------------------


def _write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


MRPC_HEAD = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
BAD = [  # (name, file in the folder, content, expected text after "<file>")
    ("sst2", "stsa.binary.train", "1 good\n7 bad label\n", ", line 2: label '7' is not one of SST-2's labels (0, 1)"),
    ("sst2", "stsa.binary.train", "x not a number\n", ", line 1: label 'x' is not one of"),
    ("sst2", "stsa.binary.train", "1 a\n0 b\n1\n", ", line 3: only '1'; expected 'label sentence'"),
    ("sst2", "stsa.binary.train", "1 a\n\n0 b\n", ", line 2: an empty line"),
    ("sst2", "stsa.binary.train", b"1 a\n0 b\n1 caf\xe9 bad\n", ", line 3: byte 6 of the line (0xe9) is not UTF-8"),
    ("sst2", "stsa.binary.train", "", " is empty"),
    ("sst2", "stsa.binary.train", "\ufeff\n  \n", " is empty"),
    ("trec", "TREC.train.all", "0 a\n6 b\n", ", line 2: label '6' is not one of TREC's labels (0, 1, 2, 3, 4, 5)"),
    ("mrpc", "train.tsv", MRPC_HEAD + "1\t1\t2\ta\tb\n0\t3\t4\tc\n", ", line 3: 4 fields, the header has 5"),
    ("mrpc", "train.tsv", MRPC_HEAD + "1\t1\t2\ta\tb\n1\t3\t4\ta\tb\textra\n", ", line 3: 6 fields"),
    ("mrpc", "train.tsv", MRPC_HEAD + "1\t1\t2\t \tb\n", ", line 2: an empty text"),
    ("mrpc", "train.tsv", MRPC_HEAD + "2\t1\t2\ta\tb\n", ", line 2: label '2' is not one of MRPC's labels"),
    ("mrpc", "train.tsv", MRPC_HEAD + "\t1\t2\ta\tb\n", ", line 2: label '' is not one of MRPC's labels"),
    ("mrpc", "train.tsv", "Quality\t#1 String\n1\ta\n", ", line 1: the header (Quality, #1 String) lacks #2 String"),
    ("rte", "train.tsv", "sentence1\tsentence2\tlabel\tidx\na\tb\tmaybe\t0\n", ", line 2: label 'maybe'"),
    ("text", "train.csv", "text,label\na,0\nb,\n", ", line 3: no label"),
    ("text", "train.csv", "text,label\na,0\n,1\n", ", line 3: an empty text"),
    ("text", "train.csv", "text,label\na,0\nb,1,2\n", ", line 3: 3 fields, the header has 2"),
    ("text", "train.csv", "label,sentence\n0,a\n", ", line 1: the header (label, sentence) lacks text"),
    ("text", "train.csv", "text,label\n", ": a header and no examples"),
    ("text", "train.csv", "text,label\na,0\nb,123456\n", ", line 3: label 123456; integer labels must run 0..K-1"),
    ("text", "train.tsv", b"text\tlabel\na\t0\n\xff\xfe\t1\n", ", line 3: byte 1 of the line (0xff) is not UTF-8"),
]


@pytest.mark.parametrize("name, filename, content, expected", BAD,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_file_is_one_line_naming_file_and_line(tmp_path, name, filename, content, expected):
    file = _write(tmp_path / name / filename, content)
    with pytest.raises(TextDataError) as err:
        load_text(name, file if name == "text" else tmp_path / name, "train")
    message = str(err.value)
    assert message.startswith(f"{file}{expected}"), message
    assert "\n" not in message and isinstance(err.value, DataError)
    assert isinstance(err.value, KnasError)


def test_missing_files_say_which_files_are_expected_where(tmp_path):
    _write(tmp_path / "sst2" / "stsa.binary.train", "1 a\n")
    with pytest.raises(TextDataError) as err:
        load_text("sst2", tmp_path, "test")
    assert str(err.value) == (
        f"missing file {tmp_path / 'sst2' / 'stsa.binary.test'}; expected a folder sst2/ holding "
        f"stsa.binary.train, stsa.binary.test (SST-2; download_text fetches them)")
    with pytest.raises(TextDataError, match="missing file .*test.csv \\(or .tsv\\); expected a .csv"):
        _write(tmp_path / "mine" / "train.csv", "text,label\na,0\n")
        load_text("text", tmp_path / "mine", "test")
    with pytest.raises(TextDataError, match="nope: not found; expected a .csv or .tsv file"):
        load_text("text", tmp_path / "nope")


def test_a_huge_line_is_quoted_short_and_a_huge_file_is_refused_unread(tmp_path, monkeypatch):
    file = _write(tmp_path / "sst2" / "stsa.binary.train", "1 fine\n" + "9" * 1_000_000 + " x\n")
    with pytest.raises(TextDataError) as err:
        load_text("sst2", tmp_path)
    assert len(str(err.value)) < 400 and "line 2" in str(err.value) and "cut" in str(err.value)
    monkeypatch.setattr(text, "MAX_BYTES", 1000)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a refused file"))
    with pytest.raises(TextDataError, match=r"stsa.binary.train is 1,000,010 bytes; text files "
                                            r"over 1,000 bytes are refused"):
        load_text("sst2", file)


def test_bom_and_crlf_are_read_as_plain_lines(tmp_path):
    _write(tmp_path / "sst2" / "stsa.binary.train", "\ufeff1 a b\r\n0 c\r\n")
    ds = load_text("sst2", tmp_path / "sst2" / "stsa.binary.train")  # a file of the set works too
    assert ds.texts == ("a b", "c") and ds.labels.tolist() == [1, 0]


# --- downloads, from a server on 127.0.0.1 -----------------------------------------------------


@pytest.fixture
def site(text_root, tmp_path, monkeypatch):
    """A local server mirroring the official URL paths with the shared files; RTE.zip is built
    from the shared RTE files (its pinned checksum replaced by theirs). Yields (base_url, hits)."""
    folder = tmp_path / "site"
    for name in ("sst2", "trec", "mrpc"):
        for remote in text.CATALOG[name].sources:
            dest = folder / urllib.parse.urlsplit(remote.url).path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(text_root / name / remote.url.rsplit("/", 1)[-1], dest)
    (remote,) = text.CATALOG["rte"].sources
    archive = folder / urllib.parse.urlsplit(remote.url).path.lstrip("/")
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zf:
        for member in (*remote.members, "RTE/test.tsv"):
            zf.write(text_root / "rte" / ("dev.tsv" if "test" in member else Path(member).name), member)
    data = archive.read_bytes()
    rte = dataclasses.replace(text.CATALOG["rte"], sources=(dataclasses.replace(
        remote, sha256=hashlib.sha256(data).hexdigest(), size=len(data)),))
    monkeypatch.setitem(text.CATALOG, "rte", rte)
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            hits.append(self.path)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Handler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", hits, folder
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("name", list(REAL))
def test_download_fetches_the_official_files_and_they_read_back(site, text_root, tmp_path, name):
    base_url, hits, _ = site
    seen = []
    folder = download_text(name, tmp_path / "data", progress=lambda d, t: seen.append((d, t)),
                           base_url=base_url)
    assert folder == tmp_path / "data" / name
    info = text.CATALOG[name]
    assert sorted(p.name for p in folder.iterdir()) == sorted(info.files.values())
    for file in info.files.values():
        assert (folder / file).read_bytes() == (text_root / name / file).read_bytes()
    assert seen[-1][0] == seen[-1][1] == sum(r.size for r in info.sources)
    assert [p.name for p in (tmp_path / "data").iterdir()] == [name]  # no temporary left
    assert len(load_text(name, tmp_path / "data", "test")) == REAL[name][1]
    assert detect_text(folder) == name
    # complete: nothing is fetched again
    hits.clear()
    assert download_text(name, tmp_path / "data", base_url=base_url) == folder and hits == []


def test_download_fetches_only_the_missing_files(site, text_root, tmp_path):
    base_url, hits, _ = site
    for file in ("stsa.binary.train", "stsa.binary.test"):
        _write(tmp_path / "sst2" / file, "1 mine\n")
    download_text("sst2", tmp_path, base_url=base_url)
    assert [h.rsplit("/", 1)[-1] for h in hits] == ["stsa.binary.dev"]
    assert (tmp_path / "sst2" / "stsa.binary.train").read_text() == "1 mine\n"  # kept
    assert len(load_text("sst2", tmp_path, "dev")) == 872


def test_download_with_the_server_down_is_one_clear_line_and_leaves_nothing(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TextDataError) as err:
        download_text("mrpc", tmp_path / "data", base_url=f"http://127.0.0.1:{port}", timeout=5)
    message = str(err.value)
    assert message.startswith(f"could not download http://127.0.0.1:{port}/Nstats/my_bert/")
    assert "no internet?" in message and "\n" not in message
    assert f"put train.tsv, dev.tsv in {tmp_path / 'data' / 'mrpc'}" in message
    assert "https://raw.githubusercontent.com/Nstats/my_bert/" in message
    assert list((tmp_path / "data").iterdir()) == []


def test_download_refuses_a_changed_file_and_a_missing_one(site, tmp_path):
    base_url, _, folder = site
    (remote, *_) = text.CATALOG["trec"].sources
    served = folder / urllib.parse.urlsplit(remote.url).path.lstrip("/")
    original = served.read_bytes()
    served.write_bytes(original.replace(b"Russia", b"RUSSIA"))
    with pytest.raises(TextDataError, match=r"TREC.train.all is not the official file \(292,402 "
                                            r"bytes with sha256 [0-9a-f]{16}…; expected 292,402 "
                                            r"bytes with sha256 c8183fd8c2a5cc4a…\)"):
        download_text("trec", tmp_path / "data", base_url=base_url)
    served.write_bytes(original + b"0 one more line ?\n")
    with pytest.raises(TextDataError, match=r"\(more than 292,402 bytes; expected"):
        download_text("trec", tmp_path / "data", base_url=base_url)
    assert list((tmp_path / "data").iterdir()) == []
    served.unlink()
    with pytest.raises(TextDataError) as err:
        download_text("trec", tmp_path / "data", base_url=base_url)
    assert "HTTP Error 404" in str(err.value) and "no internet" not in str(err.value)
    assert list((tmp_path / "data").iterdir()) == []


def test_the_catalogue_pins_public_urls():
    for info in text.CATALOG.values():
        assert info.sources and all(r.url.startswith("https://") and len(r.sha256) == 64
                                    for r in info.sources)
    assert text.NAMES == ("sst2", "trec", "mrpc", "rte")
