"""knas.results.cellsvg: the cell drawn as SVG in pure Python, checked by parsing the SVG."""
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from knas.results import cellsvg
from knas.spaces import dag
from knas.spaces.nb201 import diagram
from knas.spaces.nb201 import cells as space
from tests.conftest import NB201, CELL_6111, REPO

NS = {"svg": "http://www.w3.org/2000/svg"}
# Node 2 is fed (conv1x1 from 0, pool from 1) but reaches the output only through `none~2`.
DEAD_BRANCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


def _edges(svg: str) -> list:
    root = ET.fromstring(svg)
    return root.findall("svg:g[@class='edge']", NS)


@pytest.mark.parametrize("i", [0, 1, 77, 4242, 6111, 15624])
def test_one_labelled_coloured_edge_per_op_that_is_not_none(i):
    arch = space.arch_at(i)
    edges = _edges(cellsvg.cell_svg(NB201, arch))
    drawn = [op for op in arch if op != "none"]
    assert [e.get("data-op") for e in edges] == drawn
    for edge, op in zip(edges, drawn):
        assert edge.find("svg:path", NS).get("stroke") == diagram.OP_COLOURS[op]
        assert edge.find("svg:polygon", NS).get("fill") == diagram.OP_COLOURS[op]  # arrowhead
        assert edge.find("svg:text", NS).text == diagram.OP_LABELS[op]


def test_dead_edges_are_dashed_and_faded_live_ones_solid():
    edges = _edges(cellsvg.cell_svg(NB201, DEAD_BRANCH))
    live = [alive for alive, op in zip(space.live_edges(DEAD_BRANCH), space.parse(DEAD_BRANCH))
            if op != "none"]
    assert live == [True, False, False, True, True]
    for edge, alive in zip(edges, live):
        path = edge.find("svg:path", NS)
        assert edge.get("data-live") == str(alive).lower()
        assert (path.get("stroke-dasharray") is None) == alive
        assert float(edge.get("opacity")) == (1.0 if alive else cellsvg.DEAD_OPACITY)


def test_every_cell_has_the_same_size_and_legible_labels():
    sizes = {(ET.fromstring(cellsvg.cell_svg(NB201, i)).get("width"),
              ET.fromstring(cellsvg.cell_svg(NB201, i)).get("height")) for i in (0, 5, 6111, 15624)}
    assert sizes == {(str(dag.WIDTH), str(dag.HEIGHT))}
    root = ET.fromstring(cellsvg.cell_svg(NB201, 6111, title="index 6111"))
    assert int(root.get("height")) == dag.HEIGHT + cellsvg.TITLE_HEIGHT
    assert min(float(t.get("font-size")) for t in root.iter(f"{{{NS['svg']}}}text")) >= 11


def test_nodes_and_captions_even_without_edges():
    root = ET.fromstring(cellsvg.cell_svg(NB201, ("none",) * 6))
    assert len(root.findall("svg:circle", NS)) == space.N_NODES and not _edges(ET.tostring(root, "unicode"))
    texts = [t.text for t in root.iter(f"{{{NS['svg']}}}text")]
    assert {"0", "1", "2", "3", "input", "output"} <= set(texts)


def test_text_is_escaped_and_the_arch_string_is_the_tooltip():
    title = '<script>alert("x")</script> & co'
    svg = cellsvg.cell_svg(NB201, CELL_6111, title=title)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)  # well-formed XML
    assert root.find("svg:title", NS).text == CELL_6111
    assert any(t.text == title for t in root.iter(f"{{{NS['svg']}}}text"))


def test_accepts_every_arch_form_and_rejects_bad_ones():
    assert cellsvg.cell_svg(NB201, DEAD_BRANCH) == cellsvg.cell_svg(NB201, space.parse(DEAD_BRANCH))
    assert cellsvg.cell_svg(NB201, 7) == cellsvg.cell_svg(NB201, space.arch_at(7))
    with pytest.raises(space.ArchError):
        cellsvg.cell_svg(NB201, "|conv~0|")


def test_legend_names_every_op_colour():
    root = ET.fromstring(cellsvg.legend_svg(NB201))
    lines = root.findall("svg:line", NS)
    assert [line.get("stroke") for line in lines[:4]] == list(diagram.OP_COLOURS.values())
    assert lines[-1].get("stroke-dasharray")  # the dead-edge sample is dashed
    texts = [t.text for t in root.findall("svg:text", NS)]
    assert texts[:4] == [diagram.OP_LABELS[op] for op in diagram.OP_COLOURS]


def test_cellsvg_is_torch_free():
    code = "import sys, knas.results.cellsvg; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
