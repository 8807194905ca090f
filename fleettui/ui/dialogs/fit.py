"""What every dialog does to fit the terminal (80×24 too): below 32 rows its fields and buttons are one line
high, and the part that scrolls (the plan, the step log) gets the rows the rest leaves, so the typed-phrase
field and the buttons are always on screen."""
from __future__ import annotations

from textual.widgets import Button, Input

SHORT = 32           # rows: below this, compact fields and buttons


class FitsScreen:
    FIT_SCROLL: str = ""          # selector of the part that scrolls

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        short = self.app.size.height < SHORT
        self.set_class(short, "-short")
        for w in self.query(Input):
            w.compact = short
        for b in self.query(Button):
            b.compact = short
        if self.FIT_SCROLL:
            self.call_after_refresh(self._fit_scroll)

    def _fit_scroll(self) -> None:
        scrolls = self.query(self.FIT_SCROLL)
        if not scrolls:
            return
        part = scrolls.first()
        box = part.parent
        others = sum(c.outer_size.height + c.styles.margin.top + c.styles.margin.bottom
                     for c in box.children if c is not part and c.display)
        footer = 1
        chrome = 2 + part.styles.margin.top + part.styles.margin.bottom     # the box's border, the part's margin
        room = max(3, int((self.app.size.height - footer) * 0.94) - chrome - others)
        if part.styles.max_height is None or part.styles.max_height.value != room:
            part.styles.max_height = room


class FormDialog(FitsScreen):
    """A dialog with fields, an error line (``#<ERROR>``, plain text: what the operator typed is shown as typed) and
    Plan / Cancel buttons; enter in a field plans. Subclasses define ``action_plan`` and ``action_cancel``."""

    ERROR: str = ""

    def form_end(self):
        """The error line, Cancel / Plan and the hint: the end of every form (``yield from`` in compose)."""
        from textual.containers import Horizontal
        from textual.widgets import Label, Static

        yield Static("", id=self.ERROR, classes="error")
        with Horizontal(classes="buttons"):
            yield Button("Cancel", id="cancel")
            yield Button("Plan", id="plan", variant="primary")
        yield Label("enter plans (nothing runs before the confirmation) · esc cancels", classes="hint")

    def _error(self, message: str | None) -> None:
        from rich.text import Text
        from textual.widgets import Static

        from fleettui.format import printable

        err = self.query_one(f"#{self.ERROR}", Static)
        err.update(Text(f"✗ {printable(message)}") if message else "")
        err.set_class(bool(message), "-shown")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_plan()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_plan() if event.button.id == "plan" else self.action_cancel()
