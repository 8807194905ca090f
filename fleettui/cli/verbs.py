"""The action verbs on the command line (one subcommand per entry of the verb registry) and `plan`.

Each verb: plan -> print -> (refused: exit 2) -> (--dry-run: EC2 DryRun, exit 0) -> confirm -> execute with
progress -> exit 0 done / 1 failed. The TUI calls the very same :class:`fleettui.actions.api.Actions`.
"""
from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from fleettui.cli.common import reason_arg, err, out, with_actions
from fleettui.errors import ConfigError
from fleettui.format import format_weight, printable


def verb_flags() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--dry-run", action="store_true", help="show the plan (and EC2 DryRun checks); change nothing")
    p.add_argument("--json", action="store_true", help="print the plan (and outcome) as JSON")
    p.add_argument("--yes", "-y", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--reason", default="", type=reason_arg, help="why (recorded in the journal)")
    return p


def add_parsers(add) -> None:
    from fleettui.actions.verbs import VERBS

    flags = verb_flags()
    for verb in VERBS.values():
        p = add(verb.name, verb.help, (flags,))
        verb.add_arguments(p)
        p.set_defaults(handler=cmd_verb, verb=verb.name)

    pl = add("plan", "show the plan of an action without running it (same as VERB … --dry-run)")
    pl.add_argument("rest", nargs=argparse.REMAINDER, metavar="VERB ARGS")
    pl.set_defaults(handler=cmd_plan)


def render_plan(plan, console: Console = out) -> None:
    """The plan as the operator checks it before confirming: every string in it (versions, AMI names, step texts)
    is data, printed as plain text with control characters escaped; ids are never shortened."""
    console.print(Text.assemble(("plan ", "bold"), (plan.id, "cyan"), f"  {printable(plan.summary)}"), crop=False)
    if plan.weights_before or plan.weights_after:
        versions = list(dict.fromkeys([*plan.weights_before, *plan.weights_after]))
        console.print(Text("  weights: " + ", ".join(
            f"{printable(v)} {format_weight(plan.weights_before.get(v))}→{format_weight(plan.weights_after.get(v))}"
            for v in versions)), crop=False)
    console.print(Text(f"  capacity: {plan.capacity_before}% → lowest {plan.capacity_min}% during the plan"
                       + (f"; hosts terminated: {len(plan.hosts_affected)}" if plan.hosts_affected else "")))
    t = Table(show_header=True, show_edge=False, pad_edge=False, box=None)
    t.add_column("step", style="dim", no_wrap=True)
    t.add_column("region", style="dim", no_wrap=True, min_width=max((len(s.region) for s in plan.steps), default=0))
    t.add_column("what", overflow="fold")
    for s in plan.steps:
        t.add_row(s.id, printable(s.region), printable(s.description))
    console.print(t, crop=False)
    for w in plan.warnings:
        console.print(Text(f"  ! {printable(w)}", style="yellow"))
    if plan.refusal:
        console.print(Text.assemble("  ", ("refused:", "bold red"), " ", printable(plan.refusal)))


def confirm(plan, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ConfigError("confirmation needed and stdin is not a terminal: pass --yes")
    if plan.confirm_phrase:
        out.print(Text(f"  {printable(plan.confirm_reason)}", style="yellow"))
        answer = out.input(Text.assemble("Type ", (printable(plan.confirm_phrase), "bold"),
                                         " to confirm (anything else cancels): "))
        return answer.strip() in (plan.confirm_phrase, printable(plan.confirm_phrase))   # as shown
    return out.input("Proceed? [y/N] ").strip().lower() in ("y", "yes")


async def progress_run(actions, plan, reason: str, quiet: bool, resume_record=None):
    from fleettui.actions.api import describe_event

    # the live bar only on a terminal: elsewhere (pipes, CI logs) rich would still end it with an empty line
    progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err, disable=quiet or not err.is_terminal, transient=True)

    with progress:
        task = progress.add_task(printable(plan.summary)[:60], total=len(plan.steps))

        def on_event(e):
            if e.state in ("succeeded", "skipped"):
                progress.advance(task)
            if e.state != "started" and not quiet:
                style = {"succeeded": "green", "failed": "red", "skipped": "dim"}[e.state]
                progress.console.print(Text(describe_event(e), style=style))
            elif not quiet:
                progress.update(task, description=printable(e.step.description)[:60])

        if resume_record is not None:
            return await actions.resume(resume_record, on_event=on_event)
        return await actions.execute(plan, reason, on_event=on_event)


def cmd_verb(args) -> int:
    from fleettui.actions.verbs import VERBS
    from fleettui.cli import rollout

    if rollout.is_control(args):        # `rollout status|promote|… SERVICE`
        return rollout.cmd_control(args)
    intent = VERBS[args.verb].intent_from_args(args)

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
                out.print(Text(f"  {printable(note)}"))
            out.print("dry run: nothing was changed")
            return 0
        if not confirm(plan, args.yes):
            err.print("cancelled: nothing was changed")
            return 1
        outcome = await progress_run(actions, plan, args.reason, quiet=args.json)
        return report(outcome, args.json)

    return with_actions(args, body)


def report(outcome, as_json: bool) -> int:
    if as_json:
        json.dump({"plan": outcome.plan.to_dict(), "status": outcome.status, "error": outcome.error,
                   "failed_step": outcome.failed_step.id if outcome.failed_step else None,
                   "done": list(outcome.done)}, sys.stdout, indent=2)
        print()
    elif outcome.status == "aborted":
        out.print(Text.assemble(("aborted", "red"), f": {printable(outcome.error)} (plan {outcome.plan.id})"),
                  crop=False)
    elif outcome.ok:
        out.print(Text.assemble(("done", "green"), f": {printable(outcome.plan.summary)} (plan {outcome.plan.id})"),
                  crop=False)
    else:
        left = [s.id for s in outcome.plan.steps if s.id not in outcome.done]
        step = outcome.failed_step
        out.print(Text.assemble(("failed", "red"), f" at {step.id} ({printable(step.description)}): "
                                f"{printable(outcome.error)}"), crop=False)
        out.print(Text(f"steps not done: {', '.join(left)}; everything after the failed step is as it was. "
                       f"Fix the cause and run `fleettui resume {outcome.plan.id}`."), crop=False)
    return 0 if outcome.ok else 1


def cmd_plan(args) -> int:
    from fleettui.actions.verbs import VERBS

    if not args.rest:
        raise ConfigError("plan: name an action, e.g. `fleettui plan rollback web`")
    forwarded = list(args.rest)
    for flag, value in (("--config", args.config), ("--profile", args.profile)):
        if value:
            forwarded += [flag, value]
    for region in args.regions or ():
        forwarded += ["--region", region]
    if args.demo:
        forwarded.append("--demo")
    if args.read_only:
        forwarded.append("--read-only")
    new = args.parse(forwarded + ["--dry-run"])
    if new.handler is not cmd_verb:
        raise ConfigError(f"plan: {args.rest[0]!r} is not an action ({', '.join(VERBS)})")
    return cmd_verb(new)
