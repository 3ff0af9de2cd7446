"""Streamlit glue shared by the pages: page setup and navigation, cached loaders, small widgets.

The only knas module that imports streamlit; like the pages, it never imports torch."""
from __future__ import annotations

import streamlit as st

from knas import (benchmark, cellsvg, columns, fmt, jobs, machine, paths, runview, settings, space,
                  stores)
from knas.errors import KnasError


def device_info() -> dict:
    """This boot's device, or ``machine.PENDING`` while the background probe runs (no page waits)."""
    return machine.device_info_now()


@st.cache_data(ttl=30, show_spinner=False)
def folder_size(path: str) -> int:
    """A folder's size, counted at most every 30 s (a large score cache takes a while to walk)."""
    return machine.folder_size(path)


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


@st.cache_resource(max_entries=64, show_spinner=False)
def event_feed(directory: str, job_id: str) -> runview.EventFeed:
    """The one event reader of a job that every session of this server shares."""
    return runview.EventFeed()


def app_settings() -> settings.AppSettings:
    return settings.load()


def show_arch(arch, title: str | None = None) -> None:
    """An architecture as its string (in st.code: markdown mangles `~`) and its cell diagram."""
    arch = space.validate(arch)
    st.code(space.to_str(arch), language=None)
    cell(arch, title)


def cell(arch, title: str | None = None) -> None:
    """The cell diagram: our own SVG (``knas.cellsvg``, every text in it escaped), the same size
    everywhere. Through markdown's raw HTML, since ``st.html``'s sanitiser drops inline SVG."""
    st.markdown(f"<div class='knas-cell-box'>{cellsvg.cell_svg(arch, title)}</div>",
                unsafe_allow_html=True)


def cell_legend() -> None:
    st.markdown(cellsvg.legend_svg(), unsafe_allow_html=True)


def table(frame, **kwargs):
    """``st.dataframe`` with people's column labels and formats (``knas.columns``), repeats
    counted from 1 and no index; keyword arguments go to ``st.dataframe``."""
    config = {}
    for name in frame.columns:
        spec = columns.spec(name)
        if spec.kind == "flag":
            config[name] = st.column_config.CheckboxColumn(spec.label, help=spec.help or None)
        elif spec.kind == "text" or not spec.format:
            config[name] = st.column_config.TextColumn(spec.label, help=spec.help or None)
        else:
            config[name] = st.column_config.NumberColumn(spec.label, format=spec.format,
                                                         help=spec.help or None)
    config.update(kwargs.pop("column_config", {}))
    return st.dataframe(columns.for_people(frame), hide_index=True, column_config=config, **kwargs)


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
    with st.sidebar:
        st.markdown("### KNAS Studio")
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
        _device_caption()
        st.caption(f"Cache: {machine.human_bytes(folder_size(str(paths.root())))}")
        try:
            store = jobs.JobStore()
            active = [(job_id, store.state(job_id)) for job_id in store.active_ids()[:5]]
        except KnasError as err:
            st.caption(f"⚠️ {fmt.md_escape(err)}")
            return
        if active:
            st.caption("Running jobs:")
            for job_id, state in active:
                label = f"{job_id[:8]} · {runview.short_progress(state)}"
                st.page_link("pages/live.py", label=label, query_params={"job": job_id})


def _device_caption() -> None:
    info = device_info()
    if info.get("pending"):
        _device_pending()
        return
    st.caption(f"Device: **{fmt.md_escape(info.get('device', 'cpu').upper())}** — "
               f"{fmt.md_escape(info.get('name', ''))}")
    if info.get("error"):
        st.caption(f"⚠️ {fmt.md_escape(info['error'])}")


@st.fragment(run_every=1.0)
def _device_pending() -> None:
    """Polls while the background device probe runs; its answer redraws the page once."""
    if device_info().get("pending"):
        st.caption("Device: checking…")
    else:
        st.rerun()
