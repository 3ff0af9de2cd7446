"""What leaves the dashboard: scores CSVs, a stand-alone PyTorch module for a cell, an HTML run
report, and the small torch-free helpers the Compare, Explorer and Data pages build on.

Torch-free: the PyTorch module is generated as text from a template (and checked by the tests
against ``knas.nets``), a ``.pth`` table is converted in a child process, and nothing here
imports ``knas.nets``, ``knas.scoring`` or ``knas.train``.
"""
from __future__ import annotations

import html
import io
import math
import subprocess
import sys
import time
from pathlib import Path
from string import Template

import pandas as pd

from . import costs, plots, runview, space
from .cache import REPO
from .errors import KnasError

CONFIRM_WORD = "CLEAR"  # typed by the user before the score cache is emptied
SCORE_META_COLUMNS = ("index", "arch_str", "method", "repeat")


class ExportError(KnasError):
    """Input that cannot be read or an action that must not run; the message says why."""


def md_escape(text) -> str:
    """Text for Streamlit's markdown (st.error, st.warning, st.markdown) shown as typed: arch
    strings hold ``~`` and ``|``, which markdown would turn into strikethrough or tables."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))


_MD_SPECIAL = set("\\`*_~[]<>|#$")


# --- scores CSV -----------------------------------------------------------------------------


def scores_csv(frame: pd.DataFrame) -> str:
    """A scores table as CSV text in ``python -m knas score``'s layout: ``index``, ``arch_str``,
    then one column per proxy (other columns kept after them). Floats are written exactly, so
    ``read_scores_csv`` gives back the same numbers; ``inf``/``-inf`` survive the round trip."""
    first = [c for c in ("index", "arch_str") if c in frame.columns]
    ordered = frame[first + [c for c in frame.columns if c not in first]]
    return ordered.to_csv(index=False, float_format=None, lineterminator="\n")


def read_scores_csv(data) -> pd.DataFrame:
    """A scores CSV (text, bytes or file-like) checked and ready to correlate.

    It needs an ``index`` column of benchmark indices (0..15624, each once) and at least one
    numeric proxy column; an ``arch_str`` column, if present, must name each row's cell. The
    ``arch_str`` column is (re)written from the index, so the frame is always complete."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if isinstance(data, str):
        data = io.StringIO(data)
    try:
        frame = pd.read_csv(data)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ExportError(f"not a CSV file ({err})") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    if "index" not in frame.columns:
        raise ExportError(f"no 'index' column; found {', '.join(frame.columns) or 'none'} "
                          "(expected the output of `python -m knas score`)")
    if frame.empty:
        raise ExportError("a header but no rows")
    index = pd.to_numeric(frame["index"], errors="coerce")
    bad = index.isna() | (index % 1 != 0) | (index < 0) | (index >= space.N_ARCHS)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ExportError(f"row {row + 1}: index {frame['index'].iloc[row]!r} is not an integer "
                          f"in 0..{space.N_ARCHS - 1}")
    index = index.astype("int64")
    if index.duplicated().any():
        raise ExportError(f"index {int(index[index.duplicated()].iloc[0])} appears more than once")
    arch_strs = [space.to_str(space.arch_at(int(i))) for i in index]
    if "arch_str" in frame.columns:
        for row, (given, expected) in enumerate(zip(frame["arch_str"], arch_strs)):
            if isinstance(given, str) and given.strip() and given.strip() != expected:
                raise ExportError(f"row {row + 1}: arch_str {given!r} is not the cell at index "
                                  f"{int(index.iloc[row])} ({expected})")
    proxies = proxy_columns(frame)
    if not proxies:
        raise ExportError("no numeric proxy columns besides index and arch_str")
    out = frame.assign(index=index)
    out = out.drop(columns=[c for c in ("arch_str",) if c in out.columns])
    out.insert(1, "arch_str", arch_strs)
    return out.reset_index(drop=True)


def proxy_columns(frame: pd.DataFrame) -> list[str]:
    """The score columns of a scores frame: numeric columns other than index/arch/method/repeat."""
    return [c for c in frame.columns if c not in SCORE_META_COLUMNS
            and pd.api.types.is_numeric_dtype(frame[c])]


