"""The one-line header: mode, profile/account, regions, last refresh, refreshing spinner, STALE marker."""
from __future__ import annotations

from datetime import datetime, timezone

from textual.content import Content
from textual.widget import Widget

from fleettui.format import printable

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def hhmmss(t: datetime | None) -> str:
    if t is None:
        return "never"
    return t.astimezone(timezone.utc).strftime("%H:%M:%S UTC")


def age_words(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class FleetHeader(Widget):
    """Reads the app's state (see FleetApp) and draws one line. ``refresh()`` it when that state changes."""

    DEFAULT_CSS = """
    FleetHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
        &.production { background: $error-muted; }
    }
    """

    frame: int = 0

    def render(self) -> Content:
        app = self.app
        wide = self.size.width >= 130
        sep = ("  ", "") if wide else (" · ", "$text-muted")
        parts: list = []
        if getattr(app, "production", False):
            parts += [(" PRODUCTION ", "bold $text on $error"), " "]
        if wide:
            parts += [(" fleettui ", "bold $text on $primary"), " "]
        parts.append(("[R]", "bold $text-success") if app.read_only else ("[RW]", "bold $text-warning"))
        # solo: this machine's journal and a tag lock; team: the shared DynamoDB store ([team])
        parts.append((" team", "bold $text-accent") if app.ctx.mode == "team" else (" solo", "$text-muted"))
        snap = app.snapshot
        account = (snap.account if snap else None) or "?"
        parts.append("  ")
        if wide:
            parts += [("profile ", "$text-muted"), (printable(app.ctx.profile_label), "bold"), ("  account ", "$text-muted"),
                      printable(account)]
        else:
            parts += [(printable(app.ctx.profile_label), "bold"), ("@", "$text-muted"), printable(account)]
        # refresh state before the regions: at 100 columns it must not be the part that gets cut off
        parts += [sep, ("refreshed " if wide else "⟳ ", "$text-muted"),
                  hhmmss(snap.generated_at) if snap else "never"]
        if app.refreshing:
            parts.append(("  " + SPINNER[self.frame % len(SPINNER)] + " refreshing…", "$text-accent"))
        if app.stale and snap is not None:
            age = (app.now() - snap.generated_at).total_seconds()
            parts += ["  ", (f" STALE {age_words(age)} ", "bold $text on $error")]
        parts += [sep, ("regions " if wide else "", "$text-muted"), printable(", ".join(app.regions_shown)) or "none"]
        if app.region_filter:
            parts.append((f" (showing {printable(app.region_filter)})", "$text-warning"))
        if snap is not None:
            parts += [sep, (f"{snap.instance_count} hosts", "$text-muted")]
        signals = app.state.signals
        if signals is not None:
            firing = [a.name for ss in signals.services.values() for a in ss.firing]
            if firing:
                parts += [sep, (f" ALARM {printable(', '.join(firing))} ", "bold $text on $error")]
            if signals.error:
                parts += [sep, (printable(signals.error), "bold $text-warning")]
        if getattr(app, "rollouts_text", ""):
            parts += [sep, ("⇢ " + printable(app.rollouts_text), "bold $text-accent")]
        if app.demo and wide:
            parts.append(("  demo (emulated AWS)", "$text-muted italic"))
        return Content.assemble(*parts)

    def tick(self) -> None:
        self.frame += 1
        self.refresh()
