"""`W`: choose a generation and its new traffic weight. ``+``/``-`` move it by 10, digits pick the service's
``shift_steps`` presets, the other generations keep their proportions (the planner's rule, previewed live).
Dismisses with (version, weight) or None."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from fleettui.actions.planning import PlanError, current_weights
from fleettui.actions.verbs.shift import weights_for_shift
from fleettui.domain.model import Service
from fleettui.format import printable
from fleettui.ui.dialogs.fit import FitsScreen
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.fleet_table import weight_text
from fleettui.ui.widgets.footer import FleetFooter


class WeightsDialog(FitsScreen, ModalScreen[tuple[str, int] | None]):
    BINDINGS = [
        Binding("up,k", "move(-1)", "Previous", show=False),
        Binding("down,j", "move(1)", "Next", show=False),
        Binding("plus,equals_sign,right,l", "adjust(10)", "+10%"),
        Binding("minus,left,h", "adjust(-10)", "-10%"),
        *[Binding(str(n), f"preset({n})", f"preset {n}", show=False) for n in range(10)],
        Binding("enter", "apply", "Plan"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, service: Service, steps: tuple[int, ...], selected: str | None = None) -> None:
        super().__init__(id="weights")
        self.service = service
        self.steps = steps
        self.versions = [g.version for g in service.generations if g.target_group_arns or g.weight is not None]
        self.current = current_weights(service)
        default = selected if selected in self.versions else (self._default_version())
        self.index = self.versions.index(default) if default in self.versions else 0
        self.weight = round(self.current.get(self.version, 0))      # whole percent steps from what AWS holds

    def _default_version(self) -> str | None:
        # the newest generation that is not live: usually the canary being rolled forward
        live = self.service.live
        for g in reversed(self.service.generations):
            if g.version in self.versions and (live is None or g.version != live.version):
                return g.version
        return self.versions[-1] if self.versions else None

    @property
    def version(self) -> str:
        return self.versions[self.index] if self.versions else ""

    def compose(self) -> ComposeResult:
        with Vertical(id="weights-box", classes="dialog"):
            yield Static(id="weights-table")
            yield Static("", id="weights-error", classes="error")
            presets = "  ".join(f"{n}={w}%" for n, w in enumerate(self.steps, 1))
            yield Label(f"↑↓ generation · +/- 10% · presets {presets}  0=0% · enter plans · esc cancels",
                        classes="hint")
        yield FleetFooter()

    def on_mount(self) -> None:
        self.query_one("#weights-box").border_title = Content(f"shift weights · {printable(self.service.name)}")
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _error(self, message: str | None) -> None:
        err = self.query_one("#weights-error", Static)
        err.update(Text(f"✗ {printable(message)}") if message else "")
        err.set_class(bool(message), "-shown")

    def preview(self) -> dict[str, int]:
        try:
            return weights_for_shift(self.service, self.version, self.weight)
        except PlanError as e:
            self._error(str(e))
            return dict(self.current)

    def _draw(self) -> None:
        c = lambda n: rich_color(self.app, n)  # noqa: E731
        narrow = self.app.size.width < 100      # 80 columns: shorter bars and counts, the percentages whole
        bar = 5 if narrow else 10
        after = self.preview()
        t = Table(box=None, show_edge=False, pad_edge=False, header_style=f"bold {c('text-muted')}")
        for col in ("", "generation", "hosts", "now", "", "after"):
            t.add_column(col, no_wrap=True)
        for n, v in enumerate(self.versions):
            g = self.service.generation(v)
            selected = n == self.index
            healthy = Text(f"{g.healthy}/{g.total}" + ("" if narrow else " healthy"),
                           style=c("text-success") if g.healthy == g.total and g.total else c("text-error"))
            label = Text(printable(v), style="bold")
            if g.labels:
                label.append(f" {', '.join(g.labels)}" if narrow else f"  {', '.join(g.labels)}",
                             style=c("text-muted"))
            now, later = self.current.get(v, 0), after.get(v, 0)
            t.add_row(Text("▶" if selected else " ", style=f"bold {c('text-accent')}"), label, healthy,
                      weight_text(now, bar, c("success"), c("text-muted")), Text("→", style=c("text-muted")),
                      weight_text(later, bar, c("text-accent") if later != now else c("success"), c("text-muted")),
                      style=f"on {c('block-cursor-blurred-background')}" if selected else None)
        self.query_one("#weights-table", Static).update(t)

    def action_move(self, delta: int) -> None:
        if not self.versions:
            return
        self.index = (self.index + delta) % len(self.versions)
        self.weight = round(self.current.get(self.version, 0))      # whole percent steps from what AWS holds
        self._error(None)
        self._draw()

    def action_adjust(self, delta: int) -> None:
        new = self.weight + delta
        if not 0 <= new <= 100:
            self._error(f"{self.version} is at {self.weight}%: weights go from 0 to 100")
            return
        self.weight = new
        self._error(None)
        self._draw()

    def action_preset(self, n: int) -> None:
        if n == 0:
            self.weight = 0
        elif 1 <= n <= len(self.steps):
            self.weight = self.steps[n - 1]
        else:
            self._error(f"no preset {n}: presets are 1-{len(self.steps)} "
                        f"({', '.join(f'{w}%' for w in self.steps)}) and 0")
            return
        self._error(None)
        self._draw()

    def action_apply(self) -> None:
        if not self.versions:
            self.dismiss(None)
            return
        if self.weight == self.current.get(self.version, 0):
            self._error(f"{self.version} is already at {self.weight}%: change it with +/- or a preset first")
            return
        self.dismiss((self.version, self.weight))

    def action_cancel(self) -> None:
        self.dismiss(None)
