"""Presentation helpers shared by the CLI and the TUI."""
from __future__ import annotations

import re


def format_age(days: float) -> str:
    """Compact age for tables: 45s, 12m, 5h, 3.2d, 41d."""
    seconds = days * 86400
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{days:.1f}d" if days < 10 else f"{int(days)}d"


def format_weight(percent: float | None) -> str:
    """A traffic share as AWS holds it: whole numbers as such ("90%"), fractions to a tenth ("0.4%"), and never
    0% for a share that is not zero ("<0.1%")."""
    if percent is None:
        return "—"
    if percent == int(percent):
        return f"{int(percent)}%"
    if percent < 0.1:
        return "<0.1%"
    if percent > 99.9:
        return ">99.9%"
    return f"{percent:.1f}%"


# C0 controls, DEL, C1 controls, the bidirectional marks/overrides/isolates, the line and paragraph separators and
# lone surrogates (what a JSON "\\ud800" decodes to; printing one raises): shown as escapes, never sent to a terminal
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_ESCAPES.update({c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                            *range(0x2066, 0x206A), *range(0xD800, 0xE000))})
LIMIT = 2000          # characters of one untrusted string shown by default (a 390 KB holder is not a lock line)


def printable(value: object, limit: int | None = LIMIT) -> str:
    """A string from AWS, the team table, a journal or the operator made safe to show: control characters escaped
    (ESC -> ``\\x1b``), so no terminal control sequence gets through, and at most ``limit`` characters shown, the
    rest said as "…(N more)" (None: no limit). Markup is a separate matter: render the result as plain text (rich
    ``Text``, textual ``Content``, ``markup=False``), never as markup."""
    text = str(value)
    shown = text.translate(_ESCAPES)
    if limit is None or len(shown) <= limit:
        return shown
    out, used = [], 0
    for n, ch in enumerate(text):
        piece = _ESCAPES.get(ord(ch), ch)
        if used + len(piece) > limit:
            return "".join(out) + f"…({len(text) - n} more)"
        out.append(piece)
        used += len(piece)
    return "".join(out)


def printable_time(value: object, width: int = 19) -> str:
    """An event's time (ISO-8601 from a journal or the team table) shown to ``width`` characters ("2026-11-30
    03:12:45" at 19, to the minute at 16): only when it is one; anything else is shown escaped and capped, about as
    wide ("\\x1b]2;PWNED…(40 more)")."""
    text = value if isinstance(value, str) else str(value)
    if _ISO.match(text):
        return text[:width].replace("T", " ")
    return printable(text, width)


_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?\Z", re.ASCII)
