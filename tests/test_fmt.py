"""knas.fmt: user text shown safely, durations shown plainly."""
from knas import fmt
from tests.conftest import CELL_6111


def test_md_escape_keeps_arch_strings_literal():
    assert fmt.md_escape(CELL_6111).replace("\\", "") == CELL_6111
    assert "~" not in fmt.md_escape(CELL_6111).replace("\\~", "")
    assert fmt.md_escape("a_b *c* `d` $e$") == "a\\_b \\*c\\* \\`d\\` \\$e\\$"


def test_md_code_fences_backticks():
    assert fmt.md_code("a~b") == "`a~b`"
    assert fmt.md_code("x`y") == "``x`y``"
    assert fmt.md_code("`") == "`` ` ``"


def test_seconds():
    assert fmt.seconds(5) == "5 s" and fmt.seconds(125) == "2 min 05 s"
    assert fmt.seconds(None) == "?" and fmt.seconds(3 * 3600 + 60) == "3 h 01 min"
