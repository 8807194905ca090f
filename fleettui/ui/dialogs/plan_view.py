"""A plan as Rich renderables: summary, weights before → after, capacity, steps, warnings, refusal."""
from __future__ import annotations

from typing import Callable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from fleettui.domain.plan import Plan
from fleettui.format import format_weight, printable


def plan_renderable(plan: Plan, c: Callable[[str], str], *, steps: bool = True) -> RenderableType:
    """``c`` maps a theme variable name ("text-error") to a Rich colour."""
    muted = c("text-muted")
    parts: list[RenderableType] = [
        Text.assemble((printable(plan.summary), "bold"), "\n", ("plan ", muted), (printable(plan.id), muted)),
    ]
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style=muted, no_wrap=True)
    facts.add_column()
    if plan.weights_before or plan.weights_after:
        versions = list(dict.fromkeys([*plan.weights_before, *plan.weights_after]))
        w = Text()
        for n, v in enumerate(versions):
            before, after = plan.weights_before.get(v), plan.weights_after.get(v)
            if n:
                w.append("   ")
            w.append(f"{printable(v)} ", "bold")
            w.append(format_weight(before))
            w.append(" → ", muted)
            changed = before != after
            w.append(format_weight(after), f"bold {c('text-accent')}" if changed else "")
        facts.add_row("weights", w)
    cap = Text(f"{plan.capacity_before}% now, lowest {plan.capacity_min}% during the plan")
    if plan.capacity_min < plan.capacity_before:
        cap.stylize(c("text-warning"))
    facts.add_row("capacity", cap)
    if plan.hosts_affected:
        facts.add_row("terminates", Text(f"{len(plan.hosts_affected)} host(s): " + printable(", ".join(plan.hosts_affected[:6]))
                                         + (" …" if len(plan.hosts_affected) > 6 else ""), style=c("text-warning")))
    parts.append(facts)
    if steps:
        t = Table(box=None, show_edge=False, pad_edge=False, header_style=f"bold {muted}", expand=False)
        t.add_column("step", style=muted, no_wrap=True)
        t.add_column("region", style=muted, no_wrap=True)
        t.add_column("what", overflow="fold")
        for s in plan.steps:
            t.add_row(Text(printable(s.id)), Text(printable(s.region)), Text(printable(s.description)))
        if not plan.steps:
            t.add_row("—", "", Text("no steps: nothing to do", style=muted))
        parts.append(t)
    for w in plan.warnings:
        parts.append(Text(f"! {printable(w)}", style=c("text-warning")))
    if plan.refusal:
        parts.append(Text.assemble(("REFUSED: ", f"bold {c('text-error')}"), (printable(plan.refusal), c("text-error"))))
    return Group(*parts)
