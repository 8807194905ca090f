"""CLI verbs of the action layer: plan, replace, launch, shift, decommission, rollback, resume, audit.

Each verb: plan -> print -> (refused: exit 2) -> (--dry-run: EC2 DryRun, exit 0) -> confirm -> execute with
progress -> exit 0 done / 1 failed. The TUI calls the very same :class:`fleettui.actions.api.Actions`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from fleettui.errors import ConfigError, FleetError

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def _weight_pair(text: str) -> tuple[str, int]:
    version, sep, weight = text.rpartition("=")
    if not sep or not version or not weight.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not VERSION=WEIGHT (e.g. 1.6.0=50)")
    return version, int(weight)


def add_parsers(add) -> None:
    def verb(name: str, help: str) -> argparse.ArgumentParser:
        p = add(name, help)
        p.add_argument("--dry-run", action="store_true", help="show the plan (and EC2 DryRun checks); change nothing")
        p.add_argument("--json", action="store_true", help="print the plan (and outcome) as JSON")
        p.add_argument("--yes", "-y", action="store_true", help="do not prompt for confirmation")
        p.add_argument("--reason", default="", help="why (recorded in the journal)")
        p.set_defaults(handler=cmd_verb, verb=name)
        return p

    r = verb("replace", "replace hosts: launch fresh ones, then drain and terminate the old")
    r.add_argument("service")
    r.add_argument("instances", nargs="*", metavar="INSTANCE_ID")
    r.add_argument("--drifted", action="store_true", help="every host with a drift finding")
    r.add_argument("--aged", action="store_true", help="every host older than max_age")
    r.add_argument("--generation", metavar="VERSION", help="only hosts of this generation")

    la = verb("launch", "launch a new generation from a launch template version, at weight 0")
    la.add_argument("service")
    la.add_argument("--lt-version", type=int, metavar="N", help="launch template version (default: declared)")
    la.add_argument("--count", type=int, metavar="N", help="hosts (default: as many as the live generation)")

    sh = verb("shift", "shift listener traffic weights between generations")
    sh.add_argument("service")
    sh.add_argument("weights", nargs="*", type=_weight_pair, metavar="VERSION=WEIGHT",
                    help="explicit weights adding up to 100")
    sh.add_argument("--to", metavar="VERSION", help="give this generation --weight percent, the rest keeps "
                    "its proportions")
    sh.add_argument("--weight", type=int, metavar="PERCENT")

    de = verb("decommission", "drain, terminate and remove a generation that takes no traffic")
    de.add_argument("service")
    de.add_argument("version")

    rb = verb("rollback", "send all traffic to the rollback target (previous generation)")
    rb.add_argument("service")
    rb.add_argument("--ramp", type=_int_list, metavar="P1,P2,…", help="ramp in steps, e.g. 25,50,100")

    pl = add("plan", "show the plan of an action without running it (same as VERB … --dry-run)")
    pl.add_argument("rest", nargs=argparse.REMAINDER, metavar="VERB ARGS")
    pl.set_defaults(handler=cmd_plan)

    re_ = add("resume", "resume a plan left unfinished (crash, Ctrl-C, network loss)")
    re_.add_argument("plan_id", nargs="?", help="default: the most recent unfinished plan")
    re_.add_argument("--abandon", action="store_true", help="mark it abandoned instead of resuming")
    re_.add_argument("--yes", "-y", action="store_true")
    re_.add_argument("--json", action="store_true")
    re_.set_defaults(handler=cmd_resume)

    au = add("audit", "list the journal: who did what, when, why, and how it ended")
    au.add_argument("plan_id", nargs="?", help="show one plan's events")
    au.add_argument("--json", action="store_true")
    au.add_argument("--limit", type=int, default=50)
    au.set_defaults(handler=cmd_audit)


def intent_from_args(args):
    from fleettui.actions.api import Intent

    common = dict(verb=args.verb, service=args.service)
    if args.verb == "replace":
        if not (args.instances or args.drifted or args.aged):
            raise ConfigError("replace: name instance ids, or pass --drifted and/or --aged")
        return Intent(**common, hosts=tuple(args.instances), drifted=args.drifted, aged=args.aged,
                      version=args.generation)
    if args.verb == "launch":
        return Intent(**common, lt_version=args.lt_version, count=args.count)
    if args.verb == "shift":
        if args.weights and args.to:
            raise ConfigError("shift: give VERSION=WEIGHT pairs or --to/--weight, not both")
        if args.to and args.weight is None:
            raise ConfigError("shift: --to needs --weight PERCENT")
        return Intent(**common, weights=tuple(args.weights), version=args.to, weight=args.weight)
    if args.verb == "decommission":
        return Intent(**common, version=args.version)
    return Intent(**common, ramp=tuple(args.ramp or ()))


def render_plan(plan, console: Console = out) -> None:
    head = Text.assemble(("plan ", "bold"), (plan.id, "cyan"), f"  {plan.summary}")
    console.print(head)
    if plan.weights_before or plan.weights_after:
        versions = list(dict.fromkeys([*plan.weights_before, *plan.weights_after]))
        console.print("  weights: " + ", ".join(
            f"{v} {plan.weights_before.get(v, '—')}→{plan.weights_after.get(v, '—')}%" for v in versions))
    console.print(f"  capacity: {plan.capacity_before}% → lowest {plan.capacity_min}% during the plan"
                  + (f"; hosts terminated: {len(plan.hosts_affected)}" if plan.hosts_affected else ""))
    t = Table(show_header=True, show_edge=False, pad_edge=False, box=None)
    t.add_column("step", style="dim")
    t.add_column("region", style="dim")
    t.add_column("what")
    for s in plan.steps:
        t.add_row(s.id, s.region, s.description)
    console.print(t)
    for w in plan.warnings:
        console.print(f"  [yellow]! {w}[/]")
    if plan.refusal:
        console.print(f"  [bold red]refused:[/] {plan.refusal}")


def _confirm(plan, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ConfigError("confirmation needed and stdin is not a terminal: pass --yes")
    if plan.confirm_phrase:
        answer = out.input(f"Type [bold]{plan.confirm_phrase}[/] to confirm (anything else cancels): ")
        return answer.strip() == plan.confirm_phrase
    return out.input("Proceed? [y/N] ").strip().lower() in ("y", "yes")


async def _progress_run(actions, plan, reason: str, quiet: bool, resume_record=None):
    from fleettui.actions.api import describe_event

    # the live bar only on a terminal: elsewhere (pipes, CI logs) rich would still end it with an empty line
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err, disable=quiet or not err.is_terminal, transient=True)

    with progress:
        task = progress.add_task(plan.summary[:60], total=len(plan.steps))

        def on_event(e):
            if e.state in ("succeeded", "skipped"):
                progress.advance(task)
            if e.state != "started" and not quiet:
                style = {"succeeded": "green", "failed": "red", "skipped": "dim"}[e.state]
                progress.console.print(Text(describe_event(e), style=style))
            elif not quiet:
                progress.update(task, description=e.step.description[:60])

        if resume_record is not None:
            return await actions.resume(resume_record, on_event=on_event)
        return await actions.execute(plan, reason, on_event=on_event)


def _with_actions(args, body):
    from fleettui.actions.api import Actions
    from fleettui.cli import _open

    ctx = _open(args, progress=None if getattr(args, "json", False) else err.print)

    async def run():
        async with ctx.gateway() as gw:
            return await body(Actions(config=ctx.config, gw=gw, read_only=ctx.read_only))

    try:
        return asyncio.run(run())
    finally:
        ctx.close()


def cmd_verb(args) -> int:
    intent = intent_from_args(args)

    async def body(actions) -> int:
        plan = await actions.plan(intent)
        if args.json and (args.dry_run or plan.refusal):
            notes = await actions.dry_run(plan) if args.dry_run and not plan.refusal else []
            json.dump({"plan": plan.to_dict(), "dry_run": notes}, sys.stdout, indent=2)
            print()
            return 2 if plan.refusal else 0
        if not args.json:
            render_plan(plan)
        if plan.refusal:
            return 2
        if args.dry_run:
            for note in await actions.dry_run(plan):
                out.print(f"  {note}")
            out.print("dry run: nothing was changed")
            return 0
        if not _confirm(plan, args.yes):
            err.print("cancelled: nothing was changed")
            return 1
        outcome = await _progress_run(actions, plan, args.reason, quiet=args.json)
        return _report(outcome, args.json)

    return _with_actions(args, body)


def _report(outcome, as_json: bool) -> int:
    if as_json:
        json.dump({"plan": outcome.plan.to_dict(), "status": outcome.status, "error": outcome.error,
                   "failed_step": outcome.failed_step.id if outcome.failed_step else None,
                   "done": list(outcome.done)}, sys.stdout, indent=2)
        print()
    elif outcome.ok:
        out.print(f"[green]done[/]: {outcome.plan.summary} (plan {outcome.plan.id})")
    else:
        left = [s.id for s in outcome.plan.steps if s.id not in outcome.done]
        out.print(f"[red]failed[/] at {outcome.failed_step.id} ({outcome.failed_step.description}): {outcome.error}")
        out.print(f"steps not done: {', '.join(left)}; everything after the failed step is as it was. "
                  f"Fix the cause and run `fleettui resume {outcome.plan.id}`.")
    return 0 if outcome.ok else 1


def cmd_plan(args) -> int:
    from fleettui.cli import build_parser, main  # noqa: F401

    if not args.rest:
        raise ConfigError("plan: name an action, e.g. `fleettui plan rollback web`")
    forwarded = list(args.rest)
    for flag, value in (("--config", args.config), ("--profile", args.profile)):
        if value:
            forwarded += [flag, value]
    if args.demo:
        forwarded.append("--demo")
    if args.read_only:
        forwarded.append("--read-only")
    new = build_parser().parse_args(forwarded + ["--dry-run"])
    for name, default in (("config", None), ("demo", False), ("read_only", None), ("profile", None),
                          ("regions", None)):
        if not hasattr(new, name):
            setattr(new, name, default)
    if getattr(new, "handler", None) is not cmd_verb:
        raise ConfigError(f"plan: {args.rest[0]!r} is not an action (replace, launch, shift, decommission, "
                          "rollback)")
    return cmd_verb(new)


def cmd_resume(args) -> int:
    async def body(actions) -> int:
        records = actions.journal.unfinished()
        if args.plan_id:
            rec = actions.journal.record(args.plan_id)
            if rec is None:
                raise ConfigError(f"no plan {args.plan_id} in the journal {actions.journal.path}")
            if not rec.resumable:
                raise ConfigError(f"plan {args.plan_id} is {rec.status}: nothing to resume")
        elif not records:
            out.print("no unfinished plan in the journal")
            return 0
        else:
            rec = records[-1]
        if args.abandon:
            actions.journal.append("plan_finished", rec.plan.id, status="abandoned")
            out.print(f"plan {rec.plan.id} marked abandoned")
            return 0
        render_plan(rec.plan)
        out.print(f"  started by {rec.who}; done: {', '.join(sorted(rec.done)) or 'nothing'}; "
                  f"to do: {', '.join(rec.remaining)}")
        if not _confirm(rec.plan, args.yes):
            err.print("cancelled: nothing was changed")
            return 1
        outcome = await _progress_run(actions, rec.plan, rec.reason, quiet=args.json, resume_record=rec)
        return _report(outcome, args.json)

    return _with_actions(args, body)


def cmd_audit(args) -> int:
    from fleettui import paths
    from fleettui.actions.journal import Journal

    journal = Journal(paths.journal_path())
    if args.plan_id:
        events = [e for e in journal.events() if e.get("plan_id") == args.plan_id]
        if not events:
            raise ConfigError(f"no plan {args.plan_id} in the journal {journal.path}")
        if args.json:
            json.dump(events, sys.stdout, indent=2)
            print()
            return 0
        for e in events:
            extra = e.get("error") or e.get("status") or e.get("step") or e.get("reason") or ""
            out.print(f"{e['ts']}  {e['event']:<15} {extra}")
        return 0
    records = list(journal.records().values())[-args.limit:]
    if args.json:
        json.dump([{"plan_id": r.plan.id, "verb": r.plan.verb, "service": r.plan.service, "who": r.who,
                    "reason": r.reason, "created": r.created, "status": r.status, "summary": r.plan.summary,
                    "done": sorted(r.done), "failed": r.failed} for r in records], sys.stdout, indent=2)
        print()
        return 0
    if not records:
        out.print(f"the journal is empty ({journal.path})")
        return 0
    t = Table(title=f"journal {journal.path}", title_justify="left", show_edge=False)
    for col in ("when", "plan", "who", "status", "what", "reason"):
        t.add_column(col)
    styles = {"succeeded": "green", "failed": "red", "running": "yellow", "abandoned": "dim"}
    for r in records:
        t.add_row(r.created[:19].replace("T", " "), r.plan.id, r.who.rsplit("/", 1)[-1],
                  Text(r.status, style=styles.get(r.status, "")), r.plan.summary, r.reason)
    out.print(t)
    return 0
