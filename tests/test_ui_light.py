"""The UI process stays light: no page, and no knas module a page uses, imports torch."""
import subprocess
import sys

from tests.conftest import REPO

PAGES = ["pages/home.py", "pages/new_search.py", "pages/live.py", "pages/compare.py",
         "pages/explorer.py", "pages/data.py"]

_SCRIPT = r"""
import sys
from streamlit.testing.v1 import AppTest
import knas.ui.machine
knas.ui.machine.device_info = lambda timeout=60.0: {"device": "cpu", "name": "test CPU"}
at = AppTest.from_file("app.py", default_timeout=120).run()
for page in sys.argv[1:]:
    at.switch_page(page).run()
    assert not at.exception, (page, [e.value for e in at.exception])
import knas.ui.forms, knas.jobs, knas.results.runview, knas.results.plots, knas.search.config, knas.ui.settings, knas.results.report
import knas.results.scorefile, knas.ui.explore, knas.spaces.nb201.module_source, knas.scoring.cache, knas.data.benchmark
print(sorted(m for m in ("torch", "ray") if m in sys.modules))
"""


def test_pages_do_not_import_torch(with_data):
    out = subprocess.run([sys.executable, "-c", _SCRIPT, *PAGES], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
