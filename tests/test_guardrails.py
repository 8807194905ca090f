"""Guardrails on hand-made snapshots (pure: no server), with the real planners: the order of the refusals, the
capacity bound at its edge, and the typed phrase a capacity drop requires. The same guardrails end to end on
moto are in tests/test_actions.py; these run in milliseconds, for mutation testing (README "Test strength").

web: 1.4 (8 hosts), 1.5 (4), 1.6 (3) behind one listener; weights per test.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from fleettui.actions.guardrails import check, refusal
from fleettui.actions.verbs.decommission import plan_decommission
from fleettui.actions.verbs.rollback import plan_rollback
from fleettui.actions.verbs.shift import plan_shift
from fleettui.domain.build import RawService, build_service
from fleettui.domain.model import Snapshot

from test_rules import NOW, image, inst, lt, svc_cfg

LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/x/y"
TG = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-{}/x"
VERSIONS = {"a": ("1.4", 60, 8), "b": ("1.5", 25, 4), "c": ("1.6", 2, 3)}    # key: (version, image age, hosts)


def fleet(weights: dict[str, int], *, unhealthy: frozenset[str] = frozenset(), min_healthy: int = 75):
    """(snapshot, service config) of web with these listener weights by version."""
    cfg = svc_cfg(listener_arn=LISTENER, min_healthy_percent=min_healthy)
    images, hosts, tgs, lts = {}, [], {}, []
    for n, (key, (version, age, count)) in enumerate(VERSIONS.items(), 1):
        images[f"ami-{key}"] = image(f"ami-{key}", version, age)
        lts.append(lt(n, f"ami-{key}", default=n == len(VERSIONS)))
        ids = [f"i-{key}{k}" for k in range(count)]
        hosts += [inst(i, f"ami-{key}", n, age - 1) for i in ids]
        tgs[TG.format(key)] = {"name": f"web-{key}", "tags": {"fleettui:version": version},
                               "health": {i: "unhealthy" if i in unhealthy else "healthy" for i in ids}}
    listener = {"ListenerArn": LISTENER, "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": TG.format(k), "Weight": weights.get(v, 0)} for k, (v, _, _) in VERSIONS.items()]}}]}
    raw = RawService(config=cfg, instances=hosts, images=images, lt_versions={"us-east-1": lts},
                     listener=listener, target_groups=tgs, rules={LISTENER: []})
    svc = build_service(raw, NOW)
    return Snapshot(generated_at=NOW, regions=("us-east-1",), services=(svc,)), cfg


def test_read_only_refuses_first():
    snap, cfg = fleet({"1.5": 90, "1.6": 10})
    plan = plan_decommission(snap, cfg, "1.5")                        # a verb refusal too
    assert refusal(plan, snap, cfg, read_only=True) == (
        "read-only mode: no mutation is allowed (start without --read-only / read_only = false)")
    assert refusal(plan, snap, cfg, read_only=False) == "1.5 still takes 90% of traffic: shift its weight to 0 first"


def test_a_plan_for_a_service_missing_from_the_snapshot_is_refused():
    snap, cfg = fleet({"1.5": 100})
    plan = plan_shift(snap, cfg, {"1.5": 100})
    empty = replace(snap, services=())
    assert refusal(plan, empty, cfg, read_only=False) == "service web is not in the snapshot"


def test_the_verb_refuses_before_the_capacity_guard():
    """1.6 has no healthy host: the shift's own refusal, not 'capacity would drop to 0%'."""
    snap2, cfg2 = fleet({"1.5": 100}, unhealthy=frozenset({"i-c0", "i-c1", "i-c2"}))
    plan = plan_shift(snap2, cfg2, {"1.6": 100})
    assert plan.capacity_min == 0
    assert refusal(plan, snap2, cfg2, read_only=False) == (
        "1.6 has no healthy targets: refusing to send it 100% of traffic")


@pytest.mark.parametrize("min_healthy, refused", [(75, None), (76, "healthy capacity would drop to 75% "
                                                                    "(min_healthy_percent is 76%)")])
