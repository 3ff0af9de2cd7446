"""KNAS Studio: ``streamlit run app.py``. Navigation and the shared sidebar; pages live in pages/."""
import streamlit as st

from pages import common

st.set_page_config(page_title="KNAS Studio", page_icon="🔎", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/new_search.py", title="New search", icon="🚀"),
    st.Page("pages/live.py", title="Live run", icon="📈"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("pages/explorer.py", title="Explorer", icon="🧬"),
    st.Page("pages/data.py", title="Data", icon="🗂️"),
]

page = st.navigation(PAGES)
common.sidebar()
page.run()
