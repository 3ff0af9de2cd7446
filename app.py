"""KNAS Studio: ``streamlit run app.py``. The router: one list of pages (``knas.ui.widgets.PAGES``)
served through ``st.navigation``; each page's file name is its URL, so deep links such as
``/live?job=ID`` and ``/explorer?arch=6111`` work on a fresh server."""
from knas.ui import widgets

widgets.navigation().run()
