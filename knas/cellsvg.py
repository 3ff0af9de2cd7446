"""A NAS-Bench-201 cell drawn as a small inline SVG, in pure Python (no Graphviz binary, no
browser): the same picture on every page, in the HTML report and in the one-page summary.

Four nodes left to right (0 input … 3 output), one arrow per op that is not ``none``, coloured and
labelled by op (``plots.OP_COLOURS``, ``plots.OP_LABELS``); edges that cannot affect the output are dashed and
faded. Every drawing of a cell has the same size and its labels are 12 px, so a row of top-k
cells lines up and stays legible. Labels sit on opaque light pills and nodes are white discs, so
the drawing reads on a light and on a dark page alike. All text is escaped. Torch-free.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import space
from .fmt import html_escape as _e
from .plots import OP_COLOURS, OP_LABELS

WIDTH, HEIGHT, TITLE_HEIGHT = 356, 150, 22
FONT_PX = 12
_XS = (28, 128, 228, 328)  # node centres
_BASE_Y = 62
RADIUS = 14
_BEND = {1: 0, 2: -86, 3: 116}  # control-point offset by how many nodes an edge spans
DEAD_OPACITY = 0.4
_FONT = "font-family=\"Helvetica, Arial, sans-serif\""


def tint(colour: str, keep: float = 0.22) -> str:
    """The colour mixed with white: a light, opaque background for a label."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * keep):02x}" for c in rgb)


def _point(p0, c, p1, t):
    return tuple((1 - t) ** 2 * a + 2 * (1 - t) * t * b + t ** 2 * d for a, b, d in zip(p0, c, p1))


@dataclass(frozen=True)
class Edge:
    """One drawn edge: a quadratic curve trimmed to the node circles, its arrowhead and label."""
    op: str
    live: bool
    start: tuple
    control: tuple
    end: tuple
    arrow: tuple  # three (x, y) corners
    label_at: tuple
    label: str
    colour: str


def edges(arch, top: float = 0.0) -> list[Edge]:
    """The geometry of a cell's drawn edges (``none`` left out), in SVG pixel coordinates; the
    SVG below and the one-page summary (``knas.staticfigs``) both draw from it."""
    ops = space.validate(arch)
    out = []
    for (dst, src), op, live in zip(space.EDGES, ops, space.live_edges(ops)):
        if op == "none":
            continue
        y = top + _BASE_Y
        p0, p1 = (_XS[src], y), (_XS[dst], y)
        c = ((p0[0] + p1[0]) / 2, y + _BEND[dst - src])
        a, b = _towards(p0, c, RADIUS), _towards(p1, c, RADIUS)
        ux, uy = _unit(b, c)  # from the head back along the curve
        base = (b[0] + ux * 8, b[1] + uy * 8)
        arrow = (b, (base[0] - uy * 4.5, base[1] + ux * 4.5), (base[0] + uy * 4.5, base[1] - ux * 4.5))
        out.append(Edge(op, live, a, c, b, arrow, _point(p0, c, p1, 0.5), OP_LABELS[op],
                        OP_COLOURS[op]))
    return out


def _unit(frm, to):
    dx, dy = to[0] - frm[0], to[1] - frm[1]
    norm = math.hypot(dx, dy) or 1.0
    return dx / norm, dy / norm


def _towards(point, target, distance):
    ux, uy = _unit(point, target)
    return point[0] + ux * distance, point[1] + uy * distance


def _edge_svg(e: Edge) -> str:
    pill = len(e.label) * FONT_PX * 0.58 + 8
    dash = "" if e.live else ' stroke-dasharray="5 4"'
    (ax, ay), (cx, cy), (bx, by), (mx, my) = e.start, e.control, e.end, e.label_at
    arrow = " ".join(f"{x:.1f},{y:.1f}" for x, y in e.arrow)
    return (f'<g opacity="{1 if e.live else DEAD_OPACITY}" class="edge" data-op="{_e(e.op)}" '
            f'data-live="{str(e.live).lower()}">'
            f'<path d="M{ax:.1f},{ay:.1f} Q{cx:.1f},{cy:.1f} {bx:.1f},{by:.1f}" '
            f'fill="none" stroke="{e.colour}" stroke-width="2.5"{dash}/>'
            f'<polygon points="{arrow}" fill="{e.colour}"/>'
            f'<rect x="{mx - pill / 2:.1f}" y="{my - 9:.1f}" width="{pill:.1f}" height="18" '
            f'rx="9" fill="{tint(e.colour)}" stroke="{e.colour}" stroke-width="1"/>'
            f'<text x="{mx:.1f}" y="{my + 4:.1f}" text-anchor="middle" '
            f'font-size="{FONT_PX}" fill="#1a1a1a" {_FONT}>{_e(e.label)}</text></g>')


def nodes(top: float = 0.0) -> list[tuple]:
    """(node, x, y, caption) of the four nodes."""
    captions = {0: "input", space.N_NODES - 1: "output"}
    return [(n, x, top + _BASE_Y, captions.get(n, "")) for n, x in enumerate(_XS)]


def cell_svg(arch, title: str | None = None) -> str:
    """The cell as an ``<svg>`` element (fixed size, ``WIDTH`` × ``HEIGHT`` plus a title line
    when ``title`` is given); ``none`` edges are left out, dead ones dashed and faded."""
    ops = space.validate(arch)
    top = TITLE_HEIGHT if title is not None else 0
    height = HEIGHT + top
    name = space.to_str(ops)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="knas-cell" width="{WIDTH}" '
             f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="cell {_e(name)}"><title>{_e(name)}</title>']
    if title is not None:
        parts.append(f'<text x="{WIDTH / 2}" y="15" text-anchor="middle" font-size="13" '
                     f'font-weight="bold" fill="#888888" {_FONT}>{_e(title)}</text>')
    parts += [_edge_svg(e) for e in edges(ops, top)]
    for node, x, y, caption in nodes(top):
        parts.append(f'<circle cx="{x}" cy="{y}" r="{RADIUS}" fill="#ffffff" stroke="#555555" '
                     f'stroke-width="1.5"/><text x="{x}" y="{y + 4.5}" text-anchor="middle" '
                     f'font-size="13" font-weight="bold" fill="#1a1a1a" {_FONT}>{node}</text>')
        if caption:
            parts.append(f'<text x="{x}" y="{y + 32}" text-anchor="middle" '
                         f'font-size="{FONT_PX}" fill="#888888" {_FONT}>{caption}</text>')
    parts.append("</svg>")
    return "".join(parts)


def legend_svg() -> str:
    """One line naming each op's colour, and what a dashed, faded edge means."""
    items = [(OP_COLOURS[op], OP_LABELS[op], True) for op in OP_COLOURS]
    items.append(("#888888", "dead: cannot reach the output", False))
    x, parts = 4, []
    for colour, text, live in items:
        dash = "" if live else ' stroke-dasharray="5 4"'
        parts.append(f'<line x1="{x}" y1="12" x2="{x + 22}" y2="12" stroke="{colour}" '
                     f'stroke-width="3"{dash}/><text x="{x + 28}" y="16" font-size="{FONT_PX}" '
                     f'fill="#888888" {_FONT}>{_e(text)}</text>')
        x += 28 + len(text) * FONT_PX * 0.58 + 18
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="knas-legend" width="{x:.0f}" '
            f'height="24" viewBox="0 0 {x:.0f} 24" role="img" aria-label="operation colours">'
            + "".join(parts) + "</svg>")
