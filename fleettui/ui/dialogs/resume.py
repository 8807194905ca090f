"""At start-up: plans the journal says did not finish (crash, Ctrl-C, network loss). Resume, abandon, or later.
Dismisses with ("resume" | "abandon", record) or None."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from fleettui.format import printable, printable_time
from fleettui.ui.dialogs.fit import FitsScreen
from fleettui.ui.dialogs.plan_view import plan_renderable
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter


class ResumeDialog(FitsScreen, ModalScreen[tuple[str, object] | None]):
    BINDINGS = [
        Binding("escape,n", "later", "Later"),
        Binding("pagedown", "scroll_plan(1)", "Scroll plan", show=False),
        Binding("pageup", "scroll_plan(-1)", "Scroll plan", show=False),
    ]
    FIT_SCROLL = "#resume-plan"

    def __init__(self, records: list) -> None:
        super().__init__(id="resume")
        self.records = sorted(records, key=lambda r: r.created, reverse=True)

    @property
    def record(self):
        return self.records[0]

    def compose(self) -> ComposeResult:
        rec = self.record
        c = lambda n: rich_color(self.app, n)  # noqa: E731
        others = len(self.records) - 1
        with Vertical(id="resume-box", classes="dialog"):
            with VerticalScroll(id="resume-plan", can_focus=False):
                yield Static(id="resume-body", content=Group(
                    Text.assemble(("A plan did not finish", f"bold {c('text-warning')}"),
                                  f" (started {printable_time(rec.created)} by {printable(rec.who)}"
                                  + (f", reason: {printable(rec.reason)}" if rec.reason else "") + ")"),
                    Text(printable(f"done: {', '.join(sorted(rec.done)) or 'nothing'} · to do: {', '.join(rec.remaining)}"
                                   + (f" · last error: {next(iter(rec.failed.values()))}" if rec.failed else "")),
                         style=c("text-muted")),
                    plan_renderable(rec.plan, c),
                    Text(f"{others} older unfinished plan(s): see :audit" if others else ""),
                ))
            with Horizontal(classes="buttons"):
                yield Button("Later", id="later")
                yield Button("Abandon", id="abandon", variant="warning")
                yield Button("Resume", id="resume", variant="error")
            yield Label("re-running a step is safe · esc: later", classes="hint")
        yield FleetFooter()

    def on_mount(self) -> None:
        self.query_one("#resume-box").border_title = "unfinished plan"
        self.query_one("#later", Button).focus()
        self.fit()

    def action_scroll_plan(self, direction: int) -> None:
        plan = self.query_one("#resume-plan", VerticalScroll)
        plan.scroll_page_down() if direction > 0 else plan.scroll_page_up()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "later":
            self.dismiss(None)
        else:
            self.dismiss((event.button.id, self.record))

    def action_later(self) -> None:
        self.dismiss(None)
