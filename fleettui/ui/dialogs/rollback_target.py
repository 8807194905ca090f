"""`t` in the rollback plan: choose another target than the rollback rule's, from the candidates
(:func:`fleettui.actions.verbs.rollback.candidates`) with what decides it — healthy/total, age, image state and
the capacity it has for all of the traffic. Dismisses with the chosen version or None."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from fleettui.actions.verbs.rollback import Candidate
from fleettui.format import format_age, printable
from fleettui.ui.dialogs.fit import FitsScreen
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter


class RollbackTargetDialog(FitsScreen, ModalScreen[str | None]):
    BINDINGS = [
        Binding("up,k", "move(-1)", "Previous", show=False),
        Binding("down,j", "move(1)", "Next", show=False),
        Binding("enter", "choose", "Plan"),
        Binding("escape", "cancel", "Back"),
    ]

    def __init__(self, service: str, candidates: list[Candidate], selected: str | None = None) -> None:
        super().__init__(id="rollback-target")
        self.service = service
        self.candidates = candidates
        versions = [c.version for c in candidates]
        self.index = versions.index(selected) if selected in versions else 0

    def compose(self) -> ComposeResult:
        with Vertical(id="rollback-target-box", classes="dialog"):
            yield Static(id="rollback-target-table")
            yield Label("↑↓ choose · enter plans a rollback to it · esc back to the plan", classes="hint")
        yield FleetFooter()

    def on_mount(self) -> None:
        self.query_one("#rollback-target-box").border_title = Content(
            f"rollback target · {printable(self.service)}")
        self._draw()

    def _draw(self) -> None:
        c = lambda n: rich_color(self.app, n)  # noqa: E731
        t = Table(box=None, show_edge=False, pad_edge=False, header_style=f"bold {c('text-muted')}")
        for col in ("", "generation", "healthy", "age", "image", "capacity for 100%"):
            t.add_column(col, no_wrap=True)
        if not self.candidates:
            t.add_row("", Text("no generation can take the traffic", style=c("text-muted")))
        for n, cand in enumerate(self.candidates):
            selected = n == self.index
            label = Text(printable(cand.version), style="bold")
            if cand.default:
                label.append("  rollback target", style=c("text-success"))
            ok = cand.healthy == cand.total and cand.total
            t.add_row(Text("▶" if selected else " ", style=f"bold {c('text-accent')}"), label,
                      Text(f"{cand.healthy}/{cand.total}", style=c("text-success") if ok else c("text-error")),
                      Text(format_age(cand.oldest_age_days)),
                      Text(printable(cand.image), style="" if cand.image == "available" else c("text-warning")),
                      Text(f"{cand.capacity_percent}% of live", style="" if cand.capacity_percent >= 100
                           else c("text-warning")),
                      style=f"on {c('block-cursor-blurred-background')}" if selected else None)
        self.query_one("#rollback-target-table", Static).update(t)

    def action_move(self, delta: int) -> None:
        if self.candidates:
            self.index = (self.index + delta) % len(self.candidates)
            self._draw()

    def action_choose(self) -> None:
        self.dismiss(self.candidates[self.index].version if self.candidates else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