def job_scores(events, repeat: int = 0) -> pd.DataFrame:
    """Every proxy value a job computed for one repeat's pool, one row per cell, in the scores-CSV
    layout. All methods of a repeat score the same pool, so their columns line up; a value
    seen by several methods (an ensemble member that is also a baseline) is the same number."""
    frame = runview.scores_frame(events, repeat=repeat)
    if frame.empty:
        return pd.DataFrame(columns=["index", "arch_str"])
    values = frame.drop(columns=["method", "repeat"]).groupby("index", sort=False).first()
    values = values.reset_index()
    columns = ["index", "arch_str"] + [c for c in values.columns if c not in ("index", "arch_str")]
    return values[columns]


def truth_for(frame: pd.DataFrame, table: pd.DataFrame, column: str) -> pd.Series:
    """The ``column`` of a truth table for each row of a scores frame, in the frame's order
    (NaN where the table lacks the cell)."""
    if column not in table.columns:
        raise ExportError(f"no column {column!r} in the table; it has {', '.join(table.columns)}")
    return pd.Series(table[column].reindex(frame["index"].astype(int)).to_numpy(), index=frame.index,
                     name=column)


# --- comparing runs -------------------------------------------------------------------------


def job_label(job_id: str, config) -> str:
    """A short human label for a job: id prefix, dataset, methods, pool, k, repeats."""
    methods = " vs ".join(config.methods)
    repeats = f" · {config.repeats} repeats" if config.repeats > 1 else ""
    return f"{job_id[:8]} · {config.dataset} · {methods} · {config.pool} · k={config.k}{repeats}"


def paper_table(runs: dict) -> pd.DataFrame:
    """The KNAS paper's table form for several runs: ``runs`` maps a run label to its
    ``runview.summary(events)``. One row per (run, method): mean ± std test accuracy and the
    mean cost (seconds and networks) per search."""
    rows = []
    for label, summary in runs.items():
        for row in summary:
            mean, std = row.get("test_accuracy_mean", math.nan), row.get("test_accuracy_std", math.nan)
            rows.append({
                "run": label,
                "method": row["method"],
                "runs": int(row["runs"]),
                "test accuracy": _pm(mean, std),
                "test_accuracy_mean": _float(mean),
                "test_accuracy_std": _float(std),
                "coarse_s": _float(row.get("coarse_seconds_mean")),
                "fine_s": _float(row.get("fine_seconds_mean")),
                "total_s": _float(row.get("coarse_seconds_mean")) + _float(row.get("fine_seconds_mean")),
                "networks_scored": _float(row.get("networks_scored_mean")),
                "networks_trained": _float(row.get("networks_trained_mean")),
            })
    columns = ["run", "method", "runs", "test accuracy", "test_accuracy_mean", "test_accuracy_std",
               "coarse_s", "fine_s", "total_s", "networks_scored", "networks_trained"]
    return pd.DataFrame(rows, columns=columns)


def _float(value) -> float:
    return math.nan if value is None else float(value)


def _pm(mean, std) -> str:
    mean, std = _float(mean), _float(std)
    if math.isnan(mean):
        return "n/a (no ground truth)"
    return f"{mean:.2f} ± {std:.2f}" if not math.isnan(std) else f"{mean:.2f}"


# --- a cell as a stand-alone PyTorch module -------------------------------------------------

_MODULE_HEADER = Template('''\
"""The NAS-Bench-201 network for one cell, as plain PyTorch (generated by KNAS Studio).

Cell:            $arch_str
Benchmark index: $index
Parameters:      $params ($num_classes classes, C=16, N=5)
FLOPs (MACs):    $flops on a 32x32 image

Stem (3x3 conv + BN), three stages of N cells at C, 2C and 4C channels joined by residual
reduction blocks, BN-ReLU, global average pooling and a linear head; ops are ReLU-Conv-BN.
The network code below is knas/nets.py itself, so module and parameter names (NAS-Bench-201's)
match and state dicts interchange. Needs only torch:

    from this_module import build
    net = build()                       # randomly initialised
    logits = net(torch.randn(2, 3, 32, 32))
"""
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

ARCH_STR = $arch_str_repr
OPS = $ops_repr  # edge order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2
NUM_CLASSES = $num_classes

# The facts about the NAS-Bench-201 cell space that the network code below uses.
space = SimpleNamespace(N_NODES=4, ArchError=ValueError, validate=tuple)

''')