def test_capacity_at_the_bound_is_allowed_one_above_is_refused(min_healthy, refused):
    """1.6 (3 hosts) takes all of live 1.5's (4 hosts) traffic: 75% of today's capacity."""
    snap, cfg = fleet({"1.5": 100}, min_healthy=min_healthy)
    plan = check(plan_shift(snap, cfg, {"1.6": 100}), snap, cfg, read_only=False)
    assert plan.capacity_min == 75
    assert plan.refusal == refused


def test_capacity_uses_the_least_provisioned_receiving_generation():
    snap, cfg = fleet({"1.4": 100})                                   # live 1.4: 8 hosts for 100%
    plan = plan_shift(snap, cfg, {"1.5": 70, "1.6": 30})            # 4 for 70% (57/100), 3 for 30% (100/100)
    assert plan.capacity_min == 71
    plan = plan_shift(snap, cfg, {"1.4": 40, "1.5": 30, "1.6": 30})
    assert plan.capacity_min == 100                                   # 1.5: 4 for 30% is more than 8 for 100%


def test_capacity_drop_asks_for_the_shortest_generation_by_name():
    """The typed phrase names the generation with the fewest healthy hosts per share of traffic: 1.5 (4 hosts
    for 70%), not 1.6 (fewer hosts, 3, but for 30%)."""
    snap, cfg = fleet({"1.4": 100}, min_healthy=50)
    plan = check(plan_shift(snap, cfg, {"1.5": 70, "1.6": 30}), snap, cfg, read_only=False)
    assert (plan.refusal, plan.confirm_phrase) == (None, "web 1.5")
    plan = check(plan_shift(snap, cfg, {"1.4": 50, "1.5": 50}), snap, cfg, read_only=False)
    assert (plan.capacity_min, plan.confirm_phrase) == (100, None)    # nothing drops: y is enough


def test_a_plans_own_generation_and_phrase_are_kept():
    snap, cfg = fleet({"1.4": 0, "1.5": 90, "1.6": 10})
    plan = check(plan_decommission(snap, cfg, "1.4"), snap, cfg, read_only=False)
    assert (plan.refusal, plan.confirm_phrase) == (None, "web 1.4")
    snap, cfg = fleet({"1.4": 100}, min_healthy=40)
    plan = check(plan_rollback(snap, cfg, to="1.6"), snap, cfg, read_only=False)   # 1.6: 3 hosts for 100%
    assert (plan.capacity_min, plan.refusal, plan.confirm_phrase) == (37, "1.6 has 3 healthy hosts; all traffic "
                                                                       "needs at least 4 (40% of the 8 healthy "
                                                                       "hosts of live 1.4)", "web 1.6")


def test_decommissioning_the_last_healthy_generation_alone_is_refused():
    """1.5 takes all the traffic with no healthy host (the capacity guard has nothing to lose); 1.4 and 1.6 take
    none: decommissioning 1.6 leaves healthy 1.4, decommissioning 1.4 then would leave none."""
    sick = frozenset({"i-b0", "i-b1", "i-b2", "i-b3"})
    snap, cfg = fleet({"1.5": 100}, unhealthy=sick)
    assert refusal(plan_decommission(snap, cfg, "1.6"), snap, cfg, read_only=False) is None
    unhealthy_c = sick | {"i-c0", "i-c1", "i-c2"}
    snap, cfg = fleet({"1.5": 100}, unhealthy=unhealthy_c)
    plan = plan_decommission(snap, cfg, "1.4")
    assert plan.capacity_min == 100
    assert refusal(plan, snap, cfg, read_only=False) == "1.4 is the last generation with healthy hosts"


def test_check_applies_read_only_and_still_asks_for_a_phrase_without_the_service():
    snap, cfg = fleet({"1.4": 100})
    plan = plan_shift(snap, cfg, {"1.5": 70, "1.6": 30})              # capacity 71%
    assert check(plan, snap, cfg, read_only=True).refusal.startswith("read-only mode")
    gone = check(plan, replace(snap, services=()), cfg, read_only=False)
    assert (gone.refusal, gone.confirm_phrase) == ("service web is not in the snapshot", "web")
    bare = check(replace(plan, weights_after={}), snap, cfg, read_only=False)    # no generation takes traffic
    assert bare.confirm_phrase == "web"
