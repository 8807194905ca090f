"""Confirm a plan (posting style: a ModalScreen, y / n / escape). Cancel is focused; a refused plan cannot run;
when the plan asks for a typed phrase, Run stays disabled until it matches. Dismisses with the reason (str) to
run, or None to cancel; with ``choose_target`` (the rollback plan), ``t`` dismisses with :data:`CHOOSE_TARGET`."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from fleettui.domain.plan import Plan
from fleettui.actions.api import MAX_REASON
from fleettui.format import printable
from fleettui.ui.dialogs.fit import FitsScreen
from fleettui.ui.dialogs.plan_view import plan_renderable
from fleettui.ui.widgets.colors import rich_color
from fleettui.ui.widgets.footer import FleetFooter
from fleettui.ui.widgets.prompt import KeyInput as Input

CHOOSE_TARGET = "\0choose-target"       # what `t` dismisses with: never a reason (no NUL gets through the Input)


class ConfirmPlanDialog(FitsScreen, ModalScreen[str | None]):
    """Focus moves Cancel → reason → phrase → Run (Tab; shift+Tab back); the plan scrolls with pgup/pgdn."""

    BINDINGS = [
        Binding("y", "run", "Run"),
        Binding("n,escape", "cancel", "Cancel"),
        Binding("t", "choose_target", "Target", tooltip="Choose another rollback target"),
        Binding("tab", "focus_step(1)", "Next field", show=False),
        Binding("shift+tab", "focus_step(-1)", "Previous field", show=False),
        Binding("pagedown", "scroll_plan(1)", "Scroll plan", show=False),
        Binding("pageup", "scroll_plan(-1)", "Scroll plan", show=False),
    ]
    FIT_SCROLL = "#confirm-plan"

    def __init__(self, plan: Plan, *, title: str | None = None, resume_note: str | None = None,
                 choose_target: bool = False) -> None:
        super().__init__(id="confirm")
        self.plan = plan
        self.choose_target = choose_target
        self.title_text = title or f"{plan.verb} {plan.service}"
        self.resume_note = resume_note

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            with VerticalScroll(id="confirm-plan", can_focus=False):
                yield Static(plan_renderable(self.plan, lambda n: rich_color(self.app, n)), id="confirm-body")
                if self.resume_note:
                    yield Static(self.resume_note, id="confirm-note", markup=False)
            yield Input(placeholder="reason (goes to the journal), e.g. INC-1234 bad deploy", id="reason",
                        max_length=MAX_REASON)
            if self.plan.confirm_phrase and self.plan.runnable:
                yield Label(Content.assemble("Type ", (printable(self.plan.confirm_phrase), "bold"), " to confirm:"),
                            id="phrase-label")
                yield Input(placeholder=printable(self.plan.confirm_phrase), id="phrase")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button("Run", id="run", variant="error", disabled=not self._can_run(""))
            yield Label(self._hint(), classes="hint")
        yield FleetFooter()

    def _hint(self) -> str:
        target = " · t: another target" if self.choose_target else ""
        if not self.plan.runnable:
            return f"this plan cannot run · n/esc closes{target}"
        if self.plan.confirm_phrase:
            return f"type the phrase, then Run · n/esc cancels{target}"
        return f"y runs · n/esc cancels{target} · tab: reason"

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return self.choose_target if action == "choose_target" else True

    def action_choose_target(self) -> None:
        self.dismiss(CHOOSE_TARGET)

    def on_mount(self) -> None:
        box = self.query_one("#confirm-box")
        box.border_title = Content(printable(self.title_text))
        if self.plan.refusal:
            box.add_class("-refused")
        self.query_one("#cancel", Button).focus()
        self.fit()

    def action_focus_step(self, step: int) -> None:
        order = [w for w in (self.query_one("#cancel"), self.query_one("#reason"), *self.query("#phrase"),
                             self.query_one("#run")) if w.focusable]
        current = self.focused if self.focused in order else order[0]
        order[(order.index(current) + step) % len(order)].focus()

    def action_scroll_plan(self, direction: int) -> None:
        plan = self.query_one("#confirm-plan", VerticalScroll)
        plan.scroll_page_down() if direction > 0 else plan.scroll_page_up()

    def _can_run(self, phrase: str) -> bool:
        if not self.plan.runnable:
            return False
        return not self.plan.confirm_phrase or phrase.strip() in (self.plan.confirm_phrase,
                                                                  printable(self.plan.confirm_phrase))

    def _phrase(self) -> str:
        inputs = self.query("#phrase")
        return inputs.first(Input).value if inputs else ""

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "phrase":
            self.query_one("#run", Button).disabled = not self._can_run(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._can_run(self._phrase()):
            self.action_run()
        elif event.input.id == "reason" and self.query("#phrase"):
            self.query_one("#phrase", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "run":
            self.action_run()
        else:
            self.action_cancel()

    def action_run(self) -> None:
        if not self.plan.runnable:
            self.notify(f"refused: {printable(self.plan.refusal or 'the plan has no steps')}", severity="error",
                        markup=False)
            return
        if not self._can_run(self._phrase()):
            self.notify(f"type {printable(self.plan.confirm_phrase)} to confirm", severity="warning", markup=False)
            self.query_one("#phrase", Input).focus()
            return
        self.dismiss(self.query_one("#reason", Input).value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