_MODULE_FOOTER = '''

def build(num_classes=NUM_CLASSES, channels=16, n_cells=5):
    """The network for ARCH_STR, randomly initialised."""
    return Network(OPS, num_classes=num_classes, channels=channels, n_cells=n_cells)


if __name__ == "__main__":
    net = build()
    print(ARCH_STR)
    print(sum(p.numel() for p in net.parameters()), "parameters")
    print(tuple(net(torch.randn(2, 3, 32, 32)).shape))
'''


def _network_code() -> str:
    """knas/nets.py from its first class to its ``build`` (read as text: no torch import here)."""
    source = (Path(__file__).with_name("nets.py")).read_text()
    start = source.index("\nclass ReLUConvBN")
    return source[start:source.index("\ndef build(")].strip() + "\n"


def arch_module_source(arch, num_classes: int = 10) -> str:
    """A ready-to-use Python file defining this cell's NAS-Bench-201 network in plain PyTorch,
    with the arch string baked in and a ``build()`` function (same module and parameter names as
    ``knas.nets``, so state dicts load into either)."""
    ops = space.validate(arch)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ExportError(f"num_classes must be a positive integer, got {num_classes!r}")
    arch_str = space.to_str(ops)
    header = _MODULE_HEADER.substitute(
        arch_str=arch_str, arch_str_repr=repr(arch_str), ops_repr=repr(tuple(ops)),
        index=space.index_of(ops), num_classes=num_classes,
        params=f"{costs.count_params(ops, num_classes=num_classes):,}",
        flops=f"{costs.count_flops(ops, num_classes=num_classes) / 1e6:.2f} M",
    )
    return header + "\n" + _network_code() + _MODULE_FOOTER


def module_file_name(arch) -> str:
    return f"nb201_cell_{space.index_of(arch)}.py"


# --- HTML run report ------------------------------------------------------------------------

