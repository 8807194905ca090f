"""The `/` filter and `:` command lines: a prefix, a compact Input, and an inline error line under it."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from fleettui.format import printable


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
    }
    """

    def __init__(self, prefix: str, placeholder: str, hint: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.prefix = prefix
        self.placeholder = placeholder
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.prefix, classes="prefix")
            yield Input(placeholder=self.placeholder, compact=True, select_on_focus=False)
            yield Label(self.hint, classes="hint")
        yield Static("", classes="error", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

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

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")
