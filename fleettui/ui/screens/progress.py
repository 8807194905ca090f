"""A plan running: a progress bar and the step log fed by the executor's events; at the end, what happened,
and on failure which step failed and what is left (the journal keeps the plan for resume)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar, RichLog, Static

from fleettui.domain.plan import Plan
from fleettui.format import printable
from fleettui.ui.dialogs.fit import FitsScreen
from fleettui.ui.dialogs.plan_view import plan_renderable
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter


class ProgressScreen(FitsScreen, ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "close", "Close"),
                # a rollout's controls (the same as `fleettui rollout promote|promote-full|pause|resume|abort`)
                Binding("P", "rollout('promote')", "Promote", tooltip="Next step now (skips the rest of the bake)"),
                Binding("F", "rollout('promote_full')", "Promote 100%", tooltip="Straight to 100% (still verified)"),
                Binding("Z", "rollout('pause')", "Pause/resume", tooltip="Pause or resume the bake"),
                Binding("X", "rollout('abort')", "Abort", tooltip="All traffic back to the stable generation now")]
    FIT_SCROLL = "#progress-log"

    def __init__(self, plan: Plan, *, resuming: bool = False) -> None:
        super().__init__(id="progress")
        self.plan = plan
        self.resuming = resuming
        self.finished = False
        self.failed = False
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="progress-box", classes="dialog"):
            yield Static(plan_renderable(self.plan, lambda n: rich_color(self.app, n), steps=False),
                         id="progress-plan")
            yield ProgressBar(total=max(1, len(self.plan.steps)), show_eta=False, id="progress-bar")
            yield RichLog(id="progress-log", wrap=True, markup=False, highlight=False, min_width=20)
            if self.plan.verb == "rollout":
                yield Static("", id="progress-rollout")
            yield Static("", id="progress-result")
            yield Label("running… the plan goes on until it finishes or fails", classes="hint", id="progress-hint")
        yield FleetFooter()

    def on_mount(self) -> None:
        verb = "resuming" if self.resuming else "running"
        self.query_one("#progress-box").border_title = Content(printable(f"{verb} {self.plan.verb} {self.plan.service}"))
        # room for every step's start and end line, up to a screenful
        self.query_one(RichLog).styles.height = max(4, min(16, 2 * len(self.plan.steps) + 2))
        if self.plan.verb == "rollout":
            self.set_interval(1.0, self.show_rollout)
        self.fit()

    def show_rollout(self) -> None:
        """The rollout's state from the journal: step, weights, bake countdown, the last analysis."""
        from fleettui.ui.widgets.status import rollout_lines

        if not self.finished:
            lines = rollout_lines(self.app, self.plan.service)
            self.query_one("#progress-rollout", Static).update(Content("\n").join(lines) if lines else "")

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "rollout":
            return self.plan.verb == "rollout" and not self.finished and not self.app.read_only
        return True

    def action_rollout(self, what: str) -> None:
        if what == "pause":
            from fleettui.actions import rollouts

            v = rollouts.view(self.app.journal, self.plan.service)
            what = "resume" if v is not None and v.phase == "paused" else "pause"
        self.app.flows.control(self.plan.service, what)

    def _c(self, name: str) -> str:
        return rich_color(self.app, name)

    def on_step(self, event) -> None:
        """The executor's StepEvent callback."""
        from fleettui.actions.api import describe_event

        text = describe_event(event)
        self.lines.append(text)
        style = {"succeeded": self._c("text-success"), "failed": self._c("text-error"),
                 "skipped": self._c("text-muted"), "started": ""}[event.state]
        self.query_one(RichLog).write(Text(text, style=style))
        if event.state in ("succeeded", "skipped"):
            self.query_one(ProgressBar).advance(1)

    def finish(self, outcome) -> None:
        self.finished = True
        result = self.query_one("#progress-result", Static)
        if self.plan.verb == "rollout":
            self.query_one("#progress-rollout", Static).display = False
        if outcome.ok:
            self.query_one(ProgressBar).update(progress=len(self.plan.steps))
            result.update(Text(f"✓ done: {printable(self.plan.summary)}", style=f"bold {self._c('text-success')}"))
        elif outcome.status == "aborted":     # a rollout rolled back: over, nothing to resume
            self.failed = True
            result.update(Text(f"✗ aborted: {printable(outcome.error)}\nthe rollout is over (plan {self.plan.id}, "
                               "`fleettui audit` has the evidence)", style=f"bold {self._c('text-error')}"))
        else:
            self.failed = True
            left = [s.id for s in self.plan.steps if s.id not in outcome.done]
            step = outcome.failed_step
            text = Text(f"✗ failed at {step.id if step else '?'}", style=f"bold {self._c('text-error')}")
            if step is not None:
                text.append(f" ({printable(step.description)})")
            text.append(f": {printable(outcome.error)}\n", style=self._c("text-error"))
            text.append(f"not done: {', '.join(left) or 'nothing'}. The journal keeps plan {self.plan.id}: "
                        f"fleettui offers to resume it at start-up (or `fleettui resume {self.plan.id}`).",
                        style=self._c("text-warning"))
            result.update(text)
        self._done_hint()

    def finish_error(self, message: str) -> None:
        """The plan could not start or stopped outside a step (lock held, refused, AWS unreachable)."""
        self.finished = True
        self.failed = True
        self.query_one("#progress-result", Static).update(
            Text(f"✗ {printable(message)}", style=f"bold {self._c('text-error')}"))
        self._done_hint()

    def _done_hint(self) -> None:
        self.query_one("#progress-hint", Label).update("enter/esc closes · the fleet refreshes")
        self.query_one("#progress-box").add_class("-failed" if self.failed else "-done")
        self.fit()

    def action_close(self) -> None:
        if not self.finished:
            self.notify("the plan is running: it stops on its own when it finishes or a step fails",
                        severity="warning")
            return
        self.dismiss(None)
