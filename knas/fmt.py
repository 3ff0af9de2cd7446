"""How values are shown to people: user-controlled text escaped for markdown and HTML, and
durations. Every page, report and message goes through these, so escaping lives in one place."""
from __future__ import annotations

import html
import math
import re

_MD_SPECIAL = set("\\`*_~[]<>|#$!:")  # markdown and Streamlit's :directives[...]
# What GitHub-flavoured markdown turns into a link even when every character is escaped (its
# autolink step runs on the parsed text): URLs with a scheme, www. names and e-mail addresses.
# Each alternative may start only where a run of its characters starts (the look-behinds), so a
# search tries each run once: linear in the text, where ``\b[a-z][a-z0-9+.-]*://`` rescans a long
# run from every position in it (a 100 kB link froze the server for a minute). A scheme's whole
# run is taken (".http://x" as a whole): more shown as code, never less.
_LINKISH = re.compile(r"(?i)(?:(?<![a-z0-9+.-])[a-z0-9+.-]++://|\bwww\.)\S+"
                      r"|(?<![^\s@])[^\s@]++@[^\s@]+\.[^\s@]+")


def clip(text, limit: int = 200) -> str:
    """At most ``limit`` characters of ``text``: its start, and how long it was when cut. Every
    user-given text a page or an error quotes goes through it before any other work."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters, cut)"


def md_escape(text) -> str:
    """Text for Streamlit's markdown (st.error, st.warning, st.markdown, labels) shown as typed:
    every markdown character is escaped (arch strings hold ``~`` and ``|``; a typed
    ``[x](http://…)`` must stay text, never a link or an image), line breaks become spaces, and
    anything markdown would still turn into a link (``http://…``, ``www.…``, an e-mail address)
    is shown as inline code."""
    text = " ".join(str(text).splitlines())
    out, start = [], 0
    for match in _LINKISH.finditer(text):
        out.append(_escape_chars(text[start:match.start()]))
        out.append(md_code(match.group()))
        start = match.end()
    out.append(_escape_chars(text[start:]))
    return "".join(out)


def _escape_chars(text: str) -> str:
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


_MARKUP = set("<>&\"`{}")


def plain_name(text) -> bool:
    """A name (a table's column) that every view can show as it is: no characters that HTML,
    plotly's text or its hover templates would read as markup."""
    return not any(ch in _MARKUP or ord(ch) < 32 for ch in str(text))


def html_escape(text) -> str:
    return html.escape(str(text), quote=True)


def seconds(value) -> str:
    """A duration for people: ``5 s``, ``2 min 05 s``, ``3 h 01 min``; ``?`` when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "?"
    value = float(value)
    if value < 60:
        return f"{value:.0f} s"
    if value < 3600:
        return f"{value // 60:.0f} min {value % 60:02.0f} s"
    return f"{value // 3600:.0f} h {value % 3600 // 60:02.0f} min"


def md_code(text) -> str:
    """Text as an inline code span (shown verbatim, monospaced), fenced so that backticks in the
    text cannot end it early."""
    text = str(text).replace("\n", " ")
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_URL = re.compile(r"https?://[^\s<>()\[\]`]+[^\s<>()\[\]`.,;:!?'\"]")


def md_escape_with_links(text) -> str:
    """``md_escape``, except that web addresses stay clickable: each becomes a markdown
    autolink (``<https://…>``), where nothing is escaped, so a ``~`` in the address survives
    (escaping it gave a link to ``%5C~``)."""
    text, out, last = str(text), [], 0
    for match in _URL.finditer(text):
        out += [md_escape(text[last:match.start()]), f"<{match.group()}>"]
        last = match.end()
    return "".join(out) + md_escape(text[last:])


def size(n: int) -> str:
    """A byte count for people: 512 B, 1.5 MB, 7.4 GB (units of 1,024)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 1,203rd."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def num(value) -> str:
    """A measured number at a sensible precision: 10.7, 0.0033, 1,234."""
    value = float(value)
    if value != value:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.4g}"
