"""The `/` filter and `:` command lines: a prefix, a compact Input, and an inline error line under it.

:class:`KeyInput` is the Input every prompt and dialog field uses. It runs its own key bindings (backspace,
ctrl+u, enter, Tab completion…) as each key arrives, in order: a stock Input only inserts printable keys itself
and leaves the rest to bubble up to the app, so in a burst (`C-u drift`, `drifx⌫t`) the later letters were
typed before the earlier ctrl+u or backspace was applied.
"""
from __future__ import annotations

from os.path import commonprefix
from typing import Callable

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from fleettui.format import printable

Completer = Callable[[str], list[str]]      # the field's value -> the values it could be completed to


class KeyInput(Input):
    BINDINGS = [Binding("tab", "complete", "Complete", show=False)]

    def __init__(self, *args, completer: Completer | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.completer = completer
        self.choices: list[str] = []          # what the last ambiguous Tab could complete to

    async def _on_key(self, event: events.Key) -> None:
        event.from_input = True               # the app does not replay it (see FleetApp.on_key)
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if self.check_action(binding.action, ()) and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "complete" and self.completer is None:
            return False                      # a plain field: Tab moves the focus as usual
        return super().check_action(action, parameters)

    def action_complete(self) -> None:
        """Tab: complete to the longest common prefix of the candidates; when that adds nothing, list them."""
        value = self.value
        candidates = self.completer(value) if self.completer else []
        self.choices = []
        if not candidates:
            self.app.bell()
            return
        common = commonprefix(candidates)
        if len(candidates) == 1:
            common = candidates[0]
        if len(common) > len(value):
            self.value = common
            self.cursor_position = len(common)
        if len(candidates) > 1:
            self.choices = candidates
        self.post_message(self.Completed(self, self.choices))

    class Completed(Message):
        """Tab was pressed: ``choices`` are the values still possible (empty when it completed to one)."""

        def __init__(self, input: "KeyInput", choices: list[str]) -> None:
            super().__init__()
            self.input = input
            self.choices = choices


class PromptBar(Vertical):
    DEFAULT_CSS = """
    PromptBar {
        height: auto;
        display: none;
        background: $surface;
        &.-shown { display: block; }
        Horizontal { height: 1; }
        .prefix { width: auto; padding: 0 0 0 1; color: $text-accent; text-style: bold; }
        Input { width: 1fr; }
        .hint { width: auto; color: $text-muted; padding: 0 1; }
        .error { display: none; color: $text-error; padding: 0 1 0 3; }
        .error.-shown { display: block; }
        .choices { display: none; color: $text-muted; padding: 0 1 0 3; }
        .choices.-shown { display: block; }
    }
    Screen.-narrow PromptBar .hint { display: none; }
    """

    def __init__(self, prefix: str, placeholder: str, hint: str = "", *, completer: Completer | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.prefix = prefix
        self.placeholder = placeholder
        self.hint = hint
        self.completer = completer

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.prefix, classes="prefix")
            yield KeyInput(placeholder=self.placeholder, compact=True, select_on_focus=False,
                           completer=self.completer)
            yield Label(self.hint, classes="hint")
        yield Static("", classes="error", markup=False)
        yield Static("", classes="choices", markup=False)

    @property
    def input(self) -> KeyInput:
        return self.query_one(KeyInput)

    @property
    def value(self) -> str:
        return self.input.value

    @property
    def error(self) -> str:
        return getattr(self, "_message", "")

    def set_error(self, message: str | None) -> None:
        if (message or "") == getattr(self, "_message", ""):
            return                      # unchanged: no relayout on every keystroke
        self._message = message or ""
        err = self.query_one(".error", Static)
        err.update(f"✗ {printable(message)}" if message else "")   # it quotes what the operator typed
        err.set_class(bool(message), "-shown")

    def show_choices(self, choices: list[str]) -> None:
        box = self.query_one(".choices", Static)
        box.update("tab: " + "  ".join(choices[:12]) + ("  …" if len(choices) > 12 else "") if choices else "")
        box.set_class(bool(choices), "-shown")

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.show_choices([])

    def on_key_input_completed(self, event: KeyInput.Completed) -> None:
        self.show_choices(event.choices)

    def open(self, value: str | None = None) -> None:
        self.add_class("-shown")
        if value is not None:
            self.input.value = value
            self.input.cursor_position = len(value)
        # focus now, not on the next loop turn (Widget.focus defers): keys typed or pasted right after `/` or `:`
        # are already queued, and would otherwise reach the table (where `g`, `G`, `j`… are bindings)
        self.screen.set_focus(self.input)

    def close(self) -> None:
        self.remove_class("-shown")
        self.set_error(None)
        self.show_choices([])

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")
