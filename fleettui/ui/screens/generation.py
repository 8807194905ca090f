"""Enter on a generation header: the generation (image, launch template version, target groups, listener
weights), its golden signals beside live's (larger sparklines), its weights history from the journal, and its
hosts. One column of boxes: readable at 80 columns."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from fleettui.domain.model import Generation, Service
from fleettui.domain.signals import millis, percent, sparkline
from fleettui.format import format_age, format_weight, printable, printable_time
from fleettui.ui.screens.detail import _date, _kv
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.fleet_table import latency_label, weight_text
from fleettui.ui.widgets.footer import FleetFooter
from fleettui.ui.widgets.header import FleetHeader


def weight_history(records: list, service: str, version: str) -> list:
    """Plans of ``service`` whose weights before or after name ``version``, oldest first."""
    return sorted((r for r in records if r.plan.service == service
                   and (version in r.plan.weights_before or version in r.plan.weights_after)),
                  key=lambda r: r.created)


class GenerationScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("j,down", "scroll('down')", "Scroll", show=False),
        Binding("k,up", "scroll('up')", "Scroll", show=False),
    ]

    def __init__(self, service: Service, gen: Generation, records: list) -> None:
        super().__init__(id="generation")
        self.service = service
        self.gen = gen
        self.history = weight_history(records, service.name, gen.version)

    def compose(self) -> ComposeResult:
        yield FleetHeader()
        with VerticalScroll(id="generation-body"):
            yield Static(self._title(), id="generation-title")
            yield Static(self._signals(), id="generation-signals", classes="box")
            yield Static(self._facts(), id="generation-facts", classes="box")
            yield Static(self._weights(), id="generation-weights", classes="box")
            yield Static(self._history(), id="generation-history", classes="box")
            yield Static(self._hosts(), id="generation-hosts", classes="box")
        yield FleetFooter()

    def on_mount(self) -> None:
        self.query_one(FleetHeader).set_class(self.app.production, "production")
        for box, title in (("signals", "Signals over the window, beside live's"), ("facts", "Image · launch template · target groups"), ("weights", "Listener weights now"),
                           ("history", f"Weights history ({len(self.history)} plan(s) in the journal)"),
                           ("hosts", f"Hosts ({self.gen.total})")):
            self.query_one(f"#generation-{box}").border_title = title
        self.query_one("#generation-body").focus()

    def action_back(self) -> None:
        self.dismiss()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#generation-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()

    def _c(self, name: str) -> str:
        return rich_color(self.app, name)

    def _title(self) -> Text:
        g = self.gen
        t = Text.assemble((f"{g.service} · generation ", self._c("text-muted")), (g.version, "bold"))
        if g.labels:
            t.append(f"  {', '.join(g.labels)}", f"bold {self._c('text-success')}")
        t.append(f"\n{g.healthy}/{g.total} healthy · {g.drift_count} drifted · age "
                 f"{format_age(g.newest_age_days)}–{format_age(g.oldest_age_days)}", self._c("text-muted"))
        return t

    def _signals(self) -> Table | Text | Group:
        signals = self.app.state.signals
        ss = self.app.state.service_signals(self.service.name)
        mine = ss.generations.get(self.gen.version) if ss is not None else None
        if mine is None:
            why = (signals.error if signals is not None and signals.error
                   else "no signals yet" if signals is None else "no signals for this generation")
            return Text(printable(why), style=self._c("text-muted"))
        live_gen = self.service.live
        live = (ss.generations.get(live_gen.version) if live_gen is not None and live_gen.version != self.gen.version
                else None)
        muted, bad = self._c("text-muted"), f"bold {self._c('text-error')}"
        verdict = ss.verdicts.get(self.gen.version)
        worse = verdict is not None and verdict.worse

        def cell(gs, values, fmt, hot: bool) -> Text:
            if gs is None:
                return Text("")
            return Text.assemble((f"{fmt(gs):>9} ", bad if hot else ""), (sparkline(values(gs), 20), bad if hot else muted))

        rows = []
        if mine.requests:
            rows = [("req/s", lambda g: g.requests, lambda g: f"{g.requests_per_s or 0:.1f}", False),
                    ("5xx", lambda g: g.error_rates, lambda g: percent(g.error_rate), worse),
                    (latency_label(mine.latency_stat), lambda g: g.latency, lambda g: millis(g.latency_value), worse)]
        elif mine.cpu:
            rows = [("cpu", lambda g: g.cpu, lambda g: "—" if g.cpu_value is None else f"{g.cpu_value:.0f}%", False)]
        t = Table.grid(padding=(0, 2))
        t.add_column(no_wrap=True, style=muted)
        t.add_column(no_wrap=True)
        t.add_column(no_wrap=True)
        t.add_row("", Text(printable(self.gen.version), style="bold"),
                  Text(f"{printable(live.version)} (live)", style="bold") if live is not None else "")
        for label, values, fmt, hot in rows:
            t.add_row(label, cell(mine, values, fmt, hot), cell(live, values, fmt, False))
        if verdict is None:
            return t
        return Group(t, Text(("✗ " if worse else "") + printable(verdict.reason), style=bad if worse else muted))

    def _facts(self) -> Table:
        g, img = self.gen, self.gen.image
        state = Text(img.state, style=self._c("text-success") if img.reproducible else self._c("text-error"))
        if img.deprecated:
            state.append(f"  deprecated since {_date(img.deprecation_time)}", self._c("text-warning"))
        tgs = Text("\n".join(a.split(":")[-1] for a in g.target_group_arns)) if g.target_group_arns else "—"
        return _kv([("image", img.id), ("name", img.name), ("created", _date(img.created)), ("state", state),
                    ("launch template", f"v{g.launch_template_version}" if g.launch_template_version is not None
                     else "—"),
                    ("target groups", tgs)], self._c("text-muted"))

    def _weights(self) -> Table | Text:
        gens = [x for x in self.service.generations if x.weight is not None]
        if not gens:
            return Text("no listener: this service takes no load balancer traffic", style=self._c("text-muted"))
        t = Table.grid(padding=(0, 2))
        t.add_column(no_wrap=True)
        t.add_column(no_wrap=True)
        for x in gens:
            style = f"bold {self._c('text-accent')}" if x.version == self.gen.version else ""
            t.add_row(Text(x.version, style=style),
                      weight_text(x.weight, 10, self._c("success"), self._c("text-muted")))
        return t

    def _history(self) -> Table | Text:
        if not self.history:
            return Text("no plan in the journal changed this generation's weight", style=self._c("text-muted"))
        v = self.gen.version
        t = Table(box=None, pad_edge=False, header_style=f"bold {self._c('text-muted')}", expand=True)
        t.add_column("when (UTC)", no_wrap=True)
        t.add_column("verb", no_wrap=True)
        t.add_column(Text(printable(v)), no_wrap=True)
        t.add_column("status", no_wrap=True)
        t.add_column("who · reason", overflow="fold", ratio=1)
        for r in self.history:
            before, after = r.plan.weights_before.get(v), r.plan.weights_after.get(v)
            change = f"{format_weight(before)} → {format_weight(after)}"      # as AWS holds them: 90%, 0.4%
            color = {"succeeded": "text-success", "failed": "text-error"}.get(r.status, "text-warning")
            t.add_row(Text(printable_time(r.created, 16)), Text(printable(r.plan.verb, 20)), Text(change),
                      Text(printable(r.status), style=self._c(color)),
                      Text(printable(f"{r.who.split('/')[-1]} · {r.reason or '—'}")))
        return t

    def _hosts(self) -> Table:
        t = Table(box=None, pad_edge=False, header_style=f"bold {self._c('text-muted')}", expand=True)
        for col in ("instance", "az", "state", "health", "age", "findings"):
            t.add_column(col, no_wrap=col != "findings", overflow="fold")
        for i in self.gen.instances:
            t.add_row(i.id, i.az, i.state, Text(i.health, style=self._c("text-success") if i.is_healthy
                                                 else self._c("text-error")),
                      format_age(i.age_days), ", ".join(f.kind for f in i.findings) or "—")
        return t
