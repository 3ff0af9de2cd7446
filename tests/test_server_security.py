"""The localhost promise against a browser: the real server started the way scripts/run.sh starts
it, real WebSocket handshakes over a socket (DNS rebinding, foreign origins), and a hostile deep
link in the system Chromium."""
import base64
import os
import socket
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from knas import jobs
from tests.appserver import running_app
from tests.conftest import REPO, finished_job

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory, shared_data, truth):
    """`streamlit run app.py` from the repository (its .streamlit/config.toml applies), with one
    finished job in its store so the Live page draws past its "no job yet" stop."""
    root = tmp_path_factory.mktemp("server")
    env = {**os.environ, "KNAS_CACHE_DIR": str(root / "cache"), "KNAS_DATA_DIR": str(root / "data")}
    saved = os.environ.get("KNAS_CACHE_DIR")
    os.environ["KNAS_CACHE_DIR"] = env["KNAS_CACHE_DIR"]
    try:
        finished_job(jobs.JobStore(), shared_data, truth)
    finally:
        os.environ.pop("KNAS_CACHE_DIR") if saved is None else os.environ.update(KNAS_CACHE_DIR=saved)
    with running_app(root / "server.log", env) as app:
        yield app.port


def _handshake(port: int, host: str, origin: str | None) -> str:
    """The status line the server answers a WebSocket upgrade of its app stream with."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /_stcore/stream HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Protocol: streamlit"]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while b"\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.split(b"\r\n", 1)[0].decode(errors="replace")


def test_the_app_stream_opens_only_for_localhost_names(server):
    port = server
    for name in ("127.0.0.1", "localhost"):
        assert " 101 " in _handshake(port, f"{name}:{port}", f"http://{name}:{port}"), name
    # DNS rebinding: evil.example re-pointed at 127.0.0.1 is same-origin to the browser
    refused = _handshake(port, f"evil.example:{port}", f"http://evil.example:{port}")
    assert " 101 " not in refused and refused.startswith("HTTP/1.1 4"), refused
    # another site's page connecting to the local name (cross-site WebSocket hijacking)
    foreign = _handshake(port, f"127.0.0.1:{port}", "http://evil.example")
    assert " 101 " not in foreign and foreign.startswith("HTTP/1.1 4"), foreign


def test_xsrf_and_cors_protection_stay_on(server):
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert config["enableXsrfProtection"] is True and config["enableCORS"] is True
    assert set(config["allowedHosts"]) == {"localhost", "127.0.0.1", "::1"}
    upload = urllib.request.Request(f"http://127.0.0.1:{server}/_stcore/upload_file/s/f",
                                    data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:  # no XSRF token: refused
        urllib.request.urlopen(upload, timeout=20)
    assert refused.value.code == 403 and b"XSRF" in refused.value.read()
    run_sh = (REPO / "scripts" / "run.sh").read_text()
    assert "streamlit run app.py" in run_sh and "cd \"$(dirname \"$0\")/..\"" in run_sh


HOSTILE = ["[text](http://x.invalid/link)", "![pic](http://x.invalid/pic.png)",
           "see http://x.invalid/bare and www.x.invalid", "<img src=http://x.invalid/html.png>"]


def test_a_hostile_deep_link_renders_as_text(server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found; apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page()
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        for text in HOSTILE:
            page.goto(f"http://127.0.0.1:{server}/live?job={urllib.parse.quote(text)}")
            warning = page.get_by_text("There is no job").first
            warning.wait_for(timeout=60_000)
            alert = warning.locator("xpath=ancestor::*[@data-testid='stAlert'][1]")
            assert alert.locator("a, img").count() == 0, alert.inner_html()
            shown = alert.inner_text()
            assert "x.invalid" in shown, shown  # the text is shown, as text
        browser.close()
    assert not [url for url in requested if "x.invalid" in (urllib.parse.urlsplit(url).hostname or "")]
