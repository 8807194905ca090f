"""The journal on the command line: `resume` a plan left unfinished, `audit` who did what, when and why.

Both read the journal of the config's endpoint (real AWS: this machine's; an emulator: that instance's). `resume`
considers only plans made against the current account + endpoint and refuses another's by name; `audit` lists the
endpoint's plans with the account each was made against. Lines the journal cannot use are skipped with a warning."""
from __future__ import annotations

import json
import sys

from rich.table import Table
from rich.text import Text

from fleettui.cli.common import err, open_context, out, with_actions
from fleettui.cli.verbs import confirm, progress_run, render_plan, report
from fleettui.domain.history import EventKind, plan_states
from fleettui.errors import ConfigError
from fleettui.format import printable, printable_time


def add_parsers(add) -> None:
    re_ = add("resume", "resume a plan left unfinished (crash, Ctrl-C, network loss)")
    re_.add_argument("plan_id", nargs="?", help="default: the most recent unfinished plan of this account + endpoint")
    re_.add_argument("--abandon", action="store_true", help="mark it abandoned instead of resuming")
    re_.add_argument("--yes", "-y", action="store_true")
    re_.add_argument("--json", action="store_true")
    re_.set_defaults(handler=cmd_resume)

    au = add("audit", "list the journal (with [team]: the team's, every operator's): who did what, when, why, and "
                      "how it ended")
    au.add_argument("plan_id", nargs="?", help="show one plan's events (with [team]: any operator's plan)")
    au.add_argument("--json", action="store_true")
    au.add_argument("--limit", type=int, default=50)
    au.add_argument("--service", action="append", metavar="NAME", help="only this service's plans (repeatable)")
    au.add_argument("--operator", metavar="TEXT", help="only plans whose operator ARN contains TEXT")
    au.add_argument("--since", metavar="AGE|TIME", help='only plans created since: an age ("2h", "7d") or an '
                    'ISO-8601 time')
    au.set_defaults(handler=cmd_audit)


def cmd_resume(args) -> int:
    async def body(actions) -> int:
        try:
            rec = await actions.resumable(args.plan_id)
        finally:
            warn(actions.journal)
        if rec is None:
            out.print(f"no unfinished plan of {(await actions.scope()).label} in the journal", markup=False)
            return 0
        if args.abandon:
            left = await actions.abandon(rec)
            out.print(Text(f"plan {printable(rec.plan.id)} marked abandoned; its lock on {printable(rec.plan.service)} "
                           "released"), crop=False)
            if not left:
                out.print(Text("it left nothing behind in AWS"))
            for what, command in left:           # ids are never shortened: the command must work as printed
                out.print(Text(f"left behind: {printable(what, None)}\n  clean up: {printable(command, None)}"),
                          crop=False, soft_wrap=True)
            return 0
        render_plan(rec.plan)
        out.print(Text(f"  started by {printable(rec.who)}; done: {printable(', '.join(sorted(rec.done))) or 'nothing'}; "
                       f"to do: {printable(', '.join(rec.remaining))}"), crop=False)
        if not confirm(rec.plan, args.yes):
            err.print("cancelled: nothing was changed")
            return 1
        outcome = await progress_run(actions, rec.plan, rec.reason, quiet=args.json, resume_record=rec)
        return report(outcome, args.json)

    return with_actions(args, body)


def warn(journal) -> None:
    for w in getattr(journal, "warnings", ()):      # they quote what was read: escaped like the data itself
        err.print(f"fleettui: warning: {printable(w)}", markup=False, soft_wrap=True)


class _History:
    """Events read from the team table, shown like a journal (``warnings``: the items it skipped)."""

    def __init__(self, events: list[dict], where: str, warnings: list[str] | None = None):
        self._events, self.where, self.warnings = events, where, list(warnings or ())

    def events(self):
        return iter(self._events)

    def records(self):
        return plan_states(self._events)


