"""Downloads of the official archives, from a local HTTP server on 127.0.0.1 serving files made
from the real shared CIFAR-10 subset."""
from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import tarfile
import threading

import numpy as np
import pytest

from knas.data import download, readers
from knas.data.readers import DataError
from tests.official_files import write_cifar10


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(cifar10_arrays, tmp_path):
    """Serves a small official-layout cifar-10-python.tar.gz on 127.0.0.1; yields (url, md5)."""
    site = tmp_path / "site"
    x, y = cifar10_arrays["x_test"][:100], cifar10_arrays["y_test"][:100]
    write_cifar10(tmp_path / "src" / "cifar-10-batches-py", x, y, x[:20], y[:20])
    site.mkdir()
    with tarfile.open(site / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    md5 = hashlib.md5((site / "cifar-10-python.tar.gz").read_bytes()).hexdigest()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/cifar-10-python.tar.gz", md5
    httpd.shutdown()
    httpd.server_close()


def _with_md5(monkeypatch, md5: str) -> None:
    monkeypatch.setitem(download.SOURCES, "cifar10", download.SOURCES["cifar10"]._replace(md5=md5))


def test_download_checks_and_extracts(server, monkeypatch, tmp_path, cifar10_arrays):
    url, md5 = server
    _with_md5(monkeypatch, md5)
    seen = []
    folder = download.download("cifar10", tmp_path / "data", url=url,
                           progress=lambda done, total: seen.append((done, total)))
    assert folder == tmp_path / "data" / "cifar-10-batches-py"
    assert seen and seen[-1][0] == seen[-1][1] > 0
    ds = readers.load("cifar10", tmp_path / "data")
    np.testing.assert_array_equal(ds.images, cifar10_arrays["x_test"][:100])
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cifar-10-batches-py"]
    kept = download.download("cifar10", tmp_path / "data", url="http://127.0.0.1:1/unused")
    assert kept == folder  # complete already: nothing fetched


def test_download_bad_checksum_leaves_nothing(server, tmp_path):
    url, _ = server
    with pytest.raises(DataError, match=r"md5 .*expected c58f30108f718f92721af3b95e74349a"):
        download.download("cifar10", tmp_path / "data", url=url)
    assert list((tmp_path / "data").iterdir()) == []


def test_download_unreachable_says_where_to_put_files(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(DataError) as err:
        download.download("cifar100", tmp_path / "data", url=f"http://127.0.0.1:{port}/x", timeout=5)
    message = str(err.value)
    assert "could not download" in message and str(tmp_path / "data") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz" in message
    assert "cifar-100-python/ holding train, test, meta" in message


def test_download_only_for_cifar(tmp_path):
    with pytest.raises(ValueError, match="no official download"):
        download.download("imagenet16-120", tmp_path)
