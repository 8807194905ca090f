"""The action flows: a verb's key → (a dialog for its values) → plan (a worker) → confirm → execute with
progress → refresh; the resume offer at start-up. The app keeps lifecycle and polling; this keeps the dialogs'
order and what is told to the operator."""
from __future__ import annotations

from typing import TYPE_CHECKING

from fleettui.errors import FleetError
from fleettui.ui.messages import ActionFinished

if TYPE_CHECKING:
    from fleettui.ui.app import FleetApp


class Flows:
    def __init__(self, app: "FleetApp") -> None:
        self.app = app

    @property
    def busy(self) -> bool:
        return any(w.group == "action" and w.is_running for w in self.app.workers)

    def _run(self, coro, name: str) -> None:
        self.app.run_worker(coro, name=name, group="action", exit_on_error=False)

    # ------------------------------------------------------------------------------------------ a verb's key
    def start(self, name: str) -> None:
        """A verb's key (R / L / W / B / ctrl+d…) on the selected service: its intent from what is on screen."""
        from fleettui.actions.verbs import VERBS, Selection

        app = self.app
        verb = VERBS[name]
        if app.read_only:
            app.notify(f"read-only mode: {verb.label or verb.name} does nothing (start fleettui without --read-only "
                       "and with read_only = false to act on AWS)", severity="warning", markup=False)
            return
        svc = app.current_service
        if svc is None or app.gateway is None:
            app.notify("no fleet loaded yet: wait for the refresh (r)", severity="warning")
            return
        if self.busy:
            app.notify("an action is already being planned or run", severity="warning")
            return
        team = app.state.team.get(svc.name)
        if team is not None and team.lock is not None:    # team mode: another plan holds it (as last read)
            from fleettui.ui.widgets.status import lock_text

            app.notify(f"{svc.name} is {lock_text(team.lock, app.now())}: refused before planning (wait, or "
                       f"`fleettui unlock {svc.name}` for a stale lock)", severity="error", markup=False)
            return
        gen = app.main.selected_generation()
        try:
            intent = verb.intent_for(Selection(svc, gen.version if gen else None, tuple(app.state.marks_in(svc))))
        except FleetError as e:
            app.notify(str(e), severity="warning", markup=False)
            return
        if verb.dialog == "weights":
            self._run(self._shift(svc, intent.to), "weights")
        elif verb.dialog == "launch":
            self._run(self._launch(svc, intent), "launch")
        elif verb.name == "rollback":
            self._run(self._rollback(svc, intent), name)
        elif verb.dialog == "rollout":
            self._run(self._rollout(svc, intent), "rollout")
        else:
            self._run(self.plan_confirm_execute(intent), name)

    async def _shift(self, svc, selected: str | None) -> None:
        from fleettui.actions.verbs import Shift
        from fleettui.ui.dialogs.weights import WeightsDialog

        cfg = self.app.config.service(svc.name)
        choice = await self.app.push_screen_wait(WeightsDialog(svc, cfg.shift_steps, selected))
        if choice is None:
            return
        version, weight = choice
        await self.plan_confirm_execute(Shift(svc.name, to=version, weight=weight))

    async def _launch(self, svc, intent) -> None:
        from fleettui.ui.dialogs.launch import LaunchDialog, decommissioned_note, launch_defaults

        app = self.app
        defaults = launch_defaults(svc, app.config.service(svc.name), app.journal_records())
        choice = await app.push_screen_wait(LaunchDialog(svc, defaults))
        if choice is None:
            return
        lt_version, count = choice
        await self.plan_confirm_execute(type(intent)(svc.name, lt_version=lt_version, count=count),
                                        note=lambda plan: decommissioned_note(plan, defaults))

    async def _rollback(self, svc, intent) -> None:
        """The rollback rule's plan first (`y` runs it); `t` in it lists the other candidates and plans the
        chosen one instead (esc there goes back to the plan shown before)."""
        from fleettui.actions.verbs.rollback import candidates
        from fleettui.ui.dialogs.confirm import CHOOSE_TARGET
        from fleettui.ui.dialogs.rollback_target import RollbackTargetDialog

        while await self.plan_confirm_execute(intent, choose_target=True) == CHOOSE_TARGET:
            svc = self.app.state.service(svc.name) or svc          # the newest snapshot's view of it
            cands = candidates(svc)
            picked = await self.app.push_screen_wait(RollbackTargetDialog(svc.name, cands, intent.to or next(
                (c.version for c in cands if c.default), None)))
            if picked is not None:
                default = any(c.default and c.version == picked for c in cands)
                intent = type(intent)(svc.name, ramp=intent.ramp, to=None if default else picked)

    async def _rollout(self, svc, intent) -> None:
        from dataclasses import replace

        from fleettui.ui.dialogs.rollout import RolloutDialog

        choice = await self.app.push_screen_wait(RolloutDialog(svc, self.app.config.service(svc.name), intent.to))
        if choice is None:
            return
        steps, bake = choice
        await self.plan_confirm_execute(replace(intent, steps=steps, bake_s=bake))

    # ------------------------------------------------------------------------------------------ plan → run
    async def plan_confirm_execute(self, intent, note=None, choose_target: bool = False) -> str | None:
        """``note`` (plan) -> a line for the confirmation, or None. Returns CHOOSE_TARGET when the operator
        pressed `t` in a ``choose_target`` confirmation (nothing ran), else None."""
        from fleettui.ui.dialogs.confirm import CHOOSE_TARGET, ConfirmPlanDialog

        app = self.app
        try:
            # what the operator sees is what gets planned; a STALE snapshot is re-read from AWS first
            plan = await app.actions.plan(intent, None if app.stale else app.snapshot)
        except FleetError as e:
            app.notify(f"cannot plan {intent.verb}: {e}", severity="error", timeout=8, markup=False)
            return None
        reason = await app.push_screen_wait(ConfirmPlanDialog(plan, resume_note=note(plan) if note else None,
                                                              choose_target=choose_target))
        if reason == CHOOSE_TARGET:
            return reason
        if reason is None:
            app.notify(f"{plan.verb} cancelled: nothing was changed", timeout=3)
            return None
        await self.execute(plan, reason)
        return None

    async def execute(self, plan, reason: str, record=None) -> None:
        from fleettui.ui.screens.progress import ProgressScreen

        app = self.app
        progress = ProgressScreen(plan, resuming=record is not None)
        await app.push_screen(progress)
        app.state.executing = True
        try:
            if record is not None:
                outcome = await app.actions.resume(record, on_event=progress.on_step)
            else:
                outcome = await app.actions.execute(plan, reason, on_event=progress.on_step)
        except FleetError as e:
            progress.finish_error(str(e))
            app.notify(f"{plan.verb} {plan.service}: {e}", severity="error", timeout=8, markup=False)
        else:
            progress.finish(outcome)
            if outcome.ok:
                app.notify(f"✓ {plan.summary}", timeout=6, markup=False)
            elif outcome.status == "aborted":
                app.notify(f"{plan.verb} {plan.service} aborted: {outcome.error}", severity="error", timeout=10,
                           markup=False)
            else:
                app.notify(f"{plan.verb} {plan.service} failed at "
                           f"{outcome.failed_step.id if outcome.failed_step else '?'}: {outcome.error}",
                           severity="error", timeout=10, markup=False)
        finally:
            app.state.executing = False
            app.post_message(ActionFinished())

    # ------------------------------------------------------------------------------------------ rollout controls
    def control(self, service: str, what: str) -> None:
        """promote | promote_full | pause | resume | abort of ``service``'s running rollout (whoever drives it)."""
        self.app.run_worker(self._control(service, what), name=f"rollout {what}", group="control",
                            exit_on_error=False)

    async def _control(self, service: str, what: str) -> None:
        from fleettui.actions import rollouts

        app = self.app
        try:
            if what == "abort":
                message, code = await rollouts.abort(app.actions, service, "aborted from the TUI")
            else:
                message, code = await rollouts.control(app.actions, service, what), 0
        except FleetError as e:
            message, code = str(e), 1
        app.notify(message, severity="error" if code else "information", timeout=6, markup=False)

    # ------------------------------------------------------------------------------------------ resume
    def offer_resume(self) -> None:
        """At start-up: plans left unfinished in the journal (crash, Ctrl-C, network loss)."""
        app = self.app
        if app.read_only or app.gateway is None:
            return
        self._run(self._resume(), "resume")

    async def _resume(self) -> None:
        from fleettui.ui.dialogs.resume import ResumeDialog

        app = self.app
        try:
            unfinished = await app.actions.unfinished()      # only this account + endpoint's plans
        except FleetError as e:
            app.notify(f"cannot read the journal: {e}", severity="warning", markup=False)
            return
        for w in app.actions.journal.warnings:
            app.notify(w, severity="warning", markup=False)
        if not unfinished:
            return
        choice = await app.push_screen_wait(ResumeDialog(unfinished))
        if choice is None:
            return
        what, record = choice
        if what == "abandon":
            await app.actions.abandon(record)
            app.notify(f"plan {record.plan.id} marked abandoned", timeout=4)
            return
        await self.execute(record.plan, record.reason, record=record)
