#!/usr/bin/env bash
# Set up .venv (first time) and start the dashboard on http://127.0.0.1:8501
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r requirements.txt
exec .venv/bin/python -m streamlit run app.py "$@"
