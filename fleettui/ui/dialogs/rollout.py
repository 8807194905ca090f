"""`O`: roll the generation under the cursor out. Asks what the CLI's ``--steps`` and ``--bake`` ask (defaults:
the service's rollout_steps and bake) and says what each step does. Dismisses with (steps, bake seconds) or None."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from fleettui.config import ServiceConfig
from fleettui.config.durations import parse_duration
from fleettui.domain.model import Service
from fleettui.format import printable
from fleettui.ui.dialogs.fit import FormDialog
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter
from fleettui.ui.widgets.prompt import KeyInput


def seconds_words(s: float) -> str:
    for unit, n in (("h", 3600), ("m", 60)):
        if s >= n and s % n == 0:
            return f"{s / n:g}{unit}"
    return f"{s:g}s"


class RolloutDialog(FormDialog, ModalScreen[tuple[tuple[int, ...], float] | None]):
    ERROR = "rollout-error"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, svc: Service, cfg: ServiceConfig, version: str) -> None:
        super().__init__(id="rollout")
        self.svc, self.cfg, self.version = svc, cfg, version

    def compose(self) -> ComposeResult:
        with Vertical(id="rollout-box", classes="dialog"):
            yield Static(self._facts(), id="rollout-facts")
            with Horizontal(classes="field"):
                yield Label("steps (%)", classes="field-label")
                yield KeyInput(",".join(map(str, self.cfg.rollout_steps)), id="steps", restrict=r"[\d, ]*")
            with Horizontal(classes="field"):
                yield Label("bake at each", classes="field-label")
                yield KeyInput(seconds_words(self.cfg.bake_s), id="bake")
            yield from self.form_end()
        yield FleetFooter()

    def _facts(self) -> Text:
        c = lambda n: rich_color(self.app, n)  # noqa: E731
        live = self.svc.live
        t = Text.assemble(("roll out ", c("text-muted")), (printable(self.version), "bold"))
        if live is not None:
            t.append(f" (live: {printable(live.version)})", style=c("text-muted"))
        t.append("\neach step: shift → bake → analysis (target health, alarms, canary vs live);\n"
                 "failing analysis: all traffic back to live · too little traffic: holds for you",
                 style=c("text-muted"))
        return t

    def on_mount(self) -> None:
        self.query_one("#rollout-box").border_title = f"rollout · {self.svc.name}"
        self.query_one("#steps", KeyInput).focus()
        self.fit()

    def action_plan(self) -> None:
        text = self.query_one("#steps", KeyInput).value
        try:
            steps = tuple(int(x) for x in text.replace(" ", "").split(",") if x)
        except ValueError:
            steps = ()
        if not steps or list(steps) != sorted(set(steps)) or steps[0] < 1 or steps[-1] != 100:
            self._error("steps: increasing percentages ending at 100, e.g. 10,25,50,100")
            return
        try:
            bake = parse_duration(self.query_one("#bake", KeyInput).value.strip())
        except ValueError:
            self._error('bake: a number and a unit s/m/h, e.g. "10m" or "30s"')
            return
        self.dismiss((steps, bake))

    def action_cancel(self) -> None:
        self.dismiss(None)
