"""`:audit`: the action journal (who did what, why, how it ended), newest first."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from fleettui.format import printable, printable_time
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter
from fleettui.ui.widgets.header import FleetHeader


NARROW = 110          # below this many columns, two lines per plan instead of the table


class AuditScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, records: list, journal_path: str, error: str | None = None) -> None:
        super().__init__(id="audit")
        self.records = records
        self.journal_path = journal_path
        self.error = error

    def compose(self) -> ComposeResult:
        yield FleetHeader()
        with VerticalScroll(id="audit-body"):
            yield Static(self._table(), id="audit-table")
        yield FleetFooter()

    def on_mount(self) -> None:
        body = self.query_one("#audit-body")
        body.border_title = Content(f"Journal · {printable(self.journal_path)}")
        body.focus()

    def action_back(self) -> None:
        self.dismiss()

    def on_resize(self) -> None:
        self.query_one("#audit-table", Static).update(self._table())

    def _c(self, name: str) -> str:
        return rich_color(self.app, name)

    def _table(self):
        if self.error and not self.records:
            return Text(f"cannot read the journal: {printable(self.error)}", style=self._c("text-error"))
        if not self.records:
            where = "by anyone of the team" if self.journal_path.startswith("team table") else "from this machine"
            return Text(f"The journal is empty: no action has been run {where} yet.", style=self._c("text-muted"))
        colors = {"succeeded": "text-success", "failed": "text-error", "running": "text-warning",
                  "abandoned": "text-muted"}
        records = sorted(self.records, key=lambda r: r.created, reverse=True)
        # every cell a Text: reasons, errors and versions are data, never markup
        if self.app.size.width < NARROW:
            body = Group(*(self._lines(r, colors) for r in records))
        else:
            body = Table(expand=True, box=None, header_style=f"bold {self._c('text-muted')}", pad_edge=False)
            for col in ("created", "plan", "verb", "service", "status", "steps", "who", "reason"):
                body.add_column(col, overflow="fold", no_wrap=col in ("created", "plan", "status"))
            for r in records:
                status = Text(printable(r.status), style=self._c(colors.get(r.status, "text")))
                if r.failed:
                    status.append(f"\n{printable(next(iter(r.failed.values())))}", style=self._c("text-error"))
                body.add_row(*(Text(printable(v)) for v in (printable_time(r.created), r.plan.id, r.plan.verb,
                                                            r.plan.service)), status,
                             Text(f"{len(r.done)}/{len(r.plan.steps)}"), Text(printable(r.who)),
                             Text(printable(r.reason or "—")))
        if self.error:      # e.g. the team table could not be read: this machine's journal, and why
            return Group(Text(printable(self.error), style=self._c("text-warning")), body)
        return body

    def _lines(self, r, colors) -> Text:
        """One plan in two lines (a table's eight columns do not fit 80 columns): the plan id (it holds the date
        and time), verb, service, status, steps; then who and why, and the error of a failed plan."""
        text = Text.assemble((printable(r.plan.id), "bold"), f"  {printable(r.plan.verb)} {printable(r.plan.service)}  ",
                             (printable(r.status), self._c(colors.get(r.status, "text"))),
                             f" {len(r.done)}/{len(r.plan.steps)}\n  {printable(r.who)}: {printable(r.reason or '—')}")
        if r.failed:
            text.append(f"\n  {printable(next(iter(r.failed.values())))}", style=self._c("text-error"))
        return text
