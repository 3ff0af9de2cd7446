"""Streamlit glue shared by the pages: page setup and navigation, cached loaders, small widgets.

The only knas module that imports streamlit; like the pages, it never imports torch."""
from __future__ import annotations

import streamlit as st

from knas import benchmark, fmt, jobs, machine, paths, plots, settings, space, stores
from knas.errors import KnasError


@st.cache_resource(show_spinner="Checking this machine's GPU…")
def device_info() -> dict:
    return machine.device_info()


@st.cache_data(show_spinner="Loading ground truth…")
def truth_table(path: str, mtime: float):
    """The table, cached per path and modification time (15,625 rows load once)."""
    return benchmark.load_table(path)


def load_truth(path: str):
    """The table at ``path``, or None with a message saying what is wrong."""
    from pathlib import Path

    if not path:
        return None
    try:
        return truth_table(path, Path(path).stat().st_mtime)
    except (OSError, benchmark.BenchmarkError) as err:
        st.warning(f"Ground-truth table not usable: {fmt.md_escape(err)}")
        return None


def job_store() -> jobs.JobStore:
    """The job store; a page that cannot open it says why and stops (a damaged file is moved
    aside and replaced when it is opened, so this happens only when no store can be made)."""
    try:
        return jobs.JobStore()
    except stores.StoreError as err:
        st.error(fmt.md_escape(f"The job store cannot be used: {err}"), icon="🛑")
        st.stop()


def app_settings() -> settings.AppSettings:
    return settings.load()


def show_arch(arch, title: str | None = None) -> None:
    """An architecture as its string (in st.code: markdown mangles `~`) and its cell diagram."""
    arch = space.validate(arch)
    st.code(space.to_str(arch), language=None)
    st.graphviz_chart(plots.cell_dot(arch, title=title))


PAGES = [("app.py", "Home", "🏠"), ("pages/new_search.py", "New search", "🚀"),
         ("pages/live.py", "Live run", "📈"), ("pages/compare.py", "Compare", "⚖️"),
         ("pages/explorer.py", "Explorer", "🧬"), ("pages/data.py", "Data", "🗂️")]


def page_setup(title: str) -> None:
    """Every page starts here: browser title, wide layout, the shared sidebar."""
    st.set_page_config(page_title=f"{title} · KNAS Studio", page_icon="🔎", layout="wide")
    sidebar()
    for notice in stores.notices() + settings.load().problems:
        st.warning(fmt.md_escape(notice), icon="⚠️")


def sidebar() -> None:
    info = device_info()
    with st.sidebar:
        st.markdown("### KNAS Studio")
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
        device = info.get("device", "cpu")
        st.caption(f"Device: **{fmt.md_escape(device.upper())}** — {fmt.md_escape(info.get('name', ''))}")
        if info.get("error"):
            st.caption(f"⚠️ {fmt.md_escape(info['error'])}")
        st.caption(f"Cache: {machine.human_bytes(machine.folder_size(paths.root()))}")
        try:
            store = jobs.JobStore()
            active = [(job_id, store.state(job_id)) for job_id in store.active_ids()[:5]]
        except KnasError as err:
            st.caption(f"⚠️ {fmt.md_escape(err)}")
            return
        if active:
            st.caption("Running jobs:")
            for job_id, state in active:
                p = state.get("progress") or {}
                label = f"{job_id[:8]} · {p.get('done', 0)}/{p.get('total', '?')}"
                st.page_link("pages/live.py", label=label, query_params={"job": job_id})
