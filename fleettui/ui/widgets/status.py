"""Above the table, always visible: the selected service, its rollback readiness, warnings, and STALE."""
from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

from fleettui.domain.model import Service
from fleettui.domain.signals import ServiceSignals
from fleettui.errors import FleetError
from fleettui.format import printable, printable_time
from fleettui.ui.widgets.header import age_words, hhmmss


def way_back(records: list, svc: Service) -> Content | None:
    """After a rollback (the newest change of the service's traffic), the way forward again."""
    from fleettui.domain.history import last_rollback

    rec = last_rollback(records, svc.name)
    if rec is None:
        return None
    plan = rec.plan
    away = [v for v, w in plan.weights_before.items() if w and not plan.weights_after.get(v)]
    if not any(svc.generation(v) for v in away):
        return None
    shown = printable_time(rec.created, 16)            # "2026-11-30 03:12", or what is there instead, escaped
    when = shown[11:] if len(shown) == 16 and shown[10] == " " else shown
    return Content.assemble(("↶ ", "$text-accent"),
                            (f"rolled back from {printable(', '.join(away))} to {printable(plan.generation or '?')} "
                             f"at {when} UTC by {printable(str(rec.who).rsplit('/', 1)[-1])}", "$text-accent"),
                            (" — W to shift forward again, :audit for the record", "$text-muted"))


def rollback_line(s: Service, hint: bool = True) -> Content:
    """What B does right now, in words ("B: take 1.6.0 out of traffic → 1.5.0 gets 100%"), or why it cannot."""
    rb = s.rollback
    if rb.ready:
        return Content.assemble(("B: " if hint else "rollback: ", "bold $text-success"),
                                (printable(rb.reason), "$text-success"))
    return Content.assemble(("rollback not ready: ", "bold $text-warning"), (printable(rb.reason), "$text-warning"))


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def signal_lines(ss: ServiceSignals | None, svc: Service, hint: bool = True) -> list[Content]:
    """The verdicts that say worse (with what B would do) and the alarms in ALARM, one line each."""
    if ss is None:
        return []
    out = []
    receiving = {g.version for g in svc.generations if g.receives_traffic}
    for version, verdict in ss.verdicts.items():
        if not verdict.worse:
            continue
        if version not in receiving:        # taken out since the signals were read: they catch up within a poll
            tail = " — out of traffic now"
        else:
            tail = " — B takes it out of traffic" if hint and svc.rollback.ready else ""
        out.append(Content.assemble(("✗ ", "bold $text-error"), (printable(verdict.reason), "bold $text-error"),
                                    (tail, "$text-error")))
    for alarm in ss.firing:
        out.append(Content.assemble((" ALARM ", "bold $text on $error"), " ", (printable(alarm.name), "bold $text-error"),
                                    (f" {_short(printable(alarm.reason), 70)}" if alarm.reason else "", "$text-error")))
    return out


def rollout_lines(app, service: str) -> list[Content]:
    """A running rollout of ``service`` (from the journal, whoever drives it): step k/n, weights, the bake's
    countdown, each analysis check ✓/✗/… with its numbers."""
    from fleettui.actions import rollouts
    from fleettui.domain.rollout import MARK

    try:
        v = rollouts.view(app.journal, service, app.now())
    except (FleetError, OSError, ValueError, KeyError):
        return []
    if v is None or v.status != "running":
        return []
    style = "$text-warning" if v.phase in ("holding", "paused", "aborting") else "$text-accent"
    who = str(v.who).rsplit("/", 1)[-1]
    out = [Content.assemble(("⇢ ", f"bold {style}"), (printable(v.line), f"bold {style}"),
                            (f" · driven by {printable(who)} · plan {v.plan_id}", "$text-muted"))]
    if v.analysis is not None:
        marks = {"pass": "$text-success", "fail": "$text-error", "hold": "$text-warning", "skip": "$text-muted"}
        parts: list = [("  last analysis: ", "$text-muted")]
        for c in v.analysis.checks:
            parts += [(f"{MARK.get(c.state, '?')} {printable(c.text)}", marks.get(c.state, "")), ("  ", "")]
        out.append(Content.assemble(*parts))
    return out


