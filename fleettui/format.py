"""Presentation helpers shared by the report and the TUI."""
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
