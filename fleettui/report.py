"""Rich rendering of a Snapshot for the CLI (`fleettui status`). Every string from AWS or the config is shown
through :func:`printable` in a ``Text``, never as markup; ids are never shortened (a narrow terminal wraps the
line instead)."""
from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from fleettui.domain.model import Generation, Service, Snapshot
from fleettui.domain.signals import GenerationSignals, ServiceSignals, Signals, Verdict, millis, percent
from fleettui.format import format_age, format_weight, printable


def weight_bar(weight: int | None, width: int = 10) -> Text:
    if weight is None:
        return Text("no listener", style="dim")
    filled = round(width * weight / 100)
    return Text.assemble(("█" * filled, "green" if weight else "dim"), ("░" * (width - filled), "dim"),
                         f" {format_weight(weight):>4}")


def _labels(g: Generation) -> Text:
    styles = {"live": "bold green", "canary": "bold cyan", "rollback target": "bold yellow"}
    return Text(" ").join(Text(label, style=styles[label]) for label in g.labels)


def _signal_cells(gs: GenerationSignals | None, verdict: Verdict | None) -> list[Text]:
    if gs is None:
        return [Text("—", style="dim")] * 3
    bad = verdict is not None and verdict.worse
    rate = Text(percent(gs.error_rate) if gs.requests else f"cpu {gs.cpu_value:.0f}%" if gs.cpu_value is not None
                else "—", style="bold red" if bad else "")
    lat = Text(millis(gs.latency_value) if gs.latency else "—", style="bold red" if bad else "")
    word = {"worse": ("WORSE", "bold red"), "ok": ("ok", "green"), "insufficient": ("too little traffic", "dim")}
    v = Text(*word[verdict.state]) if verdict else Text("")
    return [rate, lat, v]


def service_table(s: Service, width: int = 160, signals: ServiceSignals | None = None) -> Table:
    rb = s.rollback
    title = Text.assemble((printable(s.name), "bold"), f"  ({printable(', '.join(s.regions))})  rollback: ",
                          (printable(rb.reason), "green") if rb.ready else ("not ready: " + printable(rb.reason), "yellow"))
    t = Table(title=title, title_justify="left", expand=False, show_edge=False, pad_edge=False)
    wide = width >= 120   # narrow terminals drop the image columns rather than wrap every cell
    stat = next((gs.latency_stat for gs in (signals.generations.values() if signals else ())), "latency")
    cols = [("generation", {}), ("image", {}), ("created", {}), ("weight", {}), ("role", {}),
            ("healthy", {"justify": "right"}), ("age", {"justify": "right"}),
            ("drift", {"justify": "right"}), ("aged", {"justify": "right"})]
    if signals is not None and signals.generations and width >= 100:
        cols += [("5xx", {"justify": "right"}), (stat, {"justify": "right"}), ("verdict", {})]
    ids = {"generation": max((len(printable(g.version)) for g in s.generations), default=0),
           "image": max((len(g.image.id) + (11 if g.image.deprecated else 0) for g in s.generations), default=0)}
    for col, kw in cols:
        if col in ids:
            kw = {**kw, "min_width": ids[col]}   # ids and versions are never cut with an ellipsis
        if wide or col not in ("image", "created"):
            t.add_column(col, no_wrap=True, **kw)
    for g in s.generations:
        created = g.image.created.date().isoformat() if g.image.created else "—"
        health_style = "red" if g.healthy < g.total else ""
        age = f"{format_age(g.newest_age_days)}–{format_age(g.oldest_age_days)}"
        errors = sum(1 for i in g.instances if i.age_level == "error")
        aged = Text(str(g.age_count), style="red" if errors else ("yellow" if g.age_count else "dim"))
        drift = Text(str(g.drift_count), style="magenta" if g.drift_count else "dim")
        image = Text(printable(g.image.id), style="" if g.image.reproducible else "red")
        if g.image.deprecated:
            image.append(" deprecated", style="yellow")
        weight = weight_bar(g.weight)
        if g.other_traffic:
            weight.append(f" +{len(g.other_traffic)} rule{'s' if len(g.other_traffic) > 1 else ''}", style="cyan")
        cells = [Text(printable(g.version), style="bold"), image, created, weight, _labels(g),
                 Text(f"{g.healthy}/{g.total}", style=health_style), age, drift, aged]
        if len(cols) > 9:
            cells += _signal_cells(signals.generations.get(g.version), signals.verdicts.get(g.version))
        t.add_row(*(cells if wide else cells[:1] + cells[3:]))
    return t


def render_snapshot(snap: Snapshot, console: Console, signals: Signals | None = None) -> None:
    who = snap.caller_arn or "unknown caller"
    console.print(Text.assemble(("fleettui status", "bold"), f"  profile {printable(snap.profile or 'default')}  ",
                                f"account {printable(snap.account or '?')}  ",
                                f"regions {printable(', '.join(snap.regions))}  ", (printable(who), "dim")))
    parts = []
    if signals is not None and signals.error:
        parts.append(Text(f"! {printable(signals.error)}", style="yellow"))
    for s in snap.services:
        ss = signals.service(s.name) if signals is not None else None
        parts.append(service_table(s, console.width, ss))
        for v in ss.worse if ss else ():
            parts.append(Text(f"  ✗ {printable(v.reason)}: consider `fleettui rollback {printable(s.name)}`",
                              style="bold red"))
        for a in ss.firing if ss else ():
            parts.append(Text(f"  ALARM {printable(a.name)}: {printable(a.reason)}", style="bold red"))
        for w in s.warnings:
            parts.append(Text(f"  ! {printable(w)}", style="yellow"))
        parts.append(Text(""))
    console.print(Group(*parts), crop=False)
    total = snap.instance_count
    drifted = sum(1 for s in snap.services for i in s.instances if i.drifted)
    aged = sum(1 for s in snap.services for i in s.instances if i.age_level)
    console.print(Text(f"{total} instances in {len(snap.services)} services: {drifted} drifted, {aged} past an age limit"))
