"""How a NAS-Bench-201 cell is drawn: four nodes left to right (0 input … 3 output), one curved
arrow per op that is not ``none``, coloured and labelled by op; edges that cannot affect the
output are dashed and faded (the geometry of ``knas.spaces.dag``, shared with every cell of this
shape). Colours are the Okabe-Ito palette (readable with colour blindness).
Torch-free."""
from __future__ import annotations

import dataclasses

from knas.spaces.diagram import Diagram
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

GRAMMAR = dataclasses.replace(cells.GRAMMAR, labels=OP_LABELS, colours=OP_COLOURS)


def diagram(arch) -> Diagram:
    return GRAMMAR.diagram(cells.validate(arch))
