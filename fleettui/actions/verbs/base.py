"""What a verb is: its intent, its command-line arguments, its key in the TUI, its planner and its own
guardrail. One module per verb (``fleettui/actions/verbs/<verb>.py``) defines an intent dataclass and a
:class:`Verb`; :data:`fleettui.actions.verbs.VERBS` lists them, and the CLI, the TUI's keys, the help screen and
the guardrails are all driven from there."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from fleettui.config import ServiceConfig
from fleettui.domain.model import Service, Snapshot
from fleettui.domain.plan import Plan

if TYPE_CHECKING:
    from fleettui.actions.api import Actions


@dataclass(frozen=True)
class Intent:
    """What the operator asked for, from a key press or a command line. Each verb subclasses it."""

    service: str
    verb: ClassVar[str] = ""


@dataclass(frozen=True)
class Selection:
    """What the operator has on screen when pressing a verb's key."""

    service: Service
    generation: str | None = None        # the generation under the cursor
    marks: tuple[str, ...] = ()          # marked hosts of this service


class Verb:
    name: ClassVar[str]
    help: ClassVar[str]                  # one line: CLI help, TUI tooltip
    key: ClassVar[str | None] = None     # TUI key (shift mutates, ctrl destroys)
    label: ClassVar[str] = ""            # footer label
    tooltip: ClassVar[str] = ""          # the key's longer description (help screen, footer tooltip)
    dialog: ClassVar[str | None] = None  # a TUI dialog that asks for the intent's values (e.g. "weights")
    intent: ClassVar[type[Intent]]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")

    def intent_from_args(self, args: argparse.Namespace) -> Intent:
        return self.intent(service=args.service)

    def intent_for(self, selection: Selection) -> Intent:
        """The intent of a key press (raise PlanError with what the operator should do instead)."""
        return self.intent(service=selection.service.name)

    async def plan(self, actions: "Actions", intent: Any, snapshot: Snapshot) -> Plan:
        raise NotImplementedError

    def refusal(self, plan: Plan, snapshot: Snapshot, cfg: ServiceConfig) -> str | None:
        """This verb's own guardrail (the common ones are in fleettui.actions.guardrails)."""
        return None
