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
from fleettui.errors import ConfigError


def add_parsers(add) -> None:
    re_ = add("resume", "resume a plan left unfinished (crash, Ctrl-C, network loss)")
    re_.add_argument("plan_id", nargs="?", help="default: the most recent unfinished plan of this account + endpoint")
    re_.add_argument("--abandon", action="store_true", help="mark it abandoned instead of resuming")
    re_.add_argument("--yes", "-y", action="store_true")
    re_.add_argument("--json", action="store_true")
    re_.set_defaults(handler=cmd_resume)

    au = add("audit", "list the journal: who did what, when, why, and how it ended")
    au.add_argument("plan_id", nargs="?", help="show one plan's events")
    au.add_argument("--json", action="store_true")
    au.add_argument("--limit", type=int, default=50)
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
            out.print(f"plan {rec.plan.id} marked abandoned; its lock on {rec.plan.service} released", markup=False)
            if not left:
                out.print("it left nothing behind in AWS", markup=False)
            for what, command in left:
                out.print(f"left behind: {what}\n  clean up: {command}", markup=False, soft_wrap=True)
            return 0
        render_plan(rec.plan)
        out.print(f"  started by {rec.who}; done: {', '.join(sorted(rec.done)) or 'nothing'}; "
                  f"to do: {', '.join(rec.remaining)}")
        if not confirm(rec.plan, args.yes):
            err.print("cancelled: nothing was changed")
            return 1
        outcome = await progress_run(actions, rec.plan, rec.reason, quiet=args.json, resume_record=rec)
        return report(outcome, args.json)

    return with_actions(args, body)


def warn(journal) -> None:
    for w in getattr(journal, "warnings", ()):
        err.print(f"fleettui: warning: {w}", markup=False, soft_wrap=True)


def audit_journal(args):
    """The journal of the config's endpoint; without any config, the real-AWS journal (never a demo's)."""
    from fleettui.config import find_config_path
    from fleettui.store.local import JsonlJournal, journal_path_for

    if args.demo or find_config_path(args.config) is not None:
        ctx = open_context(args)
        try:
            return ctx.store.journal
        finally:
            ctx.close()
    return JsonlJournal(journal_path_for(None))


def cmd_audit(args) -> int:
    journal = audit_journal(args)
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
        for e in events:
            extra = e.get("error") or e.get("status") or e.get("step") or e.get("reason") or ""
            out.print(f"{e.get('ts', '?')}  {e['event']:<15} {extra}")
        return 0
    records = list(journal.records().values())[-args.limit:]
    if args.json:
        json.dump([{"plan_id": r.plan.id, "verb": r.plan.verb, "service": r.plan.service, "who": r.who,
                    "scope": r.scope.to_dict() if r.scope else None,
                    "reason": r.reason, "created": r.created, "status": r.status, "summary": r.plan.summary,
                    "done": sorted(r.done), "failed": r.failed} for r in records], sys.stdout, indent=2)
        print()
        return 0
    if not records:
        out.print(f"the journal is empty ({journal.where})")
        return 0
    t = Table(title=f"journal {journal.where}", title_justify="left", show_edge=False)
    for col in ("when", "plan", "account", "who", "status", "what", "reason"):
        t.add_column(col)
    styles = {"succeeded": "green", "failed": "red", "running": "yellow", "abandoned": "dim", "refused": "dim"}
    for r in records:
        t.add_row(r.created[:19].replace("T", " "), r.plan.id, r.scope.account if r.scope else "?",
                  str(r.who).rsplit("/", 1)[-1],
                  Text(r.status, style=styles.get(r.status, "")), r.plan.summary, r.reason)
    out.print(t)
    return 0