def _since(text: str | None) -> str | None:
    """--since as an ISO-8601 UTC prefix-comparable time."""
    if not text:
        return None
    from datetime import datetime, timedelta, timezone

    from fleettui.config.durations import parse_duration

    try:
        t = datetime.now(timezone.utc) - timedelta(seconds=parse_duration(text))
    except (ValueError, TypeError):
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f'--since {text!r}: not an age or a time (allowed: an age like "2h", "7d", or an '
                              'ISO-8601 time like 2026-11-30T03:00Z)') from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def team_history(args, ctx):
    """The team's history from the table (every operator's), after sending what this machine still has queued
    (not in read-only mode: that writes nothing)."""
    import asyncio

    journal = ctx.store.journal
    services = args.service or [s.name for s in ctx.config.services]
    for name in services:
        ctx.config.service(name)        # an unknown service: one line, exit 2

    async def run():
        async with ctx.gateway() as gw:
            before = journal.pending()
            left = await journal.flush(gw)
            if left:
                why = f" ({journal.last_error})" if journal.last_error else " (read-only mode: not sent)" \
                    if ctx.read_only else ""
                err.print(f"fleettui: {left} event{'s' if left != 1 else ''} not yet in the team table{why}; "
                          "they are sent with the next action or `fleettui audit`", markup=False, soft_wrap=True)
            elif before:
                err.print(f"fleettui: sent {before} queued event{'s' if before != 1 else ''} to the team table",
                          markup=False)
            unsent = journal.unsent()
            if unsent:
                n = len(unsent)
                err.print(f"fleettui: {n} event{' could' if n == 1 else 's could'} not be sent: "
                          f"{printable(unsent[-1].get('error'), 300)} (kept in {printable(journal.unsent_path)}; "
                          "each is also in the local journal)", markup=False, soft_wrap=True)
            return await journal.team_events(gw, services, since=None if args.plan_id else _since(args.since))
    events = asyncio.run(run())
    return _History(events, f"team table {ctx.config.team.table} ({ctx.config.team.region})", journal.team_warnings)


def cmd_audit(args) -> int:
    from fleettui.config import find_config_path

    from fleettui.store.local import JsonlJournal, journal_path_for

    if args.demo or find_config_path(args.config) is not None:
        ctx = open_context(args)
        try:
            if ctx.config.team is not None:
                history = team_history(args, ctx)
                try:
                    return _audit(args, history)
                finally:
                    warn(history)
            journal = ctx.store.journal
        finally:
            ctx.close()
    else:      # without any config, the real-AWS journal (never a demo's)
        journal = JsonlJournal(journal_path_for(None))
    try:
        return _audit(args, journal)
    finally:
        warn(journal)


def _audit(args, journal) -> int:
    if args.plan_id:
        events = [e for e in journal.events() if e.get("plan_id") == args.plan_id]
        if not events:
            raise ConfigError(f"no plan {args.plan_id} in the journal {journal.where}")
        if args.json:
            json.dump(events, sys.stdout, indent=2)
            print()
            return 0
        render_plan_history(args.plan_id, events)
        return 0
    since = _since(getattr(args, "since", None))
    records = [r for r in journal.records().values()
               if (not getattr(args, "service", None) or r.plan.service in args.service)
               and (not getattr(args, "operator", None) or args.operator in str(r.who))
               and (since is None or r.created >= since)][-args.limit:]
    if args.json:
        json.dump([{"plan_id": r.plan.id, "verb": r.plan.verb, "service": r.plan.service, "who": r.who,
                    "scope": r.scope.to_dict() if r.scope else None,
                    "reason": r.reason, "created": r.created, "status": r.status, "summary": r.plan.summary,
                    "done": sorted(r.done), "failed": r.failed} for r in records], sys.stdout, indent=2)
        print()
        return 0
    if not records:
        out.print(Text(f"the journal is empty ({printable(journal.where)})"), crop=False)
        return 0
    styles = {"succeeded": "green", "failed": "red", "running": "yellow", "abandoned": "dim", "refused": "dim"}
    if out.width < 120:      # a narrow terminal: one block per plan, the plan id first and whole
        out.print(Text(f"journal {printable(journal.where)}"), crop=False)
        for r in records:
            out.print(Text.assemble((printable(r.plan.id), "cyan"), "  ",
                                    (printable(r.status), styles.get(r.status, "")),
                                    f"  {printable_time(r.created)}  {printable(str(r.who).rsplit('/', 1)[-1])}"
                                    f"  account {printable(r.scope.account if r.scope else '?')}"),
                      crop=False)
            out.print(Text(f"  {printable(r.plan.summary)}" + (f"\n  reason: {printable(r.reason)}" if r.reason
                                                                 else "")))
        return 0
    t = Table(title=Text(f"journal {printable(journal.where)}"), title_justify="left", show_edge=False)
    t.add_column("when", no_wrap=True)
    t.add_column("plan", no_wrap=True, min_width=max(len(printable(r.plan.id)) for r in records))
    for col in ("account", "who", "status", "what", "reason"):
        t.add_column(col, overflow="fold")
    for r in records:
        t.add_row(printable_time(r.created), printable(r.plan.id),
                  printable(r.scope.account if r.scope else "?"), printable(str(r.who).rsplit("/", 1)[-1]),
                  Text(printable(r.status), style=styles.get(r.status, "")), printable(r.plan.summary),
                  printable(r.reason))
    out.print(t, crop=False)
    return 0