_REPORT_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: Menlo, Consolas, monospace; font-size: .9em; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: .7em; overflow-x: auto; }
.muted { color: #666; } .figure { margin: 1em 0; } .scroll { overflow-x: auto; }
"""


def html_report(config: dict, state: dict, events: list, truth_table=None) -> str:
    """A self-contained HTML page about one run, for people who will not open the dashboard:
    its settings, the result table in the KNAS paper's form, every (method, repeat) result,
    the chosen cells (DOT diagrams, or SVG when the ``graphviz`` package and binary are there)
    and the figures (plotly, its JavaScript embedded once). Every value is HTML-escaped."""
    from .search import DEFAULT_REPORT_COLUMN

    config, state = dict(config or {}), dict(state or {})
    events = list(events or [])
    report_column = config.get("report") or DEFAULT_REPORT_COLUMN.get(config.get("dataset", ""), "")
    summary = runview.summary(events) or state.get("summary") or []
    results = runview.results_frame(events)
    started = runview.started(events)
    primary = config.get("proxy", "")

    parts = ["<h1>KNAS search report</h1>",
             f"<p class='muted'>Status <b>{_e(state.get('status', 'unknown'))}</b>"
             f"{_when(' · started ', state.get('started') or state.get('created'))}"
             f"{_when(' · finished ', state.get('finished'))} · generated {_e(_stamp(time.time()))}"
             " by KNAS Studio. Training-free NAS on NAS-Bench-201 (Xu et al., KNAS, ICML 2021).</p>"]
    if state.get("error"):
        parts.append(f"<p><b>Error:</b> {_e(state['error'])}</p>")

    parts.append("<h2>Settings</h2>")
    parts.append(_kv_table([(k, ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
                            for k, v in config.items()]))

    parts.append("<h2>Results</h2>")
    best = _best_possible(started, truth_table, report_column)
    if best:
        parts.append(f"<p>Best possible in the space on <code>{_e(best['column'])}</code>: "
                     f"<b>{best['value']:.2f}</b> (index {best['index']}, "
                     f"<code>{_e(space.to_str(space.arch_at(best['index'])))}</code>).</p>")
    if summary:
        table = paper_table({"this run": summary}).drop(columns=["run", "test_accuracy_mean",
                                                                  "test_accuracy_std"])
        table = table.rename(columns={"test accuracy": f"test accuracy ({report_column or 'n/a'}) mean ± std"})
        parts.append(_frame_table(table))
    else:
        parts.append("<p class='muted'>No summary: the run has not finished.</p>")
    if not results.empty:
        parts.append("<h3>Every search</h3>")
        parts.append(_frame_table(results))

    chosen = _chosen_cells(results, primary)
    if chosen:
        parts.append("<h2>Chosen cell" + ("s" if len(chosen) > 1 else "") + "</h2>")
        for index in chosen:
            arch = space.arch_at(index)
            parts.append(f"<p>Index {index}: <code>{_e(space.to_str(arch))}</code> · "
                         f"{costs.count_params(arch) / 1e6:.3f} M parameters · "
                         f"{costs.count_flops(arch) / 1e6:.2f} M FLOPs</p>")
            parts.append(_diagram(plots.cell_dot(arch, title=f"index {index}")))

    figures = _report_figures(events, summary, primary, truth_table, report_column)
    if figures:
        parts.append("<h2>Figures</h2>")
        for i, fig in enumerate(figures):
            parts.append("<div class='figure'>"
                         + fig.to_html(full_html=False, include_plotlyjs=(i == 0))
                         + "</div>")

    title = f"KNAS report · {config.get('dataset', '')} · {primary}"
    return ("<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>{_e(title)}</title>\n<style>{_REPORT_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _stamp(seconds) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(seconds)))


def _when(prefix: str, seconds) -> str:
    return f"{prefix}{_e(_stamp(seconds))}" if seconds else ""


def _cell(value) -> str:
    if isinstance(value, float):
        text = "n/a" if math.isnan(value) else f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e5 \
            else f"{value:.2f}"
        return f"<td class='num'>{_e(text)}</td>"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"<td class='num'>{value}</td>"
    return f"<td>{_e(value)}</td>"


def _kv_table(rows) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _frame_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(_cell(_plain(v)) for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            "</table></div>")


def _plain(value):
    """numpy scalars as Python ones, so the cell formatting sees floats and ints."""
    return value.item() if hasattr(value, "item") else value


def _best_possible(started: dict, truth_table, column: str):
    if started.get("best_possible"):
        return started["best_possible"]
    if truth_table is not None and column in getattr(truth_table, "columns", ()):
        from . import benchmark

        index, value = benchmark.best(truth_table, column)
        return {"index": index, "value": value, "column": column}
    return None


def _chosen_cells(results: pd.DataFrame, primary: str, limit: int = 5) -> list[int]:
    if results.empty:
        return []
    mine = results[results["method"] == primary]
    mine = mine if not mine.empty else results
    return [int(i) for i in dict.fromkeys(mine["chosen"])][:limit]


def _diagram(dot: str) -> str:
    """An inline SVG when graphviz (package and ``dot`` binary) is available, else the DOT text."""
    try:
        import graphviz

        svg = graphviz.Source(dot).pipe(format="svg").decode("utf-8")
        start = svg.find("<svg")
        if start >= 0:
            return f"<div class='figure'>{svg[start:]}</div>"
    except Exception:  # not installed, no binary, or a rendering failure: show the source
        pass
    return ("<p class='muted'>Graphviz DOT source (paste into any Graphviz viewer):</p>"
            f"<pre>{_e(dot)}</pre>")


def _report_figures(events, summary, primary, truth_table, column) -> list:
    import plotly.graph_objects as go

    figures = []
    with_acc = [r for r in summary if not math.isnan(_float(r.get("test_accuracy_mean")))]
    if with_acc:
        fig = go.Figure(go.Bar(
            x=[r["method"] for r in with_acc], y=[r["test_accuracy_mean"] for r in with_acc],
            error_y={"type": "data", "array": [_float(r["test_accuracy_std"]) for r in with_acc]},
            marker_color=plots.POINT_COLOUR, texttemplate="%{y:.2f}", textposition="outside"))
        fig.update_layout(title={"text": f"Test accuracy of the chosen cell ({column}), mean ± std"},
                          yaxis={"title": {"text": f"{column} (%)"}})
        figures.append(fig)
    frame = job_scores(events, repeat=0)
    proxies = proxy_columns(frame)
    if frame.empty or not proxies:
        return figures
    main = next((p for p in proxies if p == primary), proxies[0])
    has_truth = truth_table is not None and column in getattr(truth_table, "columns", ())
    if has_truth:
        scored = frame.assign(**{column: truth_for(frame, truth_table, column)})
        topk = runview.latest_topk(events, method=primary, repeat=0) or None
        figures.append(plots.score_scatter(scored, main, column, highlight=topk,
                                           title=f"{main} vs {column} (repeat 0; top-k highlighted)"))
        from . import stats

        table = stats.correlation_table(scored, proxies, scored[column])
        figures.append(plots.correlation_bars(table))
    else:
        figures.append(plots.score_histogram(frame, main))
    if len(proxies) > 1:
        figures.append(plots.correlation_heatmap(frame, proxies))
    return figures


def report_file_name(job_id: str) -> str:
    return f"knas_report_{job_id[:12]}.html"


# --- Explorer helpers -----------------------------------------------------------------------


def cached_scores(arch, directory=None, limit: int = 50, scan: int = 500_000) -> list[dict]:
    """Scores the score cache holds for this cell (any proxy, settings or data), read without
    torch: keys are ``v<code>|<proxy>|<settings>|<batch>|<cell>`` where the cell is the canonical
    form (deduplicated proxies) or the arch string (``params``, ``flops``). At most ``limit``
    entries, looking at no more than ``scan`` keys."""
    from .cache import default_dir

    ops = space.validate(arch)
    directory = Path(directory) if directory else default_dir()
    if not (directory / "cache.db").is_file():
        return []
    import diskcache

    ends = ("|" + space.canonical(ops), "|" + space.to_str(ops))
    rows = []
    with diskcache.Cache(str(directory), eviction_policy="none") as store:
        for seen, key in enumerate(store.iterkeys()):
            if seen >= scan or len(rows) >= limit:
                break
            if not isinstance(key, str) or not key.endswith(ends):
                continue
            version, proxy, settings, batch, cell = (key.split("|", 4) + [""] * 5)[:5]
            if cell not in (ends[0][1:], ends[1][1:]):
                continue  # a longer canonical form that merely ends like ours
            value = store.get(key)
            rows.append({"proxy": proxy, "dataset": batch.split(":", 1)[0], "value": value,
                         "settings": settings, "batch": batch, "code": version})
    return rows


def neighbour_rows(arch, table=None, columns=("cifar10_test", "cifar100_test", "imagenet16_test")) -> pd.DataFrame:
    """The 24 cells one edge away, with the edge changed and, given a table, their accuracies."""
    ops = space.validate(arch)
    columns = [c for c in columns if table is not None and c in table.columns]
    rows = []
    for other in space.neighbours(ops):
        edge = next(e for e in range(len(ops)) if ops[e] != other[e])
        dst, src = space.EDGES[edge]
        index = space.index_of(other)
        row = {"index": index, "edge": f"{src}→{dst}",
               "from": plots.OP_LABELS.get(ops[edge], ops[edge]),
               "to": plots.OP_LABELS.get(other[edge], other[edge]),
               **{c: float(table[c].get(index, math.nan)) for c in columns},
               "same function": space.canonical(other) == space.canonical(ops),
               "arch_str": space.to_str(other)}
        rows.append(row)
    return pd.DataFrame(rows)


# --- Data page helpers ----------------------------------------------------------------------


def convert_table(path, timeout: float = 3600.0) -> str:
    """Convert an official NAS-Bench-201 ``.pth`` into the cached compact table in a child
    process (it needs torch and nas_201_api, which the UI process never imports); returns what
    the child printed. Afterwards ``benchmark.load_table(path)`` reads the cache, torch-free.

    The file is unpickled, which can run code stored in it: call this only for a file the user
    chose and trusts."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: file not found")
    code = ("import sys; from knas import benchmark; t = benchmark.load_table(sys.argv[1]); "
            "print(f'{len(t)} rows, columns: {\", \".join(map(str, t.columns))}')")
    try:
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                             cwd=REPO, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise ExportError(f"{path}: conversion did not finish within {timeout:.0f} s") from err
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
        raise ExportError(lines[-1] if lines else f"{path}: conversion failed")
    return out.stdout.strip()


def clear_score_cache(confirmation: str, store=None, cache=None) -> int:
    """Empty the score cache, but only when ``confirmation`` is ``CONFIRM_WORD`` and no job is
    queued or running (a running job writes to it). Returns how many scores were removed."""
    if (confirmation or "").strip() != CONFIRM_WORD:
        raise ExportError(f"Not cleared: type {CONFIRM_WORD} to confirm")
    if store is None:
        from .jobs import JobStore

        store = JobStore()
    running = store.active_ids()
    if running:
        raise ExportError(f"Not cleared: {len(running)} job(s) are queued or running "
                          f"({', '.join(j[:8] for j in running)}); cancel them or wait until they end")
    if cache is None:
        from .cache import ScoreCache

        cache = ScoreCache()
    return cache.clear()
