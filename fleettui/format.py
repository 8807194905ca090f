"""Presentation helpers shared by the CLI and the TUI."""
from __future__ import annotations


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


# C0 controls, DEL, C1 controls and the bidirectional overrides/isolates: shown as escapes, never sent to a terminal
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_ESCAPES.update({c: f"\\u{c:04x}" for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def printable(value: object) -> str:
    """A string from AWS or the operator made safe to show: control characters escaped (ESC -> ``\\x1b``), so
    no terminal control sequence gets through. Markup is a separate matter: render the result as plain text
    (rich ``Text``, textual ``Content``, ``markup=False``), never as markup."""
    return str(value).translate(_ESCAPES)
