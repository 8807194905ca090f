"""Enter on a host: every finding with expected vs actual, its target health (state and AWS's reason) and CPU
trend read when the screen opens, tags, image, launch template, ASG, target groups, console output."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from fleettui.domain.model import Generation, Image, Instance, Service
from fleettui.domain.signals import sparkline, window_words
from fleettui.format import format_age, printable
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter
from fleettui.ui.widgets.header import FleetHeader


def console_url(inst: Instance) -> str:
    """The instance in the AWS console."""
    r = inst.region
    return f"https://{r}.console.aws.amazon.com/ec2/home?region={r}#InstanceDetails:instanceId={inst.id}"


def _date(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "unknown"


def _kv(rows: list[tuple[str, object]], key_style: str) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style=key_style, no_wrap=True)
    t.add_column(overflow="fold")
    for k, v in rows:
        # keys and values are tags and fields from AWS: plain text, never markup
        t.add_row(Text(printable(k)), v if isinstance(v, Text) else Text(printable(v) if v not in (None, "") else "—"))
    return t


def cpu_text(points, period_s: float, accent: str, muted: str) -> Text:
    """The sparkline of ``points`` with the latest, lowest and highest value."""
    present = [v for v in points if v is not None]
    if not present:
        return Text("no CPUUtilization datapoints in the window (detailed monitoring off, or the host is new)",
                    style=muted)
    latest = next(v for v in reversed(points) if v is not None)
    return Text.assemble((sparkline(points), accent), "\n",
                         f"now {latest:.1f}%", ("  min ", muted), f"{min(present):.1f}%", ("  max ", muted),
                         f"{max(present):.1f}%", "\n", (f"Average per {window_words(period_s)}", muted))


class HostDetailScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("j,down", "scroll('down')", "Scroll", show=False),
        Binding("k,up", "scroll('up')", "Scroll", show=False),
        Binding("c", "copy_id", "Copy id", tooltip="Copy the instance id to the clipboard (OSC 52)"),
    ]
    CONSOLE_LINES = 20

    def __init__(self, inst: Instance, gen: Generation, service: Service | None) -> None:
        super().__init__(id="detail")
        self.inst = inst
        self.gen = gen
        self.service = service

    def compose(self) -> ComposeResult:
        yield FleetHeader()
        with VerticalScroll(id="detail-body"):
            yield Static(self._title(), id="detail-title")
            yield Static(self._findings(), id="detail-findings", classes="box")
            with Horizontal(classes="detail-row"):
                yield Static(Text("reading target health…", style="dim"), id="detail-health", classes="box")
                yield Static(Text("reading CPUUtilization…", style="dim"), id="detail-cpu", classes="box")
            with Horizontal(classes="detail-row"):
                yield Static(self._instance(), id="detail-instance", classes="box")
                yield Static(self._image(), id="detail-image", classes="box")
            with Horizontal(classes="detail-row"):
                yield Static(self._template(), id="detail-template", classes="box")
                yield Static(self._tags(), id="detail-tags", classes="box")
            yield Static(Text("reading the console output…", style="dim"), id="detail-console", classes="box")
        yield FleetFooter()

    def on_mount(self) -> None:
        self.query_one(FleetHeader).set_class(self.app.production, "production")
        for box, title in (("findings", f"Findings ({len(self.inst.findings)})"), ("instance", "Instance"),
                           ("health", "Target health (now)"),
                           ("cpu", f"CPU · last {window_words(self.app.config.defaults.signals_window_s)}"),
                           ("image", "Image"), ("template", "Launch template · ASG · target groups"),
                           ("tags", f"Tags ({len(self.inst.tags)})"),
                           ("console", f"Console output (last {self.CONSOLE_LINES} lines) · {console_url(self.inst)}")):
            self.query_one(f"#detail-{box}").border_title = title
        self.query_one("#detail-body").focus()
        self.run_worker(self._console(), name="console", exit_on_error=False)
        self.run_worker(self._health(), name="health", exit_on_error=False)
        self.run_worker(self._cpu(), name="cpu", exit_on_error=False)

    def _target_groups(self) -> tuple[str, ...]:
        """The groups the host was in at the refresh, else its generation's (where it should be)."""
        return tuple(self.inst.target_groups) or tuple(self.gen.target_group_arns)

    async def _health(self) -> None:
        """DescribeTargetHealth for this host in each of its target groups: the state and, when it is not
        healthy, AWS's reason (e.g. Target.FailedHealthChecks) and description."""
        from fleettui.errors import FleetError

        box = self.query_one("#detail-health", Static)
        arns = self._target_groups()
        if not arns:
            box.update(Text(f"in no target group: no load balancer health (state {printable(self.inst.health)})",
                            style=self._c("text-muted")))
            return
        if self.app.gateway is None:
            box.update(Text("no AWS connection yet", style="dim"))
            return
        t = Table.grid(padding=(0, 2))
        t.add_column(style=self._c("text-muted"), no_wrap=True)
        t.add_column(overflow="fold")
        for arn in arns:
            name = arn.split(":")[-1].split("/")[1] if "/" in arn else arn
            try:
                th = await self.app.health_fetch(self.app.gateway, self.inst.region, arn, self.inst.id)
            except FleetError as e:
                t.add_row(Text(printable(name)), Text(f"unavailable: {printable(e)}", style=self._c("text-warning")))
                continue
            if th is None:
                t.add_row(Text(printable(name)), Text("not listed by the target group", style=self._c("text-error")))
                continue
            state = th.get("State") or "?"
            line = Text(printable(state), style=f"bold {self._c('text-success' if state == 'healthy' else 'text-error')}")
            if th.get("Reason"):
                line.append(f"  {printable(th['Reason'])}", style=self._c("text-error"))
            if th.get("Description"):
                line.append(f"\n{printable(th['Description'])}")
            if state == "healthy" and not th.get("Reason"):
                line.append("  (AWS gives a reason only when it is not healthy)", style=self._c("text-muted"))
            t.add_row(Text(printable(name)), line)
        box.update(t)

    async def _cpu(self) -> None:
        """CPUUtilization of this host (Average per signals period) over the signals window, as a sparkline."""
        from fleettui.errors import FleetError

        box = self.query_one("#detail-cpu", Static)
        if self.app.gateway is None:
            box.update(Text("no AWS connection yet", style="dim"))
            return
        try:
            points = await self.app.cpu_fetch(self.app.gateway, self.inst.region, self.inst.id)
        except FleetError as e:
            box.update(Text(f"CPU unavailable: {printable(e)}", style=self._c("text-warning")))
            return
        box.update(cpu_text(points, self.app.config.defaults.signals_period_s, self._c("text-accent"),
                            self._c("text-muted")))

    async def _console(self) -> None:
        """GetConsoleOutput, decoded: how an operator looks at one host without SSH."""
        from fleettui.errors import FleetError

        box = self.query_one("#detail-console", Static)
        if self.app.gateway is None:
            box.update(Text("no AWS connection yet", style="dim"))
            return
        try:
            text = await self.app.console_fetch(self.app.gateway, self.inst.region, self.inst.id)
        except FleetError as e:
            box.update(Text(f"console output unavailable: {printable(e)}", style=self._c("text-warning")))
            return
        lines = [printable(line) for line in text.splitlines()][-self.CONSOLE_LINES:]
        box.update(Text("\n".join(lines) if lines else "(empty: the instance has written nothing yet)"))

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(self.inst.id)
        self.notify(f"copied {self.inst.id}", timeout=3)

    def action_back(self) -> None:
        self.dismiss()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()

    # ------------------------------------------------------------------------------------------ content
    def _c(self, name: str) -> str:
        return rich_color(self.app, name)

    def _title(self) -> Text:
        i, g = self.inst, self.gen
        t = Text.assemble((printable(i.id), "bold"), "  ", (printable(i.name or "(no Name tag)"), self._c("text-muted")))
        if i.drifted:
            t.append("  drifted", f"bold {self._c('drift')}")
        if i.age_level:
            t.append(f"  {'over max_age' if i.age_level == 'error' else 'past warn_age'}",
                     f"bold {self._c('text-error' if i.age_level == 'error' else 'text-warning')}")
        t.append("\n")
        t.append(f"{printable(g.service)} · generation {printable(g.version)}")
        if g.labels:
            t.append(f" ({', '.join(g.labels)})", self._c("text-success"))
        t.append(f" · {i.region} / {i.az}")
        return t

    def _findings(self) -> Table | Text:
        if not self.inst.findings:
            return Text("No findings: this host matches its launch template and is within its age limits.",
                        style=self._c("text-success"))
        t = Table(expand=True, box=None, header_style=f"bold {self._c('text-muted')}", pad_edge=False)
        t.add_column("kind", no_wrap=True)
        t.add_column("severity", no_wrap=True)
        t.add_column("expected", overflow="fold", ratio=1)      # every wrapping column shares the width: at 80
        t.add_column("actual", overflow="fold", ratio=1)        # columns the last one no longer gets one letter
        t.add_column("what it means", overflow="fold", ratio=2)
        for f in self.inst.findings:
            color = self._c("text-error") if f.severity == "error" else self._c("text-warning")
            kind_color = self._c("drift") if f.is_drift else color
            t.add_row(Text(printable(f.kind), style=kind_color), Text(f.severity, style=color),
                      Text(printable(f.expected or "—"), style=self._c("text-success")),
                      Text(printable(f.actual or "—"), style=color), Text(printable(f.message)))
        return t

    def _instance(self) -> Table:
        i = self.inst
        health_color = self._c("text-success") if i.is_healthy else self._c("text-error")
        age_color = {"error": self._c("text-error"), "warn": self._c("text-warning")}.get(i.age_level or "", "")
        return _kv([
            ("id", i.id), ("Name", i.name),
            ("state", Text(i.state, style="" if i.state == "running" else self._c("text-error"))),
            ("target health", Text(i.health, style=health_color)),
            ("type", i.type), ("region / az", f"{i.region} / {i.az}"),
            ("launched", Text(f"{_date(i.launch_time)}  ({format_age(i.age_days)} ago)", style=age_color)),
            ("private ip", i.private_ip), ("subnet", i.subnet_id),
            ("security groups", ", ".join(sorted(i.security_group_ids))),
            ("iam profile", i.iam_instance_profile),
        ], self._c("text-muted"))

    def _host_image(self) -> Image | None:
        if self.inst.image_id == self.gen.image.id:
            return self.gen.image
        for g in (self.service.generations if self.service else ()):
            if g.image.id == self.inst.image_id:
                return g.image
        return None

    def _image(self) -> Group | Table:
        img = self._host_image()
        if img is None:
            return Group(_kv([("id", self.inst.image_id)], self._c("text-muted")),
                         Text(f"not the image of any generation (the generation runs {printable(self.gen.image.id)})",
                              style=self._c("drift")))
        state_color = self._c("text-success") if img.reproducible else self._c("text-error")
        dep = "no"
        if img.deprecated:
            dep = Text(f"yes, since {_date(img.deprecation_time)}", style=self._c("text-warning"))
        elif img.deprecation_time:
            dep = f"scheduled {_date(img.deprecation_time)}"
        table = _kv([("id", img.id), ("name", img.name), ("version", img.version), ("created", _date(img.created)),
                     ("state", Text(img.state, style=state_color)), ("deprecated", dep)], self._c("text-muted"))
        if img.id != self.gen.image.id:
            return Group(table, Text(f"differs from the generation's image {printable(self.gen.image.id)}",
                                     style=self._c("drift")))
        return table

    def _template(self) -> Table:
        i = self.inst
        lt = i.launch_template_id or "not launched from a launch template"
        version = f"v{i.launch_template_version}" if i.launch_template_version else "—"
        expected = (f"v{i.expected_launch_template_version}" if i.expected_launch_template_version is not None
                    else "—")
        vcolor = "" if version == expected else self._c("drift")
        groups = Text(printable("\n".join(a.split(":")[-1] for a in i.target_groups))) if i.target_groups else "—"
        return _kv([("launch template", lt), ("version", Text(version, style=vcolor)),
                    ("generation expects", expected), ("auto scaling group", i.asg or "—"),
                    ("target groups", groups)], self._c("text-muted"))

    def _tags(self) -> Table:
        rows = [(k, v) for k, v in sorted(self.inst.tags.items())]
        return _kv(rows or [("(none)", "")], self._c("text-muted"))
