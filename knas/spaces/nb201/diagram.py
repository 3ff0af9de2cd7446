"""How a NAS-Bench-201 cell is drawn: four nodes left to right (0 input … 3 output), one curved
arrow per op that is not ``none``, coloured and labelled by op; edges that cannot affect the
output are dashed and faded. Geometry only (``knas.spaces.base.Diagram``): the SVG and the
matplotlib summary render it. Colours are the Okabe-Ito palette (readable with colour blindness).
Torch-free."""
from __future__ import annotations

import math

from knas.spaces.base import RADIUS, Diagram, Edge, Node
from knas.spaces.nb201 import cells

# `none` has no colour: it carries nothing and is not drawn.
OP_COLOURS = {
    "nor_conv_3x3": "#0072B2",  # blue
    "nor_conv_1x1": "#E69F00",  # orange
    "avg_pool_3x3": "#009E73",  # bluish green
    "skip_connect": "#CC79A7",  # reddish purple
}
OP_LABELS = {
    "nor_conv_3x3": "conv3x3",
    "nor_conv_1x1": "conv1x1",
    "avg_pool_3x3": "pool",
    "skip_connect": "skip",
    "none": "none",
}

WIDTH, HEIGHT = 356, 150
_XS = (28, 128, 228, 328)  # node centres
_BASE_Y = 62
_BEND = {1: 0, 2: -86, 3: 116}  # control-point offset by how many nodes an edge spans


def _point(p0, c, p1, t):
    return tuple((1 - t) ** 2 * a + 2 * (1 - t) * t * b + t ** 2 * d for a, b, d in zip(p0, c, p1))


def _unit(frm, to):
    dx, dy = to[0] - frm[0], to[1] - frm[1]
    norm = math.hypot(dx, dy) or 1.0
    return dx / norm, dy / norm


def _towards(point, target, distance):
    ux, uy = _unit(point, target)
    return point[0] + ux * distance, point[1] + uy * distance


def diagram(arch) -> Diagram:
    ops = cells.validate(arch)
    edges = []
    for (dst, src), op, live in zip(cells.EDGES, ops, cells.live_edges(ops)):
        if op == "none":
            continue
        p0, p1 = (_XS[src], _BASE_Y), (_XS[dst], _BASE_Y)
        c = ((p0[0] + p1[0]) / 2, _BASE_Y + _BEND[dst - src])
        a, b = _towards(p0, c, RADIUS), _towards(p1, c, RADIUS)
        ux, uy = _unit(b, c)  # from the head back along the curve
        base = (b[0] + ux * 8, b[1] + uy * 8)
        arrow = (b, (base[0] - uy * 4.5, base[1] + ux * 4.5), (base[0] + uy * 4.5, base[1] - ux * 4.5))
        edges.append(Edge(op, live, a, c, b, arrow, _point(p0, c, p1, 0.5), OP_LABELS[op],
                          OP_COLOURS[op]))
    captions = {0: "input", cells.N_NODES - 1: "output"}
    nodes = tuple(Node(str(n), x, _BASE_Y, captions.get(n, "")) for n, x in enumerate(_XS))
    legend = tuple((colour, OP_LABELS[op]) for op, colour in OP_COLOURS.items())
    return Diagram(WIDTH, HEIGHT, nodes, tuple(edges), legend)
