"""KNAS Studio: the dashboard entry point (``streamlit run app.py``). Pages come in pages/."""
import streamlit as st

from knas import space

st.set_page_config(page_title="KNAS Studio", layout="wide")
st.title("KNAS Studio")
st.write(
    "Training-free neural architecture search on the NAS-Bench-201 cell space "
    f"({space.N_ARCHS:,} cells, {space.count_unique():,} distinct functions)."
)
