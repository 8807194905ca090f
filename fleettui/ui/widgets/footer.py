"""The key bar of the screen or dialog in front. Every screen and dialog has its own (a dialog's keys are not
the main screen's). When the keys do not fit the width, the screen's ``FOOTER_DROP`` actions (read keys that
help lists) go first, so the action keys, help and quit stay visible at 80 columns; a screen's
``footer_hides(binding)`` leaves keys out (the mutating keys in read-only mode)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

WIDE = 130


class FleetFooter(Footer):
    def __init__(self, **kwargs) -> None:
        super().__init__(show_command_palette=False, **kwargs)
        self._width = 0

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        screen = self.screen
        hides = getattr(screen, "footer_hides", None)
        keys: dict[str, tuple] = {}             # by action: the first key bound to it
        for _node, binding, enabled, tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in keys or (hides is not None and hides(binding)):
                continue
            keys[binding.action] = (binding, enabled, tooltip)
        width = self.size.width or self.app.size.width
        compact = width < WIDE

        def cost() -> int:
            pad = 2 if compact else 3
            return sum(len(self.app.get_key_display(b)) + len(b.description) + pad for b, _, _ in keys.values())

        for action in getattr(screen, "FOOTER_DROP", ()):
            if cost() <= width:
                break
            keys.pop(action, None)
        for binding, enabled, tooltip in keys.values():
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            disabled=not enabled, tooltip=tooltip).data_bind(compact=Footer.compact)

    def on_resize(self) -> None:
        width = self.size.width
        self.compact = width < WIDE
        if width != self._width:
            self._width = width
            if self._bindings_ready:
                self.call_after_refresh(self.recompose)
