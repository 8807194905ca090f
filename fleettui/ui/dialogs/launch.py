"""`L`: launch a new generation. Asks what the CLI's ``--lt-version`` and ``--count`` ask (defaults: the declared
launch template version, the live generation's size) and says what the journal knows: a generation of this
service that was decommissioned. Dismisses with (lt_version | None, count) or None."""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from fleettui.config import ServiceConfig
from fleettui.domain.model import Service
from fleettui.format import printable, printable_time
from fleettui.ui.dialogs.fit import FormDialog
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter
from fleettui.ui.widgets.prompt import KeyInput


@dataclass(frozen=True)
class LaunchDefaults:
    template: str
    declared: str                      # "$Default", "$Latest" or a number
    count: int
    decommissioned: tuple[tuple[str, str, str], ...] = ()     # (version, when, plan id), newest first


def launch_defaults(svc: Service, cfg: ServiceConfig, records: list) -> LaunchDefaults:
    live = svc.live or (svc.generations[-1] if svc.generations else None)
    gone = [(r.plan.generation or "?", printable_time(r.created, 16), r.plan.id)
            for r in sorted(records, key=lambda r: r.created, reverse=True)
            if r.plan.verb == "decommission" and r.plan.service == svc.name and r.status == "succeeded"]
    return LaunchDefaults(template=cfg.launch_template or "(no launch_template configured)",
                          declared=cfg.launch_template_version, count=live.total if live else 1,
                          decommissioned=tuple(gone[:3]))


def decommissioned_note(plan, defaults: LaunchDefaults) -> str | None:
    """For the confirmation: the generation the plan launches was decommissioned (the journal says when)."""
    new = [v for v in plan.weights_after if v not in plan.weights_before]
    for version, when, pid in defaults.decommissioned:
        if version in new or f"generation {version} " in plan.summary:
            return (f"! {printable(version, 100)} was decommissioned at {when} UTC (plan {printable(pid, 100)}): this "
                    "launches it again")
    return None


class LaunchDialog(FormDialog, ModalScreen[tuple[int | None, int] | None]):
    ERROR = "launch-error"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, svc: Service, defaults: LaunchDefaults) -> None:
        super().__init__(id="launch")
        self.svc = svc
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        d = self.defaults
        numeric = d.declared.isdigit()
        with Vertical(id="launch-box", classes="dialog"):
            yield Static(self._facts(), id="launch-facts")
            with Horizontal(classes="field"):
                yield Label("launch template version", classes="field-label")
                yield KeyInput(d.declared if numeric else "", placeholder=f"{d.declared} (declared)",
                               id="lt-version", restrict=r"\d*")
            with Horizontal(classes="field"):
                yield Label("hosts", classes="field-label")
                yield KeyInput(str(d.count), id="count", restrict=r"\d*")
            yield from self.form_end()
        yield FleetFooter()

    def _facts(self) -> Text:
        c = lambda n: rich_color(self.app, n)  # noqa: E731
        d = self.defaults
        live = self.svc.live
        t = Text.assemble(("from ", c("text-muted")), (d.template, "bold"),
                          (f" (declared version {d.declared})", c("text-muted")))
        if live is not None:
            t.append(f"\nlive: {live.version}, {live.total} host(s), launch template v"
                     f"{live.launch_template_version if live.launch_template_version is not None else '?'}",
                     style=c("text-muted"))
        for version, when, pid in d.decommissioned:
            t.append(f"\n! journal: {printable(version, 100)} was decommissioned at {when} UTC (plan "
                     f"{printable(pid, 100)})", style=c("text-warning"))
        return t

    def on_mount(self) -> None:
        self.query_one("#launch-box").border_title = f"launch a generation · {self.svc.name}"
        self.query_one("#lt-version", KeyInput).focus()
        self.fit()

    def action_plan(self) -> None:
        lt = self.query_one("#lt-version", KeyInput).value.strip()
        count = self.query_one("#count", KeyInput).value.strip()
        if lt and int(lt) < 1:
            self._error("launch template version: at least 1 (empty: the declared version)")
            return
        if not count or int(count) < 1:
            self._error("hosts: at least 1")
            return
        self.dismiss((int(lt) if lt else None, int(count)))

    def action_cancel(self) -> None:
        self.dismiss(None)
