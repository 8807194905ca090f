"""The verbs: one module each, one registry. The CLI's subcommands, the TUI's action keys, the help screen and
each plan's own guardrail are all read from :data:`VERBS`; adding a verb is one module and one line here."""
from __future__ import annotations

from fleettui.actions.verbs import decommission, launch, replace, resize, rollback, rollout, shift
from fleettui.actions.verbs.base import Intent, Selection, Verb
from fleettui.actions.verbs.decommission import Decommission
from fleettui.actions.verbs.launch import Launch
from fleettui.actions.verbs.replace import Replace
from fleettui.actions.verbs.resize import Resize
from fleettui.actions.verbs.rollback import Rollback
from fleettui.actions.verbs.rollout import Rollout
from fleettui.actions.verbs.shift import Shift

VERBS: dict[str, Verb] = {v.name: v for v in (
    replace.VERB, launch.VERB, shift.VERB, rollback.VERB, decommission.VERB, rollout.VERB,  # the TUI's key order
    resize.VERB,                                                                            # CLI only (no key yet)
)}

__all__ = ["VERBS", "Verb", "Intent", "Selection", "Replace", "Launch", "Shift", "Rollback", "Decommission", "Rollout",
           "Resize"]
