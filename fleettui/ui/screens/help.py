"""`?`: every key binding (from the BINDINGS declarations), the filter syntax, `:` commands, and the
effective settings this session runs with."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from fleettui.format import format_age
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter

if TYPE_CHECKING:
    from fleettui.ui.app import FleetApp

FILTER_HELP = [
    ("text", "substring of instance id, Name tag, type, AZ or state"),
    ("drift", "drifted hosts (any drift finding)"),
    ("aged", "past warn_age or max_age"),
    ("unhealthy / marked", "not healthy / marked with space"),
    ("age>14d  age<1d", "launched more / less than that long ago (s m h d w; also >= <=)"),
    ("v:1.5", "generation version prefix"),
    ("state:running", "also region: az: type: health: tag:Owner tag:Owner=team"),
    ("!term", "negate a term, e.g. !drift"),
    ("a b c", "terms combine with AND"),
]


def _days(seconds: float) -> str:
    return format_age(seconds / 86400)


class HelpScreen(ModalScreen[None]):
    app: "FleetApp"

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close"),
        Binding("j,down", "scroll('down')", "Scroll", show=False),
        Binding("k,up", "scroll('up')", "Scroll", show=False),
    ]

    def __init__(self, bindings: list[tuple[str, Binding, str]]) -> None:
        """``bindings``: (where, binding, note) rows to list."""
        super().__init__(id="help")
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        with Horizontal(id="help-body"):
            with VerticalScroll(id="help-left"):
                yield Static(self._keys(), id="help-keys", classes="box")
                yield Static(self._commands(), id="help-commands", classes="box")
            with VerticalScroll(id="help-right"):
                yield Static(self._settings(), id="help-settings", classes="box")
                yield Static(self._filter(), id="help-filter", classes="box")
        yield FleetFooter()

    def on_mount(self) -> None:
        body = self.query_one("#help-body")
        body.border_title = "fleettui help"
        body.border_subtitle = "esc closes"
        for box, title in (("keys", "Keys"), ("filter", "Filter (/)"), ("commands", "Commands (:)"),
                           ("settings", "Effective settings")):
            self.query_one(f"#help-{box}").border_title = title
        self.query_one("#help-left").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        # side by side each column scrolls; stacked (narrow) the whole body does
        for body in (self.query_one("#help-body"), *self.query(VerticalScroll)):
            body.scroll_down() if direction == "down" else body.scroll_up()

    def _c(self, name: str) -> str:
        return rich_color(self.app, name)

    def _grid(self) -> Table:
        t = Table.grid(padding=(0, 2))
        t.add_column(style=f"bold {self._c('text-accent')}", no_wrap=True)
        t.add_column()
        return t

    def _keys(self) -> Table:
        t = Table.grid(padding=(0, 2))
        t.add_column(style=f"bold {self._c('text-accent')}", no_wrap=True)
        t.add_column(no_wrap=True)
        t.add_column(style=self._c("text-muted"), ratio=1)
        for where, b, note in self.bindings:
            keys = " ".join(dict.fromkeys(self.app.get_key_display(Binding(k.strip(), b.action, b.description))
                                          for k in b.key.split(",") if not k.strip().startswith("shift+")))
            desc = Text(b.description)
            if note:
                desc.append(f"  ({note})", style=self._c("text-warning"))
            t.add_row(keys, desc, b.tooltip or "")
        return t

    def _filter(self) -> Table:
        t = self._grid()
        for k, v in FILTER_HELP:
            t.add_row(k, v)
        return t

    def _commands(self) -> Table:
        from fleettui.ui.screens.main import COMMANDS

        t = self._grid()
        for k, v in COMMANDS.items():
            t.add_row(f":{k}", v)
        return t

    def _settings(self) -> Table:
        app = self.app
        cfg = app.config
        d = cfg.defaults

        t = Table.grid(padding=(0, 2))
        t.add_column(style=self._c("text-muted"), no_wrap=True)
        t.add_column(overflow="fold")
        rows: list[tuple[str, object]] = [
            ("config file", str(cfg.path) if cfg.path else "(none)"),
            ("read-only", Text("yes: mutating keys are disabled", style=self._c("text-success")) if app.read_only
             else Text("no: R L W B ctrl+d act on AWS after a confirmation", style=self._c("text-warning"))),
            ("refresh", f"every {d.refresh_seconds:g}s" + ("" if app.polling else " (auto refresh off)")),
            ("profile", Text(app.ctx.profile_label + ("  PRODUCTION" if app.production else ""),
                             style=f"bold {self._c('text-error')}" if app.production else "")),
            ("production pattern", d.production_pattern),
            ("account", (app.snapshot.account if app.snapshot else None) or "unknown"),
            ("caller", (app.snapshot.caller_arn if app.snapshot else None) or "unknown"),
            ("regions", ", ".join(cfg.regions) or "none"),
            ("endpoint", app.endpoint_label),
            ("ages", f"warn after {_days(d.warn_age_s)}, replace after {_days(d.max_age_s)} (per-service overrides "
                     "apply)"),
            ("min healthy", f"{d.min_healthy_percent}% of capacity during actions"),
            ("services", ", ".join(f"{s.name} ({', '.join(s.regions)})" for s in cfg.services)),
            ("journal", app.ctx.store.journal.where),
        ]
        for k, v in rows:
            t.add_row(k, v if isinstance(v, Text) else Text(str(v)))
        return t
