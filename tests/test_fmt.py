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


def test_links_stay_clickable_and_everything_else_is_escaped():
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    text = f"could not download {url} (no network). Download {url}, extract into /a_b"
    shown = fmt.md_escape_with_links(text)
    assert shown.count(f"<{url}>") == 2 and "%5C" not in shown and "\\~kriz" not in shown
    assert shown.endswith("/a\\_b") and "(no network)" in shown
    assert fmt.md_escape_with_links("[x](javascript:alert(1))") == fmt.md_escape("[x](javascript:alert(1))")