def _ago(ts: str | None, now) -> str:
    from datetime import datetime

    try:
        t = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        minutes = max(0, int((now - t).total_seconds() // 60))
    except (ValueError, TypeError):
        return "?"
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def who_short(arn: str | None) -> str:
    return printable(str(arn or "?").rsplit("/", 1)[-1])


def lock_text(lock, now) -> str:
    """"locked by arn:…:assumed-role/ops/ops-a (shift web, 2 min)"; a lock item fleettui did not write (a
    :class:`~fleettui.store.dynamo.LockItem` with a problem) is said to be one, and how to clear it."""
    if lock.problem is not None:
        return f"locked: {lock.describe(now)} — `fleettui unlock` clears it"
    what = f"{printable(lock.what or 'plan ' + str(lock.plan_id), 100)}, "
    return f"locked by {printable(lock.owner or '?', 100)} ({what}{_ago(lock.taken_at, now)})"


def last_change_text(item: dict, now) -> str:
    """"shift web: … by ops-b, 14 min ago: INC-1234"."""
    reason = f": {printable(item['reason'])}" if item.get("reason") else ""
    what = printable(item.get("summary") or f"{item.get('verb') or 'plan'} {item.get('plan_id')}")
    return f"{what} by {who_short(item.get('operator'))}, {_ago(item.get('ts'), now)} ago{reason}"


def team_lines(app, svc: Service) -> list[Content]:
    """Team mode: who holds the service's lock, and the last change to it by anyone."""
    status = app.state.team.get(svc.name)
    out = []
    if status is not None and status.lock is not None:
        out.append(Content.assemble(("■ ", "bold $text-warning"),
                                    (lock_text(status.lock, app.now()), "bold $text-warning")))
    if status is not None and status.last is not None:
        out.append(Content.assemble(("last change: ", "$text-muted"), last_change_text(status.last, app.now())))
    if app.state.team_error:
        out.append(Content.assemble(("⚠ ", "$text-warning"), (printable(app.state.team_error), "$text-warning")))
    return out


class ServiceStatus(Widget):
    DEFAULT_CSS = """
    ServiceStatus {
        height: auto;
        padding: 0 1;
        background: $surface;
    }
    """

    def render(self) -> Content:
        app = self.app
        lines: list[Content] = []
        snap = app.snapshot
        svc = app.current_service
        if app.stale and snap is not None:
            age = (app.now() - snap.generated_at).total_seconds()
            lines.append(Content.assemble(
                (" STALE ", "bold $text on $error"),
                (f" last refresh failed at {hhmmss(app.last_error_at)}: ", "$text-error"),
                (printable(app.last_error or ""), "bold $text-error"),
                (f" — showing the fleet as of {hhmmss(snap.generated_at)} ({age_words(age)} old); r retries",
                 "$text-error")))
        if svc is not None:
            view = app.views.get(svc.name)
            hosts = view.total if view is not None else len(svc.instances)
            head = [(printable(svc.name), "bold"), (" · ", "$text-muted"), ", ".join(svc.regions), (" · ", "$text-muted"),
                    f"{hosts} hosts in {len(svc.generations)} generation{'s' if len(svc.generations) != 1 else ''}"]
            if svc.listener_arn:
                lb = svc.listener_arn.split(":")[-1].split("/")
                head += [(" · ", "$text-muted"), ("listener ", "$text-muted"), lb[2] if len(lb) > 2 else lb[-1]]
            elif svc.generations:
                head += [(" · ", "$text-muted"), ("no listener", "$text-muted")]
            marked = view.marked(app.marks) if view is not None else 0
            if marked:
                head += [(" · ", "$text-muted"), (f"{marked} marked", "bold $text-accent")]
            head += ["    "]
            lines.append(Content.assemble(*head, rollback_line(svc, hint=not app.read_only)))
            lines += signal_lines(app.state.service_signals(svc.name), svc, hint=not app.read_only)
            lines += rollout_lines(app, svc.name)
            lines += team_lines(app, svc)
            back = way_back(app.journal_records(), svc)
            if back is not None:
                lines.append(back)
            for w in svc.warnings:
                lines.append(Content.assemble(("⚠ ", "$text-warning"), (printable(w), "$text-warning")))
        if snap is not None:
            for e in snap.errors:
                lines.append(Content.assemble((" STALE ", "bold $text on $error"), " ", (printable(str(e)), "$text-error")))
        return Content("\n").join(lines) if lines else Content("")
