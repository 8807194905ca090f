"""Theme variables as concrete colours for Rich renderables (tables in the detail, help and dialog screens).

Textual resolves ``$text-muted`` ("auto 60%") against the background when it paints; Rich needs a hex colour,
so "auto N%" becomes the theme's foreground blended over its surface at N%."""
from __future__ import annotations

from textual.color import Color


def rich_color(app, name: str) -> str:
    tv = app.theme_variables
    value = tv.get(name)
    if not value:
        return "default"
    try:
        color = Color.parse(value)
    except Exception:  # noqa: BLE001 - "auto 60%" and similar
        pass
    else:
        if color.a < 1:      # translucent: Rich has no alpha, blend it over the surface
            try:
                bg = Color.parse(tv.get("surface") or tv.get("background") or "#000000")
            except Exception:  # noqa: BLE001
                bg = Color(0, 0, 0)
            color = bg.blend(color.with_alpha(1.0), color.a)
        return color.hex6
    pct = 1.0
    parts = value.split()
    if len(parts) == 2 and parts[1].endswith("%"):
        try:
            pct = float(parts[1][:-1]) / 100
        except ValueError:
            pct = 1.0
    try:
        bg = Color.parse(tv.get("surface") or tv.get("background") or "#000000")
        fg = Color.parse(tv.get("foreground") or "#ffffff")
    except Exception:  # noqa: BLE001
        return "default"
    return bg.blend(fg, pct).hex6