# what a step's journaled detail calls the instances it touched
_TOUCHED = ("instances", "terminated", "surplus_terminated")


def render_plan_history(plan_id: str, events: list[dict]) -> None:
    """`audit PLAN_ID`: the plan as the journal holds it (who, why, how it ended), each step's text, region, outcome
    and the instance ids it touched, then every event."""
    rec = plan_states(events).get(plan_id)
    if rec is not None:
        p = rec.plan
        out.print(Text.assemble(("plan ", "bold"), (printable(p.id), "cyan"), f"  {printable(p.summary)}  ",
                                (printable(rec.status), "bold")), crop=False)
        out.print(Text(f"  created {printable_time(rec.created)} by {printable(rec.who)}; "
                       f"reason: {printable(rec.reason) or '—'}"), crop=False)
        details: dict[str, dict] = {}
        for e in events:
            if e.get("event") == EventKind.STEP_SUCCEEDED and isinstance(e.get("detail"), dict):
                details[e.get("step")] = e["detail"]
        t = Table(show_edge=False, pad_edge=False, box=None)
        t.add_column("step", no_wrap=True)
        t.add_column("region", no_wrap=True, min_width=max((len(printable(s.region)) for s in p.steps), default=0))
        t.add_column("outcome", no_wrap=True)
        t.add_column("what", overflow="fold")
        t.add_column("instances touched", overflow="fold")
        for st in p.steps:
            outcome = ("done" if st.id in rec.done else "failed" if st.id in rec.failed else "not run")
            what = Text(printable(st.description))
            if st.id in rec.failed:
                what.append(f"\n{printable(rec.failed[st.id])}", style="red")
            detail = details.get(st.id, {})
            touched = [f"{key.replace('_', ' ')}: {' '.join(printable(i) for i in detail[key])}"
                       for key in _TOUCHED if isinstance(detail.get(key), list) and detail[key]]
            t.add_row(printable(st.id), printable(st.region),
                      Text(outcome, style={"done": "green", "failed": "red"}.get(outcome, "dim")), what,
                      "\n".join(touched) or "—")
        out.print(t, crop=False)
        out.print(Text("events", style="bold"))
    for e in events:
        extra = e.get("error") or e.get("status") or e.get("reason") or e.get("message") or ""
        cut = f" (cut in the team table: {printable(e['cut'], 300)})" if e.get("cut") else ""
        out.print(Text(f"  {printable(e.get('ts', ''), 60)}  {printable(e.get('event', ''), 60):<15} "
                       f"{printable(e.get('step') or '', 60):<4} {printable(extra)}{cut}".rstrip()), crop=False)
