"""Step kinds: what each step of a plan does in AWS. One module per subject (hosts, target groups, listener,
Auto Scaling); each handler is registered here with :func:`kind` and must be safe to run again (a plan cut
off anywhere is resumed by re-running the steps not yet journaled as succeeded).

A handler takes a :class:`StepContext` and returns a detail dict for the journal (or None).

A step kind may also have a precondition (:func:`precheck`, in :mod:`fleettui.actions.steps.checks`): reads of
what the step depends on, run by the executor right before the step, fresh or resumed. When the world moved
(a replacement host is gone, the listener was changed by someone else) it raises :class:`WorldMoved` with one
line, and the plan stops there, resumable.
"""
from __future__ import annotations

from fleettui.actions.steps.base import (  # noqa: F401  (the registry's public names)
    CHECKS, PLAN_TAG, STEP_TAG, STEPS, StepContext, StepKind, Stopped, WorldMoved, kind, precheck,
)


def load() -> dict[str, StepKind]:
    """The registry with every step module imported."""
    from fleettui.actions.steps import autoscaling, checks, hosts, listener, rollout, target_groups  # noqa: F401

    return STEPS
