"""A cell drawn as a small inline SVG, in pure Python (no Graphviz binary, no browser): the same
picture on every page, in the HTML report and in the one-page summary.

What is drawn is the space's ``Diagram`` (``SearchSpace.diagram``): nodes as white discs with
their number and caption, one arrow per connection, coloured and labelled by choice; connections
that cannot affect the output are dashed and faded. Every drawing of a space's cells has the same
size and its labels are 12 px, so a row of top-k cells lines up and stays legible. Labels sit on
opaque light pills, which read on a light and on a dark page alike. All text is escaped.
Torch-free.
"""
from __future__ import annotations

from knas.fmt import html_escape as _e
from knas.spaces.diagram import RADIUS, Edge

TITLE_HEIGHT = 22
FONT_PX = 12
DEAD_OPACITY = 0.4
_FONT = "font-family=\"Helvetica, Arial, sans-serif\""


def tint(colour: str, keep: float = 0.22) -> str:
    """The colour mixed with white: a light, opaque background for a label."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * keep):02x}" for c in rgb)


def size(space) -> tuple:
    """(width, height) of every diagram of a space (without a title line)."""
    picture = space.diagram(space.arch_at(0))
    return picture.width, picture.height


def _down(point, dy: float) -> tuple:
    return point[0], point[1] + dy


def _edge_svg(e: Edge, top: float = 0.0) -> str:
    pill = len(e.label) * FONT_PX * 0.58 + 8
    dash = "" if e.live else ' stroke-dasharray="5 4"'
    (ax, ay), (cx, cy), (bx, by), (mx, my) = (_down(p, top) for p in
                                              (e.start, e.control, e.end, e.label_at))
    arrow = " ".join(f"{x:.1f},{y + top:.1f}" for x, y in e.arrow)
    return (f'<g opacity="{1 if e.live else DEAD_OPACITY}" class="edge" data-op="{_e(e.choice)}" '
            f'data-live="{str(e.live).lower()}">'
            f'<path d="M{ax:.1f},{ay:.1f} Q{cx:.1f},{cy:.1f} {bx:.1f},{by:.1f}" '
            f'fill="none" stroke="{e.colour}" stroke-width="2.5"{dash}/>'
            f'<polygon points="{arrow}" fill="{e.colour}"/>'
            f'<rect x="{mx - pill / 2:.1f}" y="{my - 9:.1f}" width="{pill:.1f}" height="18" '
            f'rx="9" fill="{tint(e.colour)}" stroke="{e.colour}" stroke-width="1"/>'
            f'<text x="{mx:.1f}" y="{my + 4:.1f}" text-anchor="middle" '
            f'font-size="{FONT_PX}" fill="#1a1a1a" {_FONT}>{_e(e.label)}</text></g>')


def cell_svg(space, arch, title: str | None = None) -> str:
    """The cell as an ``<svg>`` element (the space's fixed size plus a title line when ``title``
    is given); the arch string is its tooltip."""
    ops = space.validate(arch)
    picture = space.diagram(ops)
    top = TITLE_HEIGHT if title is not None else 0
    width, height = picture.width, picture.height + top
    name = space.format(ops)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="knas-cell" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="cell {_e(name)}"><title>{_e(name)}</title>']
    if title is not None:
        parts.append(f'<text x="{width / 2}" y="15" text-anchor="middle" font-size="13" '
                     f'font-weight="bold" fill="#888888" {_FONT}>{_e(title)}</text>')
    parts += [_edge_svg(e, top) for e in picture.edges]
    for node in picture.nodes:
        x, y = node.x, node.y + top
        parts.append(f'<circle cx="{x}" cy="{y}" r="{RADIUS}" fill="#ffffff" stroke="#555555" '
                     f'stroke-width="1.5"/><text x="{x}" y="{y + 4.5}" text-anchor="middle" '
                     f'font-size="13" font-weight="bold" fill="#1a1a1a" {_FONT}>'
                     f'{_e(node.number)}</text>')
        if node.caption:
            parts.append(f'<text x="{x}" y="{y + 32}" text-anchor="middle" '
                         f'font-size="{FONT_PX}" fill="#888888" {_FONT}>{_e(node.caption)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def legend_svg(space) -> str:
    """One line naming each choice's colour, and what a dashed, faded edge means."""
    items = [(colour, text, True) for colour, text in space.diagram(space.arch_at(0)).legend]
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
