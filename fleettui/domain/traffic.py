"""A load balancer's traffic as typed values: which target groups each listener rule forwards to, with which
weights. Pure: parsed from DescribeListeners / DescribeRules items, turned back into the action AWS takes.

One :class:`Forward` per forwarding rule (a listener's default action, or a non-default rule). Weights are kept
exactly as AWS holds them (integers 0-999 per target group); percentages are derived.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Iterable, Mapping

DEFAULT = "default"


@dataclass(frozen=True)
class Forward:
    listener_arn: str
    groups: tuple[tuple[str, int], ...]          # (target group ARN, weight) in AWS's order
    rule_arn: str | None = None                  # None: the listener's default action
    priority: str = DEFAULT                      # "default" or the rule's priority
    conditions: str = ""                         # the rule's conditions in words ("path /static/*")
    stickiness: Mapping[str, Any] | None = None  # TargetGroupStickinessConfig, kept on writes

    @property
    def is_default(self) -> bool:
        return self.rule_arn is None

    @property
    def total(self) -> int:
        return sum(w for _, w in self.groups)

    @property
    def target_groups(self) -> tuple[str, ...]:
        return tuple(a for a, _ in self.groups)

    def weight(self, arn: str) -> int:
        return sum(w for a, w in self.groups if a == arn)

    def percent(self, arns: Iterable[str]) -> float:
        """Share of this rule's traffic that goes to ``arns``, exactly (0.0-100.0)."""
        wanted = set(arns)
        total = self.total
        return 100.0 * sum(w for a, w in self.groups if a in wanted) / total if total else 0.0

    def with_weights(self, weights: Mapping[str, int]) -> "Forward":
        """The same rule with ``weights`` for the groups named (others keep theirs; new ones are appended)."""
        groups = [(a, int(weights.get(a, w))) for a, w in self.groups]
        groups += [(a, int(w)) for a, w in weights.items() if a not in self.target_groups]
        return replace(self, groups=tuple(groups))

    def without(self, arns: Iterable[str]) -> "Forward":
        drop = set(arns)
        return replace(self, groups=tuple((a, w) for a, w in self.groups if a not in drop))

    @property
    def where(self) -> str:
        """The rule in words, for plans and errors."""
        if self.is_default:
            return f"default action of listener {self.listener_arn.rsplit('/', 3)[-3]}"
        return f"rule {self.priority} ({self.conditions or 'no conditions'}) of listener " \
               f"{self.listener_arn.rsplit('/', 3)[-3]}"

    def action(self) -> dict[str, Any]:
        """The forward action to send to ModifyListener / ModifyRule."""
        forward: dict[str, Any] = {"TargetGroups": [{"TargetGroupArn": a, "Weight": int(w)} for a, w in self.groups]}
        if self.stickiness:
            forward["TargetGroupStickinessConfig"] = dict(self.stickiness)
        return {"Type": "forward", "ForwardConfig": forward}


def _parse_action(actions: Iterable[Mapping[str, Any]] | None) -> tuple[tuple[tuple[str, int], ...],
                                                                          Mapping[str, Any] | None] | None:
    for action in actions or ():
        if action.get("Type") != "forward":
            continue
        config = action.get("ForwardConfig") or {}
        groups = config.get("TargetGroups")
        if groups:
            pairs = tuple((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups)
        elif action.get("TargetGroupArn"):
            pairs = ((action["TargetGroupArn"], 1),)
        else:
            continue
        sticky = config.get("TargetGroupStickinessConfig")
        return pairs, (MappingProxyType(dict(sticky)) if sticky else None)
    return None


def _conditions(rule: Mapping[str, Any]) -> str:
    out = []
    for c in rule.get("Conditions") or ():
        name = c.get("Field", "?")
        values = c.get("Values") or []
        for key in ("PathPatternConfig", "HostHeaderConfig", "HttpRequestMethodConfig", "SourceIpConfig"):
            values = values or (c.get(key) or {}).get("Values") or []
        out.append(f"{name.replace('-pattern', '').replace('-header', '')} {','.join(values)}".strip())
    return "; ".join(out)


def forwards_of_listener(listener: Mapping[str, Any]) -> list[Forward]:
    """The listener's default action, if it forwards."""
    parsed = _parse_action(listener.get("DefaultActions"))
    if parsed is None:
        return []
    return [Forward(listener_arn=listener.get("ListenerArn", ""), groups=parsed[0], stickiness=parsed[1])]


def forwards_of_rules(listener_arn: str, rules: Iterable[Mapping[str, Any]]) -> list[Forward]:
    """The non-default rules of a listener (DescribeRules items) that forward."""
    out = []
    for rule in rules:
        if rule.get("IsDefault"):
            continue
        parsed = _parse_action(rule.get("Actions"))
        if parsed is None:
            continue
        out.append(Forward(listener_arn=listener_arn, groups=parsed[0], rule_arn=rule["RuleArn"],
                           priority=str(rule.get("Priority", "?")), conditions=_conditions(rule),
                           stickiness=parsed[1]))
    return out


@dataclass(frozen=True)
class Traffic:
    """Every forwarding rule of a service's load balancer; ``primary`` is the configured listener's default."""

    forwards: tuple[Forward, ...] = ()
    primary_listener: str | None = None

    @property
    def primary(self) -> Forward | None:
        return next((f for f in self.forwards if f.is_default and f.listener_arn == self.primary_listener), None)

    @property
    def target_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for f in self.forwards for a in f.target_groups))

    def rules_to(self, arns: Iterable[str]) -> list[Forward]:
        """The rules that send any traffic (weight > 0) to one of ``arns``."""
        wanted = set(arns)
        return [f for f in self.forwards if any(a in wanted and w > 0 for a, w in f.groups)]


def traffic_of(primary_listener: str | None, listeners: Iterable[Mapping[str, Any]],
               rules: Mapping[str, Iterable[Mapping[str, Any]]] = MappingProxyType({})) -> Traffic:
    forwards: list[Forward] = []
    for listener in listeners:
        forwards += forwards_of_listener(listener)
        arn = listener.get("ListenerArn", "")
        forwards += forwards_of_rules(arn, rules.get(arn, ()))
    return Traffic(forwards=tuple(forwards), primary_listener=primary_listener)

