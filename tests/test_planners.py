"""The planners on hand-made snapshots (pure: no server): the exact plans they produce — steps (kind, order,
region, description, parameters), weights before and after, hosts, capacity — and their refusals word for word.
The same planners run end to end against moto in tests/test_actions.py, tests/test_asg.py and
tests/test_fleet_shapes.py; these run in milliseconds, for mutation testing (README "Test strength").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fleettui.actions import planning
from fleettui.actions.planning import PlanError
from fleettui.actions.verbs.decommission import plan_decommission
from fleettui.actions.verbs.launch import LaunchTarget, plan_launch
from fleettui.actions.verbs.replace import plan_replace, relaunch_cannot_fix, select_hosts
from fleettui.actions.verbs.rollback import candidates, plan_rollback, ramp_weights
from fleettui.actions.verbs.shift import plan_shift, weights_for_shift, weights_refusal
from fleettui.domain.build import RawService, build_service
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import _thaw

from test_rules import NOW, image, inst, lt, svc_cfg

REGION = "us-east-1"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/x/y"
RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/x/y/r{}"


def tg(key: str) -> str:
    return f"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-{key}/x"


@dataclass
class G:
    """One generation of the hand-made fleet: ``hosts`` hosts of which the first ``sick`` are unhealthy."""

    version: str
    hosts: int = 2
    weight: int = 0                       # AWS weight on the listener's default action
    sick: int = 0
    tg: bool = True                       # has a target group on the listener
    asg: tuple[int, int, int] | None = None   # its own Auto Scaling group: (min, max, desired); desired 0: cold
    in_shared_asg: str | None = None      # its hosts are in this (not its own) Auto Scaling group
    tags: dict = field(default_factory=dict)  # extra tags on every host
    image_state: str = "available"
    age: float = 1.0                      # days since the first host was launched (each next one 0.1 later)
    drift: int = 0                        # the first ``drift`` hosts run another instance type than the template's
    deprecated: bool = False              # its image is deprecated
    lt: bool = True                       # a launch template version names its image


def fleet(*gens: G, listener: bool = True, rules: list[dict] = (), listeners: list[dict] = (), **cfg_kw):
    """(snapshot, service config) of web with these generations, oldest first (image ages 90, 80, 70… days)."""
    cfg = svc_cfg(listener_arn=LISTENER if listener else None, **cfg_kw)
    images, hosts, tgs, lts, groups, pairs = {}, [], {}, [], [], []
    for n, g in enumerate(gens, 1):
        key = chr(ord("a") + n - 1)
        age = 100 - 10 * n
        if g.image_state == "available":
            dep = {"DeprecationTime": "2026-11-01T00:00:00+00:00"} if g.deprecated else {}
            images[f"ami-{key}"] = image(f"ami-{key}", g.version, age, **dep)
        if g.lt:
            lts.append(lt(n, f"ami-{key}", default=n == len(gens)))
        ids = [f"i-{key}{k}" for k in range(g.hosts)]
        extra = dict(g.tags)
        asg_name = f"web-{g.version.replace('.', '-')}" if g.asg else g.in_shared_asg
        if asg_name:
            extra["aws:autoscaling:groupName"] = asg_name
        hosts += [inst(i, f"ami-{key}", n, g.age - k / 10, tags=extra,
                       **({"InstanceType": "m5.xlarge"} if k < g.drift else {})) for k, i in enumerate(ids)]
        if g.tg:
            version = g.version if g.image_state == "available" else f"ami-{key}"    # as the hosts' image says
            tgs[tg(key)] = {"name": f"web-{key}", "tags": {"fleettui:version": version},
                            "health": {i: "unhealthy" if k < g.sick else "healthy" for k, i in enumerate(ids)}}
            pairs.append((tg(key), g.weight))
        if g.asg:
            mn, mx, desired = g.asg
            groups.append({"AutoScalingGroupName": asg_name, "_region": REGION, "MinSize": mn, "MaxSize": mx,
                           "DesiredCapacity": desired, "LaunchTemplate": {"Version": str(n)},
                           "TargetGroupARNs": [tg(key)] if g.tg else [],
                           "Tags": [{"Key": "Service", "Value": "web"},
                                    {"Key": "fleettui:version", "Value": g.version}]})
    lst = None
    if listener:
        lst = {"ListenerArn": LISTENER, "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": a, "Weight": w} for a, w in pairs]}}]}
    raw = RawService(config=cfg, instances=hosts, images=images, lt_versions={REGION: lts}, listener=lst,
                     listeners=list(listeners), target_groups=tgs, rules={LISTENER: list(rules)} if listener else {},
                     asg_groups=groups)
    svc = build_service(raw, NOW)
    return Snapshot(generated_at=NOW, regions=(REGION,), services=(svc,)), cfg


def rule(n: int, path: str, *weights: tuple[str, int]) -> dict:
    """A non-default listener rule (priority 10·n, path condition) forwarding to these (target group, weight)."""
    return {"RuleArn": RULE.format(n), "Priority": str(10 * n), "IsDefault": False,
            "Conditions": [{"Field": "path-pattern", "Values": [path]}],
            "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": a, "Weight": w} for a, w in weights]}}]}


def moved(snap, region: str, *ids: str, **over):
    """The snapshot with hosts ``ids`` in another region (and other fields changed, e.g. asg)."""
    from dataclasses import replace
    s = svc(snap)
    gens = tuple(replace(g, instances=tuple(replace(i, region=region, **over) if i.id in ids else i
                                            for i in g.instances)) for g in s.generations)
    return replace(snap, services=(replace(s, generations=gens),))


def steps(plan) -> list[tuple]:
    """Every step as (id, kind, region, description, params as plain values)."""
    return [(s.id, s.kind, s.region, s.description, _thaw(s.params)) for s in plan.steps]


def head(plan) -> tuple:
    """Everything of a plan but its steps, id and creation time."""
    return (plan.verb, plan.service, plan.summary, plan.hosts_affected, plan.capacity_before, plan.capacity_min,
            dict(plan.weights_before), dict(plan.weights_after), plan.refusal, plan.warnings, plan.confirm_phrase,
            plan.generation)


def svc(snap):
    return snap.services[0]


def refused(fn, *args, **kw) -> str:
    with pytest.raises(PlanError) as e:
        fn(*args, **kw)
    return str(e.value)


THREE = (G("1.4", 4, 0), G("1.5", 4, 90), G("1.6", 2, 10))       # 1.6 is a canary at 10% of live 1.5


# -- planning.py: the shared arithmetic -----------------------------------------------------------------------

def test_service_and_generation_lookups_refuse_by_name():
    snap, cfg = fleet(*THREE)
    assert refused(planning.service_of, snap, svc_cfg(name="api")) == "service 'api' is not in the snapshot"
    assert planning.service_of(snap, cfg) is svc(snap)
    assert planning.generation_of(svc(snap), "1.5") is svc(snap).generations[1]
    assert refused(planning.generation_of, svc(snap), "9.9") == (
        "web has no generation '9.9' (generations: 1.4, 1.5, 1.6)")
    empty, _ = fleet()
    assert refused(planning.generation_of, svc(empty), "9.9") == "web has no generation '9.9' (generations: none running)"


def test_serving_is_weight_above_0_with_a_listener_and_everything_without():
    snap, _ = fleet(*THREE)
    assert [g.version for g in planning.serving(svc(snap))] == ["1.5", "1.6"]
    assert planning.healthy_serving(svc(snap)) == 6
    snap, _ = fleet(G("1.4", 4), G("1.5", 3, sick=1), listener=False)
    assert [g.version for g in planning.serving(svc(snap))] == ["1.4", "1.5"]
    assert planning.healthy_serving(svc(snap)) == 6
    assert planning.current_weights(svc(snap)) == {}


def test_serving_counts_every_generation_when_the_configured_listener_was_not_read():
    snap, cfg = fleet(G("1.4", 4), G("1.5", 3, sick=1), listener=False)
    s = svc(snap)
    from dataclasses import replace
    s = replace(s, listener_arn=LISTENER)                     # configured, but no weights known (None)
    assert [g.version for g in planning.serving(s)] == ["1.4", "1.5"]


def test_current_weights_are_exact_and_keep_generations_at_0():
    snap, _ = fleet(G("1.4", 1, 0), G("1.5", 1, 995), G("1.6", 1, 4), G("1.7", 1, tg=False))
    got = planning.current_weights(svc(snap))
    assert {v: round(w, 3) for v, w in got.items()} == {"1.4": 0, "1.5": 99.6, "1.6": 0.4, "1.7": 0}
    assert list(got) == ["1.4", "1.5", "1.6", "1.7"]


def test_service_forwards_without_traffic_is_the_configured_listener_or_nothing():
    snap, _ = fleet(G("1.4"), listener=False)
    assert planning.service_forwards(svc(snap)) == []
    from dataclasses import replace
    s = replace(svc(snap), listener_arn=LISTENER)
    fwds = planning.service_forwards(s)
    assert [(f.listener_arn, f.groups, f.rule_arn) for f in fwds] == [(LISTENER, (), None)]


def test_service_forwards_takes_every_rule_that_sends_a_generation_traffic():
    rules = [rule(1, "/static/*", (tg("c"), 1)),                        # 1.6 by path: rewritten too
             rule(2, "/old/*", (tg("a"), 0), (tg("b"), 1)),               # 1.5: rewritten
             rule(3, "/none/*", (tg("a"), 0)),                            # weight 0 only: left alone
             rule(4, "/other/*", ("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api-a/x", 1))]
    snap, _ = fleet(*THREE, rules=rules)
    fwds = planning.service_forwards(svc(snap))
    assert [(f.rule_arn, f.groups) for f in fwds] == [
        (None, ((tg("a"), 0), (tg("b"), 90), (tg("c"), 10))),
        (RULE.format(1), ((tg("c"), 1),)), (RULE.format(2), ((tg("a"), 0), (tg("b"), 1)))]


def test_service_forwards_refuses_a_rule_shared_with_another_service():
    foreign = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api-a/x"
    snap, _ = fleet(*THREE, rules=[rule(1, "/mix/*", (tg("b"), 1), (foreign, 1), (tg("q"), 0))])
    assert refused(planning.service_forwards, svc(snap)) == (
        f"rule 10 (path /mix/*) of listener web ({RULE.format(1)}) also forwards to api-a, which is not a "
        "generation of web: change that rule by hand first")
    snap, _ = fleet(*THREE, rules=[rule(1, "/mix/*", (tg("b"), 1), (foreign, 0))])    # foreign at 0: fine
    assert [f.rule_arn for f in planning.service_forwards(svc(snap))] == [None, RULE.format(1)]


@pytest.mark.parametrize("rest, shares, want", [
    (100, {"a": 1, "b": 1, "c": 1}, {"a": 34, "b": 33, "c": 33}),        # the largest remainder, first in order
    (90, {"a": 90, "b": 10}, {"a": 81, "b": 9}),
    (50, {"a": 0.4, "b": 99.6}, {"a": 0, "b": 50}),                       # 0.2 rounds to nothing
    (50, {"a": 1.4, "b": 98.6}, {"a": 1, "b": 49}),
    (7, {"a": 1, "b": 2, "c": 4}, {"a": 1, "b": 2, "c": 4}),
    (10, {"a": 1, "b": 1, "c": 1}, {"a": 4, "b": 3, "c": 3}),
    (10, {"a": 1, "b": 2}, {"a": 3, "b": 7}),                             # 3.33 / 6.67: b rounds up
    (0, {"a": 3, "b": 1}, {"a": 0, "b": 0}),
    (40, {"a": 0, "b": 0}, {"a": 0, "b": 0}),                             # nothing to split in proportion to
    (40, {}, {}),
])
def test_split_weights(rest, shares, want):
    got = planning.split_weights(rest, shares)
    assert got == want and list(got) == list(want)
    assert all(type(v) is int for v in got.values())


def test_new_host_tags_copy_what_most_peers_carry():
    snap, _ = fleet(G("1.5", 3))
    peers = list(svc(snap).instances)
    from dataclasses import replace
    peers = [replace(peers[0], tags={**peers[0].tags, "Team": "blue", "Cost": "", "Name": "web-1", "aws:x": "1",
                                     "fleettui:plan": "p"}),
             replace(peers[1], tags={**peers[1].tags, "Team": "blue", "Stage": "a", "fleettui:plan": "p"}),
             replace(peers[2], tags={**peers[2].tags, "Team": "red", "Stage": "b", "Owner": "ops"})]
    cfg = svc_cfg(required_tags=("Owner", "Cost"), tags=(("Env", "prod"), ("Team", "fixed")),
                  selector=(("Service", "web"), ("Tier", "front")))
    # Team on all 3 (blue most often) but the config's tags win; Stage on 2 of 3 (a majority of hosts carry it):
    # the first of the tied values; Owner: team 2 of 3; managed (aws:, fleettui:), Name and empty tags never
    assert planning.new_host_tags(cfg, "1.6", peers) == {
        "Service": "web", "Owner": "team", "Team": "fixed", "Stage": "a", "Env": "prod", "Tier": "front",
        "fleettui:version": "1.6"}
    assert planning.new_host_tags(svc_cfg(required_tags=()), "1.6", peers) == {
        "Service": "web", "Owner": "team", "Team": "blue", "Stage": "a", "fleettui:version": "1.6"}
    # the replaced host's own required tag wins over the peers'; a required tag nobody has is left out
    assert planning.new_host_tags(cfg, "1.6", peers, replaced=peers[2])["Owner"] == "ops"
    assert planning.new_host_tags(svc_cfg(required_tags=("Cost",)), "1.6", peers[1:2]) == {
        "Service": "web", "Owner": "team", "Team": "blue", "Stage": "a", "fleettui:version": "1.6"}


def test_new_host_tags_need_a_strict_majority_and_fall_back_on_the_peers_for_required_tags():
    snap, _ = fleet(G("1.5", 2))
    from dataclasses import replace
    a, b = svc(snap).instances
    a = replace(a, tags={**a.tags, "Team": "blue"})
    b = replace(b, tags={k: v for k, v in b.tags.items() if k != "Owner"})
    # 1 of 2 is no majority: Team is not copied; Owner (1 of 2) neither, but it is required: the most common value
    cfg = svc_cfg(required_tags=("Owner",))
    assert planning.new_host_tags(cfg, "2.0", [a, b]) == {"Service": "web", "Owner": "team",
                                                          "fleettui:version": "2.0"}
    assert planning.new_host_tags(cfg, "2.0", [a, b], replaced=b) == {"Service": "web", "Owner": "team",
                                                                      "fleettui:version": "2.0"}
    assert planning.most_common_value([a, b], "Team") == "blue"
    assert planning.most_common_value([a, b], "Nope") is None
    c = replace(b, tags={**b.tags, "Team": "red"})
    d = replace(b, tags={**b.tags, "Team": "red"})
    assert planning.most_common_value([a, c, d], "Team") == "red"


def test_require_tags_names_the_missing_ones_and_how_to_declare_them():
    cfg = svc_cfg(required_tags=("Owner", "Cost", "Team"))
    planning.require_tags(cfg, {"Owner": "x", "Cost": "y", "Team": "z"}, "launching web 1.6")
    assert refused(planning.require_tags, cfg, {"Owner": "x", "Cost": ""}, "launching web 1.6") == (
        "launching web 1.6 would miss required tag(s) Cost, Team: no host to copy them from carries them; declare "
        "them in the config ([[service]] 'web': tags = { Cost = \"…\", Team = \"…\" })")


def test_names_of_hosts_and_target_groups():
    assert planning.host_name_prefix("web", "1.6.0") == "web-1-6-0"
    assert planning.host_name_prefix("web", "v2 (beta)!") == "web-v2-beta"
    assert planning.tg_name(svc_cfg(), "1.6.0") == "web-1.6.0".replace(".", "-")
    assert planning.tg_name(svc_cfg(target_group_prefix="shop-web-"), "1.6.0") == "shop-web-1-6-0"
    assert planning.tg_name(svc_cfg(target_group_prefix="_"), "_1.6_") == "1-6"
    long = planning.tg_name(svc_cfg(), "2026.11.30-build.12345-abcdef")
    assert long == "web-2026-11-30-build-12345-abcde" and len(long) == 32
    assert planning.tg_name(svc_cfg(), "2026.11.30-build.1234-x") == "web-2026-11-30-build-1234-x"
    assert planning.tg_name(svc_cfg(), "2026.11.30-build.12345.abc") == "web-2026-11-30-build-12345-abc"
    assert planning.tg_name(svc_cfg(), "2026.11.30-build.1234567890.x") == "web-2026-11-30-build-1234567890"


def test_stamp_is_utc_to_the_second():
    from datetime import datetime
    got = planning.stamp()
    assert len(got) == 25 and got.endswith("+00:00")
    assert datetime.fromisoformat(got).microsecond == 0


def test_step_factory():
    st = planning.step(3, "terminate", "eu-west-1", "terminate i-1", instance_ids=["i-1"], x={"a": [1]})
    assert (st.id, st.kind, st.region, st.description, _thaw(st.params)) == (
        "s3", "terminate", "eu-west-1", "terminate i-1", {"instance_ids": ["i-1"], "x": {"a": [1]}})
    assert st.params["instance_ids"] == ("i-1",)                       # frozen
    with pytest.raises(AssertionError, match="^unknown step kind 'reboot'$"):
        planning.step(1, "reboot", "eu-west-1", "no such thing")


def test_capacity_after_weights():
    snap, _ = fleet(G("1.4", 8, 0), G("1.5", 4, 100), G("1.6", 3, 0, sick=1))
    s = svc(snap)
    assert planning.capacity_after_weights(s, {"1.5": 100}) == 100
    assert planning.capacity_after_weights(s, {"1.6": 100}) == 50                  # 2 healthy of live's 4
    assert planning.capacity_after_weights(s, {"1.5": 50, "1.6": 50}) == 100       # 2 for 50%: same as 4 for 100
    assert planning.capacity_after_weights(s, {"1.5": 70, "1.6": 30, "1.4": 0}) == 100
    assert planning.capacity_after_weights(s, {"1.6": 90, "1.4": 10}) == 55         # 2 for 90: 2.2 per 100 of 4 (55.6, rounded down)
    assert planning.capacity_after_weights(s, {"1.4": 100}) == 100                 # 8 for 100: capped
    assert planning.capacity_after_weights(s, {"1.4": 0}) == 0                     # nobody takes traffic
    sick, _ = fleet(G("1.4", 8, 0), G("1.5", 4, 100, sick=4))
    assert planning.capacity_after_weights(svc(sick), {"1.4": 0, "1.5": 0}) == 100   # live has none: an outage
    nolive, _ = fleet(G("1.4", 8, 0), G("1.5", 4, 0))
    assert svc(nolive).live is None
    assert planning.capacity_after_weights(svc(nolive), {"1.4": 0}) == 100
    assert planning.capacity_after_weights(s, {"1.6": 100, "1.5": 0}) == 50
    odd, _ = fleet(G("1.4", 3, 0), G("1.5", 3, 100), G("1.6", 1, 0))
    assert planning.capacity_after_weights(svc(odd), {"1.6": 100}) == 33           # 33.3, rounded down
    two, _ = fleet(G("1.4", 3, 0), G("1.5", 3, 100), G("1.6", 2, 0))
    assert planning.capacity_after_weights(svc(two), {"1.6": 100}) == 66           # 66.7, rounded down


# -- shift ---------------------------------------------------------------------------------------------------

def test_weight_pair_argument():
    import argparse
    from fleettui.actions.verbs.shift import _weight_pair
    assert _weight_pair("1.6.0=50") == ("1.6.0", 50)
    assert _weight_pair("a=b=7") == ("a=b", 7)
    for bad in ("1.6.0", "=50", "1.6.0=", "1.6.0=-5", "1.6.0=x"):
        with pytest.raises(argparse.ArgumentTypeError) as e:
            _weight_pair(bad)
        assert str(e.value) == f"{bad!r} is not VERSION=WEIGHT (e.g. 1.6.0=50)"


@pytest.mark.parametrize("weights, version, weight, want", [
    ((0, 90, 10), "1.6", 50, {"1.4": 0, "1.5": 50, "1.6": 50}),
    ((0, 90, 10), "1.6", 0, {"1.4": 0, "1.5": 100, "1.6": 0}),
    ((20, 60, 20), "1.6", 60, {"1.4": 10, "1.5": 30, "1.6": 60}),       # the others keep their proportions
    ((10, 20, 70), "1.6", 100, {"1.4": 0, "1.5": 0, "1.6": 100}),
    ((0, 100, 0), "1.6", 25, {"1.4": 0, "1.5": 75, "1.6": 25}),
    ((0, 0, 100), "1.6", 40, {"1.4": 0, "1.5": 60, "1.6": 40}),         # nobody else had any: live 1.6 is the
    #                                                                     one shifted, so the newest other, 1.5
    ((0, 0, 0), "1.5", 30, {"1.4": 0, "1.5": 30, "1.6": 70}),           # no live at all: the newest other
])
def test_weights_for_shift(weights, version, weight, want):
    snap, _ = fleet(*(G(v, 2, w) for v, w in zip(("1.4", "1.5", "1.6"), weights)))
    got = weights_for_shift(svc(snap), version, weight)
    assert got == want and list(got)[-1] == version


def test_weights_for_shift_edges_and_refusals():
    snap, _ = fleet(G("1.4", 2, 0), G("1.5", 2, 100), G("1.6", 2, 0))
    s = svc(snap)
    assert weights_for_shift(s, "1.4", 10) == {"1.5": 90, "1.6": 0, "1.4": 10}
    only, _ = fleet(G("1.5", 2, 100))
    assert weights_for_shift(svc(only), "1.5", 100) == {"1.5": 100}
    assert refused(weights_for_shift, svc(only), "1.5", 60) == "1.5 is the only generation: it must take 100%"
    assert refused(weights_for_shift, s, "1.6", 101) == "weight must be 0-100 (got 101)"
    assert refused(weights_for_shift, s, "1.6", -1) == "weight must be 0-100 (got -1)"
    assert refused(weights_for_shift, s, "2.0", 10) == "web has no generation '2.0' (generations: 1.4, 1.5, 1.6)"


def test_plan_shift_exact_plan():
    snap, cfg = fleet(*THREE)
    plan = plan_shift(snap, cfg, {"1.5": 50, "1.6": 50}, reason="why")
    assert head(plan) == ("shift", "web", "shift web: 1.4 0%→0%, 1.5 90%→50%, 1.6 10%→50%", (), 100, 100,
                          {"1.4": 0, "1.5": 90, "1.6": 10}, {"1.4": 0, "1.5": 50, "1.6": 50}, None, (), None, None)
    gens = {"1.4": [tg("a")], "1.5": [tg("b")], "1.6": [tg("c")]}
    assert steps(plan) == [("s1", "set_weights", "us-east-1",
                            "set listener weights: 1.4 0%→0%, 1.5 90%→50%, 1.6 10%→50%",
                            {"listener_arn": LISTENER, "rule_arn": None, "generations": gens,
                             "weights": {tg("a"): 0, tg("b"): 50, tg("c"): 50}})]
    assert plan.id.startswith("p-") and plan.created_at.endswith("+00:00")
    assert plan_shift(snap, cfg, {"1.6": 100}, verb="rollback").summary == (
        "rollback web: 1.4 0%→0%, 1.5 90%→0%, 1.6 10%→100%")
    assert plan_shift(snap, cfg, {"1.6": 100}, verb="rollback").verb == "rollback"
    assert plan_shift(snap, cfg, {"1.6": 100}).capacity_min == 50          # 2 hosts for all of live's 4's traffic


def test_plan_shift_rewrites_every_rule_that_serves_the_service():
    snap, cfg = fleet(*THREE, rules=[rule(1, "/static/*", (tg("c"), 1)), rule(2, "/a/*", (tg("b"), 3))])
    plan = plan_shift(snap, cfg, {"1.5": 100})
    assert [(s[0], s[3], s[4]["rule_arn"], s[4]["weights"]) for s in steps(plan)] == [
        ("s1", "set listener weights: 1.4 0%→0%, 1.5 90%→100%, 1.6 10%→0%", None,
         {tg("a"): 0, tg("b"): 100, tg("c"): 0}),
        ("s2", "set rule 10 (path /static/*) of listener web weights: 1.4 0%→0%, 1.5 90%→100%, 1.6 10%→0%",
         RULE.format(1), {tg("a"): 0, tg("b"): 100, tg("c"): 0}),
        ("s3", "set rule 20 (path /a/*) of listener web weights: 1.4 0%→0%, 1.5 90%→100%, 1.6 10%→0%",
         RULE.format(2), {tg("a"): 0, tg("b"): 100, tg("c"): 0})]
    assert all(s[4]["listener_arn"] == LISTENER for s in steps(plan))


def test_weight_steps_numbering_and_the_default_action_named_listener_only_first():
    from fleettui.actions.verbs.shift import weight_steps
    snap, _ = fleet(*THREE, rules=[rule(1, "/static/*", (tg("c"), 1))])
    got = weight_steps(svc(snap), {tg("b"): 100}, "d", first=4)
    assert [(s.id, s.description, _thaw(s.params)) for s in got] == [
        ("s4", "set listener weights: d", {"listener_arn": LISTENER, "rule_arn": None,
                                          "weights": {tg("b"): 100}, "generations": {}}),
        ("s5", "set rule 10 (path /static/*) of listener web weights: d",
         {"listener_arn": LISTENER, "rule_arn": RULE.format(1), "weights": {tg("b"): 100}, "generations": {}})]


def test_plan_shift_splits_a_generations_weight_over_its_target_groups():
    """A generation with two target groups on the listener: the first gets the remainder."""
    snap, cfg = fleet(*THREE)
    from dataclasses import replace
    s = svc(snap)
    two = replace(s.generations[1], target_group_arns=(tg("b"), tg("b2")))
    s = replace(s, generations=(s.generations[0], two, s.generations[2]))
    snap = replace(snap, services=(s,))
    plan = plan_shift(snap, cfg, {"1.5": 45, "1.6": 55})
    assert steps(plan)[0][4]["weights"] == {tg("a"): 0, tg("b"): 23, tg("b2"): 22, tg("c"): 55}
    assert steps(plan)[0][4]["generations"] == {"1.4": [tg("a")], "1.5": [tg("b"), tg("b2")], "1.6": [tg("c")]}


@pytest.mark.parametrize("weights, msg", [
    ({"1.5": 50, "1.6": 40}, "weights must add up to 100 (got 90: 1.4=0, 1.5=50, 1.6=40)"),
    ({"1.5": 50, "1.6": 60}, "weights must add up to 100 (got 110: 1.4=0, 1.5=50, 1.6=60)"),
    ({"1.5": 101}, "weight for 1.5 must be an integer 0-100 (got 101)"),
    ({"1.5": -1, "1.6": 101}, "weight for 1.5 must be an integer 0-100 (got -1)"),
    ({"1.5": 50.0, "1.6": 50}, "weight for 1.5 must be an integer 0-100 (got 50.0)"),
    ({"2.0": 100}, "web has no generation '2.0' (generations: 1.4, 1.5, 1.6, 1.7)"),
    ({"1.7": 100}, "1.7 has no target group on the listener: launch it with fleettui first"),
])
def test_plan_shift_refusals(weights, msg):
    snap, cfg = fleet(*THREE, G("1.7", 1, tg=False))
    assert refused(plan_shift, snap, cfg, weights) == msg


def test_plan_shift_edges_of_the_weight_range_and_no_listener():
    snap, cfg = fleet(*THREE)
    assert plan_shift(snap, cfg, {"1.4": 0, "1.5": 100}).weights_after == {"1.4": 0, "1.5": 100, "1.6": 0}
    assert plan_shift(snap, cfg, {"1.4": 100, "1.5": 0, "1.6": 0}).weights_after == {"1.4": 100, "1.5": 0, "1.6": 0}
    nolst, cfg2 = fleet(G("1.4"), listener=False)
    assert refused(plan_shift, nolst, cfg2, {"1.4": 100}) == "web has no listener_arn in the config: nothing to shift"


def test_weights_refusal_and_a_cold_group_warmed_first():
    snap, cfg = fleet(G("1.4", 3, 0, sick=3), G("1.5", 4, 100), G("1.6", 2, 0, sick=1))
    assert weights_refusal(plan_shift(snap, cfg, {"1.4": 10, "1.5": 90}), snap) == (
        "1.4 has no healthy targets: refusing to send it 10% of traffic")
    assert weights_refusal(plan_shift(snap, cfg, {"1.4": 0, "1.6": 100}), snap) is None
    assert weights_refusal(plan_shift(snap, cfg, {"1.5": 100}), snap) is None
    # a cold own group (desired 0, no host): rollback warms it before the weights move, a bare shift does not
    cold, cfg = fleet(G("1.4", 0, 0, asg=(0, 4, 0)), G("1.5", 2, 100, asg=(2, 4, 2)))
    shift = plan_shift(cold, cfg, {"1.4": 100})
    assert weights_refusal(shift, cold) == "1.4 has no healthy targets: refusing to send it 100% of traffic"
    rb = plan_rollback(cold, cfg)
    assert [s.kind for s in rb.steps] == ["asg_set_capacity", "asg_wait_ready", "set_weights"]
    assert weights_refusal(rb, cold) is None
    from dataclasses import replace
    late = replace(rb, steps=(rb.steps[2], rb.steps[0], rb.steps[1]))          # the wait after the move
    assert weights_refusal(late, cold) == "1.4 has no healthy targets: refusing to send it 100% of traffic"
    nowait = replace(rb, steps=(rb.steps[0], rb.steps[2]))
    assert weights_refusal(nowait, cold) == "1.4 has no healthy targets: refusing to send it 100% of traffic"
    other = replace(rb, steps=(replace(rb.steps[1], params={**rb.steps[1].params, "asg": "web-x"}), rb.steps[2]))
    assert weights_refusal(other, cold) == "1.4 has no healthy targets: refusing to send it 100% of traffic"
    nomove = replace(rb, steps=rb.steps[:2])                                      # no weights move at all
    assert weights_refusal(nomove, cold) is None
    gone = replace(rb, weights_after={"9.9": 100, "1.5": 0})                    # not in the snapshot: skipped
    assert weights_refusal(gone, cold) is None


# -- rollback ------------------------------------------------------------------------------------------------

def test_int_list_argument():
    import argparse
    from fleettui.actions.verbs.rollback import _int_list
    assert _int_list("25,50,100") == [25, 50, 100]
    assert _int_list("25, 50,,100,") == [25, 50, 100]
    with pytest.raises(argparse.ArgumentTypeError) as e:
        _int_list("25,x")
    assert str(e.value) == "'25,x' is not a comma-separated list of integers"


@pytest.mark.parametrize("current, ramp, want", [
    ({"1.5": 90, "1.6": 10}, [95, 100], [{"1.6": 5, "1.5": 95}, {"1.6": 0, "1.5": 100}]),
    ({"1.5": 90, "1.6": 10}, [50, 100], [{"1.6": 0, "1.5": 100}]),          # 50 is below what 1.5 has: no step
    ({"1.4": 0, "1.5": 50, "1.6": 30, "1.7": 20}, [25, 60, 80, 100],
     [{"1.4": 0, "1.6": 24, "1.7": 16, "1.5": 60}, {"1.4": 0, "1.6": 12, "1.7": 8, "1.5": 80},
      {"1.4": 0, "1.6": 0, "1.7": 0, "1.5": 100}]),
    ({"1.5": 0, "1.6": 100}, [10, 50, 100], [{"1.6": 90, "1.5": 10}, {"1.6": 50, "1.5": 50}, {"1.6": 0, "1.5": 100}]),
    ({"1.5": 0, "1.6": 100}, [100], [{"1.6": 0, "1.5": 100}]),
    ({"1.5": 100, "1.6": 0}, [50, 100], [{"1.6": 0, "1.5": 100}]),          # nothing changes: still one step
    ({"1.4": 10, "1.5": 0, "1.6": 90}, [33, 66, 100],
     [{"1.4": 7, "1.6": 60, "1.5": 33}, {"1.4": 3, "1.6": 31, "1.5": 66}, {"1.4": 0, "1.6": 0, "1.5": 100}]),
    # 69.5 rounds to 70, more than 1.6 has (69.5 -> 69 kept): a generation rolled away from never gains
    ({"1.5": 30.5, "1.6": 69.5}, [20, 40, 100], [{"1.6": 69, "1.5": 31}, {"1.6": 60, "1.5": 40},
                                                 {"1.6": 0, "1.5": 100}]),
    ({"1.5": 0, "1.6": 100}, [50, 50, 100], [{"1.6": 50, "1.5": 50}, {"1.6": 0, "1.5": 100}]),   # a repeat: no step
    ({"1.6": 100}, [40, 100], [{"1.6": 60, "1.5": 40}, {"1.6": 0, "1.5": 100}]),  # the target had no weight entry
])
def test_ramp_weights(current, ramp, want):
    got = ramp_weights(current, "1.5", ramp)
    assert got == want
    assert [list(w) for w in got] == [list(w) for w in want]


def test_rollback_of_a_canary_in_one_listener_change():
    snap, cfg = fleet(*THREE)
    plan = plan_rollback(snap, cfg, reason="bad canary")
    assert head(plan) == ("rollback", "web", "web: take 1.6 out of traffic → 1.5 gets 100%, in one listener change",
                          (), 100, 100, {"1.4": 0, "1.5": 90, "1.6": 10}, {"1.4": 0, "1.5": 100, "1.6": 0}, None, (),
                          None, "1.5")
    assert steps(plan) == [("s1", "set_weights", "us-east-1", "set listener weights: 1.4 0%→0%, 1.5 90%→100%, 1.6 10%→0%",
                            {"listener_arn": LISTENER, "rule_arn": None,
                             "weights": {tg("a"): 0, tg("b"): 100, tg("c"): 0},
                             "generations": {"1.4": [tg("a")], "1.5": [tg("b")], "1.6": [tg("c")]}})]


def test_rollback_from_several_generations_and_several_rules():
    snap, cfg = fleet(G("1.4", 4, 20), G("1.5", 4, 30), G("1.6", 4, 50), G("1.7", 2, tg=False),
                      rules=[rule(1, "/static/*", (tg("c"), 1))])
    plan = plan_rollback(snap, cfg)
    assert plan.summary == "web: roll back from 1.4, 1.6 → 1.5 gets 100%, one change on each of 2 listener rules"
    assert plan.weights_after == {"1.4": 0, "1.5": 100, "1.6": 0}
    assert [(s[0], s[4]["rule_arn"]) for s in steps(plan)] == [("s1", None), ("s2", RULE.format(1))]


def test_rollback_ramp_steps_are_renumbered_and_named_by_the_targets_share():
    snap, cfg = fleet(G("1.5", 4, 0), G("1.6", 4, 100), rules=[rule(1, "/static/*", (tg("b"), 1))])
    plan = plan_rollback(snap, cfg, ramp=[25, 50, 100])
    assert plan.summary == "web: roll back from 1.6 → 1.5 gets 100%, in 6 steps"
    assert plan.weights_after == {"1.5": 100, "1.6": 0}
    assert [(s[0], s[1], s[3], s[4]["rule_arn"], s[4]["weights"]) for s in steps(plan)] == [
        ("s1", "set_weights", "1.5 to 25%: set listener weights: 1.5 0%→25%, 1.6 100%→75%", None,
         {tg("a"): 25, tg("b"): 75}),
        ("s2", "set_weights", "1.5 to 25%: set rule 10 (path /static/*) of listener web weights: 1.5 0%→25%, "
         "1.6 100%→75%", RULE.format(1), {tg("a"): 25, tg("b"): 75}),
        ("s3", "set_weights", "1.5 to 50%: set listener weights: 1.5 0%→50%, 1.6 100%→50%", None,
         {tg("a"): 50, tg("b"): 50}),
        ("s4", "set_weights", "1.5 to 50%: set rule 10 (path /static/*) of listener web weights: 1.5 0%→50%, "
         "1.6 100%→50%", RULE.format(1), {tg("a"): 50, tg("b"): 50}),
        ("s5", "set_weights", "1.5 to 100%: set listener weights: 1.5 0%→100%, 1.6 100%→0%", None,
         {tg("a"): 100, tg("b"): 0}),
        ("s6", "set_weights", "1.5 to 100%: set rule 10 (path /static/*) of listener web weights: 1.5 0%→100%, "
         "1.6 100%→0%", RULE.format(1), {tg("a"): 100, tg("b"): 0})]
    assert all(s[2] == "us-east-1" and s[4]["listener_arn"] == LISTENER for s in steps(plan))
    one = plan_rollback(snap, cfg, ramp=[100])
    assert one.summary == "web: roll back from 1.6 → 1.5 gets 100%, in 2 steps"


@pytest.mark.parametrize("ramp", [[50, 25, 100], [25, 25, 100], [25, 50], [0, 100], [-10, 100], [100, 100]])
def test_rollback_ramp_must_increase_from_above_0_to_100(ramp):
    snap, cfg = fleet(*THREE)
    assert refused(plan_rollback, snap, cfg, ramp=ramp) == f"ramp must increase and end at 100 (got {ramp})"


def test_rollback_refusals():
    snap, cfg = fleet(*THREE, G("1.7", 1, tg=False))
    assert refused(plan_rollback, snap, cfg, to="1.7") == "1.7 has no target group on the listener: it cannot take traffic"
    assert refused(plan_rollback, snap, cfg, to="2.0") == (
        "web has no generation '2.0' (generations: 1.4, 1.5, 1.6, 1.7)")
    assert refused(plan_rollback, snap, cfg, to="1.6") == (
        "1.6 is already the newest generation that receives traffic: nothing to roll back to it")
    one, cfg1 = fleet(G("1.5", 2, 100))
    assert refused(plan_rollback, one, cfg1) == "web has no rollback target: no generation older than 1.5 has healthy hosts"
    nolst, cfg2 = fleet(G("1.4", 2), G("1.5", 2), listener=False)
    assert svc(nolst).rollback_target is not None
    assert refused(plan_rollback, nolst, cfg2) == "web has no rollback target: service has no listener to shift traffic on"


def test_rollback_to_another_generation_says_so():
    snap, cfg = fleet(G("1.3", 2, 0), *THREE)
    plan = plan_rollback(snap, cfg, to="1.3")
    assert plan.summary == "web: roll back from 1.5, 1.6 → 1.3 gets 100%, in one listener change"
    assert (plan.generation, plan.warnings) == ("1.3", (
        "1.3 is not the rollback target (1.5): chosen instead (--to, or t in the TUI)",))
    assert plan.capacity_min == 50                                      # 2 hosts for live 1.5's 4
    same = plan_rollback(snap, cfg, to="1.5")                           # --to the rule's own target: no warning
    assert same.warnings == () and same.generation == "1.5"


def test_rollback_warnings_about_the_target():
    snap, cfg = fleet(G("1.4", 3, 0, sick=1, age=45), G("1.5", 2, 100, age=2), G("1.6", 2, 0, age=1))
    plan = plan_rollback(snap, cfg)
    assert plan.generation == "1.4" and plan.warnings == (
        "3 of 3 1.4 hosts are past max_age", "1.4 has 2/3 healthy hosts")
    assert plan.summary == "web: roll back from 1.5 → 1.4 gets 100%, in one listener change"
    gone, cfg = fleet(G("1.4", 2, 0, image_state="missing"), G("1.5", 2, 100))
    plan = plan_rollback(gone, cfg, to="ami-a")
    assert plan.warnings == ("ami-a's image ami-a is missing: its hosts serve, but cannot be replaced from it",)
    old, cfg = fleet(G("1.4", 2, 0), G("1.5", 2, 100))
    from dataclasses import replace
    s = svc(old)
    dep = replace(s.generations[0], image=replace(s.generations[0].image, deprecated=True))
    old = replace(old, services=(replace(s, generations=(dep, s.generations[1])),))
    assert plan_rollback(old, cfg).warnings == ("1.4's image ami-a is deprecated",)


def test_rollback_to_a_cold_group_scales_it_up_and_waits_before_moving_traffic():
    cold, cfg = fleet(G("1.4", 0, 0, asg=(0, 3, 0)), G("1.5", 2, 0, asg=(1, 4, 1), sick=2),
                      G("1.6", 5, 100, asg=(2, 8, 5)))
    plan = plan_rollback(cold, cfg)
    assert head(plan) == ("rollback", "web", "web: roll back from 1.6 → 1.4 gets 100%, in one listener change; cold: "
                          "web-1-4 scales up to 3 hosts and gets healthy first", (), 100, 60,
                          {"1.4": 0, "1.5": 0, "1.6": 100}, {"1.4": 100, "1.5": 0, "1.6": 0}, None, (), None, "1.4")
    assert steps(plan) == [
        ("s1", "asg_set_capacity", "us-east-1", "scale web-1-4 up to 3 hosts (cold: desired 0 now)",
         {"asg": "web-1-4", "min_size": 2, "max_size": 3, "desired": 3}),
        ("s2", "asg_wait_ready", "us-east-1", "wait until 3 hosts of web-1-4 are in service and healthy in its "
         "target group (no traffic moves before)", {"asg": "web-1-4", "count": 3, "target_groups": [tg("a")]}),
        ("s3", "set_weights", "us-east-1", "set listener weights: 1.4 0%→100%, 1.5 0%→0%, 1.6 100%→0%",
         {"listener_arn": LISTENER, "rule_arn": None, "weights": {tg("a"): 100, tg("b"): 0, tg("c"): 0},
          "generations": {"1.4": [tg("a")], "1.5": [tg("b")], "1.6": [tg("c")]}})]


def test_rollback_to_a_cold_group_with_room_and_a_source_without_a_group():
    cold, cfg = fleet(G("1.4", 0, 0, asg=(0, 9, 0)), G("1.5", 4, 100))      # 1.5: bare hosts
    plan = plan_rollback(cold, cfg, ramp=[50, 100])
    assert plan.capacity_min == 100
    assert [(s[0], s[1], s[4].get("desired"), s[4].get("min_size"), s[4].get("max_size")) for s in steps(plan)] == [
        ("s1", "asg_set_capacity", 4, 4, 9), ("s2", "asg_wait_ready", None, None, None),
        ("s3", "set_weights", None, None, None), ("s4", "set_weights", None, None, None)]
    assert steps(plan)[2][3] == "1.4 to 50%: set listener weights: 1.4 0%→50%, 1.5 100%→50%"
    assert plan.summary == ("web: roll back from 1.5 → 1.4 gets 100%, in 2 steps; cold: web-1-4 scales up to 4 hosts "
                            "and gets healthy first")
    big, cfg = fleet(G("1.4", 0, 0, asg=(0, 9, 0)), G("1.5", 3, 100, asg=(3, 9, 3)))
    assert plan_rollback(big, cfg).capacity_min == 100
    assert _thaw(plan_rollback(big, cfg).steps[0].params) == {"asg": "web-1-4", "min_size": 3, "max_size": 9,
                                                              "desired": 3}


def test_rollback_candidates():
    snap, cfg = fleet(G("1.3", 1, 0, image_state="missing", sick=1), G("1.4", 8, 0, sick=2, age=40), G("1.5", 4, 90),
                      G("1.6", 2, 10), G("1.7", 1, tg=False))
    got = [(c.version, c.healthy, c.total, round(c.oldest_age_days, 1), c.image, c.capacity_percent, c.default)
           for c in candidates(svc(snap))]
    assert got == [("1.5", 4, 4, 1.0, "available", 100, True), ("1.4", 6, 8, 40.0, "available", 150, False),
                   ("ami-a", 0, 1, 1.0, "missing", 0, False)]
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 4, 90), G("1.6", 2, 10))
    assert [c.capacity_percent for c in candidates(svc(snap))] == [100, 75]
    nolive, _ = fleet(G("1.4", 2, 0), G("1.5", 2, 0))
    assert [(c.version, c.capacity_percent, c.default) for c in candidates(svc(nolive))] == [
        ("1.5", 100, False), ("1.4", 100, False)]


def test_rollback_candidates_mark_a_deprecated_image():
    snap, _ = fleet(G("1.4", 2, 0), G("1.5", 2, 100))
    from dataclasses import replace
    s = svc(snap)
    dep = replace(s.generations[0], image=replace(s.generations[0].image, deprecated=True))
    s = replace(s, generations=(dep, s.generations[1]))
    assert [(c.version, c.image) for c in candidates(s)] == [("1.4", "deprecated")]
    gone = replace(dep, image=replace(dep.image, state="deregistered"))
    assert [(c.version, c.image) for c in candidates(replace(s, generations=(gone, s.generations[1])))] == [
        ("1.4", "deregistered")]


def test_rollback_verbs_own_refusal():
    from fleettui.actions.verbs.rollback import VERB
    snap, cfg = fleet(G("1.4", 8, 0), G("1.5", 3, 0), G("1.6", 8, 100), min_healthy_percent=40)
    plan = plan_rollback(snap, cfg)                                   # 1.5: 3 hosts for live 1.6's 8: 37.5%
    assert plan.capacity_min == 37
    assert VERB.refusal(plan, snap, cfg) == ("1.5 has 3 healthy hosts; all traffic needs at least 4 (40% of the 8 "
                                             "healthy hosts of live 1.6)")
    snap, cfg = fleet(G("1.4", 8, 0), G("1.5", 3, 0), G("1.6", 8, 100), min_healthy_percent=38)
    assert VERB.refusal(plan_rollback(snap, cfg), snap, cfg) == (   # 37.5% is below 38%: no rounding up
        "1.5 has 3 healthy hosts; all traffic needs at least 4 (38% of the 8 healthy hosts of live 1.6)")
    snap, cfg = fleet(G("1.4", 8, 0), G("1.5", 3, 0), G("1.6", 8, 100), min_healthy_percent=37)
    assert VERB.refusal(plan_rollback(snap, cfg), snap, cfg) is None
    snap, cfg = fleet(G("1.4", 8, 0), G("1.5", 3, 0), G("1.6", 8, 100), min_healthy_percent=39)
    assert VERB.refusal(plan_rollback(snap, cfg), snap, cfg) == (
        "1.5 has 3 healthy hosts; all traffic needs at least 4 (39% of the 8 healthy hosts of live 1.6)")
    snap, cfg = fleet(G("1.4", 8, 0), G("1.5", 3, 0), G("1.6", 7, 100), min_healthy_percent=44)
    assert VERB.refusal(plan_rollback(snap, cfg), snap, cfg) == (                  # 3.08 hosts: at least 4
        "1.5 has 3 healthy hosts; all traffic needs at least 4 (44% of the 7 healthy hosts of live 1.6)")
    # the source has no healthy host (it is the outage): nothing to protect, rollback goes ahead
    snap, cfg = fleet(G("1.4", 8, 0), G("1.5", 3, 0), G("1.6", 8, 100, sick=8), min_healthy_percent=100)
    assert VERB.refusal(plan_rollback(snap, cfg), snap, cfg) is None
    # a target without healthy hosts: the weights refusal first
    snap, cfg = fleet(G("1.5", 3, 0, sick=3), G("1.6", 8, 100))
    assert VERB.refusal(plan_rollback(snap, cfg, to="1.5"), snap, cfg) == (
        "1.5 has no healthy targets: refusing to send it 100% of traffic")


def test_rollback_verbs_own_refusal_for_a_cold_target():
    from fleettui.actions.verbs.rollback import VERB
    cold, cfg = fleet(G("1.4", 0, 0, asg=(0, 3, 0)), G("1.6", 5, 100, asg=(2, 8, 5)), min_healthy_percent=60)
    plan = plan_rollback(cold, cfg)
    assert plan.capacity_min == 60 and VERB.refusal(plan, cold, cfg) is None
    cold, cfg = fleet(G("1.4", 0, 0, asg=(0, 3, 0)), G("1.6", 5, 100, asg=(2, 8, 5)), min_healthy_percent=61)
    assert VERB.refusal(plan_rollback(cold, cfg), cold, cfg) == (
        "1.4 is cold and would get 3 hosts, below 61% of the 5 healthy hosts of live")


# -- decommission --------------------------------------------------------------------------------------------

def test_decommission_of_bare_hosts_behind_the_listener_and_a_rule():
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 4, 90), G("1.6", 2, 10),
                      rules=[rule(1, "/old/*", (tg("a"), 0), (tg("b"), 1)), rule(2, "/new/*", (tg("c"), 1))])
    plan = plan_decommission(snap, cfg, "1.4", reason="old")
    assert head(plan) == ("decommission", "web", "decommission web 1.4: drain, terminate 3 host(s), remove and delete "
                          "its target group", ("i-a0", "i-a1", "i-a2"), 100, 100, {"1.4": 0, "1.5": 90, "1.6": 10},
                          {"1.5": 90, "1.6": 10}, None, (), "web 1.4", "1.4")
    ids = ["i-a0", "i-a1", "i-a2"]
    assert steps(plan) == [
        ("s1", "deregister", "us-east-1", "drain 3 hosts from 1.4's target group",
         {"target_groups": [tg("a")], "instance_ids": ids}),
        ("s2", "terminate", "us-east-1", "terminate 3 hosts", {"instance_ids": ids}),
        ("s3", "listener_remove", "us-east-1", "remove 1.4's target group from the listener",
         {"listener_arn": LISTENER, "rule_arn": None, "target_groups": [tg("a")]}),
        ("s4", "listener_remove", "us-east-1", "remove 1.4's target group from rule 10 (path /old/*) of listener web",
         {"listener_arn": LISTENER, "rule_arn": RULE.format(1), "target_groups": [tg("a")]}),
        ("s5", "delete_target_group", "us-east-1", "delete target group web-a", {"target_group": tg("a")})]
    assert plan.id.startswith("p-") and plan.created_at.endswith("+00:00")


def test_decommission_of_an_own_group_and_of_hosts_in_a_shared_group():
    snap, cfg = fleet(G("1.4", 2, 0, asg=(2, 4, 2)), G("1.5", 3, 0, in_shared_asg="web-shared"),
                      G("1.6", 2, 100, asg=(2, 4, 2)))
    plan = plan_decommission(snap, cfg, "1.4")
    assert head(plan) == ("decommission", "web", "decommission web 1.4: empty and delete Auto Scaling group web-1-4 "
                          "(2 host(s)), remove and delete its target group", ("i-a0", "i-a1"), 100, 100,
                          {"1.4": 0, "1.5": 0, "1.6": 100}, {"1.5": 0, "1.6": 100}, None, (), "web 1.4", "1.4")
    assert steps(plan) == [
        ("s1", "asg_set_capacity", "us-east-1", "scale web-1-4 to 0 (min 0, desired 0)",
         {"asg": "web-1-4", "min_size": 0, "desired": 0}),
        ("s2", "asg_wait_empty", "us-east-1", "wait until the hosts of web-1-4 are terminated", {"asg": "web-1-4"}),
        ("s3", "asg_delete", "us-east-1", "delete Auto Scaling group web-1-4", {"asg": "web-1-4"}),
        ("s4", "listener_remove", "us-east-1", "remove 1.4's target group from the listener",
         {"listener_arn": LISTENER, "rule_arn": None, "target_groups": [tg("a")]}),
        ("s5", "delete_target_group", "us-east-1", "delete target group web-a", {"target_group": tg("a")})]
    plan = plan_decommission(snap, cfg, "1.5")
    ids = ["i-b0", "i-b1", "i-b2"]
    assert [s[:4] + (s[4],) for s in steps(plan)][:2] == [
        ("s1", "deregister", "us-east-1", "drain 3 hosts from 1.5's target group",
         {"target_groups": [tg("b")], "instance_ids": ids}),
        ("s2", "asg_terminate", "us-east-1", "terminate 3 hosts through web-shared",
         {"asg": "web-shared", "instance_ids": ids})]
    # a host of the own group's generation that is in another group: terminated through that one
    odd = moved(snap, "us-east-1", "i-a1", asg="web-other")
    assert [(s[0], s[1], s[3], s[4].get("instance_ids")) for s in steps(plan_decommission(odd, cfg, "1.4"))][:5] == [
        ("s1", "asg_set_capacity", "scale web-1-4 to 0 (min 0, desired 0)", None),
        ("s2", "asg_wait_empty", "wait until the hosts of web-1-4 are terminated", None),
        ("s3", "asg_delete", "delete Auto Scaling group web-1-4", None),
        ("s4", "deregister", "drain 1 hosts from 1.4's target group", ["i-a1"]),
        ("s5", "asg_terminate", "terminate 1 hosts through web-other", ["i-a1"])]


def test_decommission_across_regions_drains_only_where_the_target_group_is():
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 4, 100))
    snap = moved(snap, "eu-west-1", "i-a1")
    assert [(s[0], s[1], s[2], s[4]) for s in steps(plan_decommission(snap, cfg, "1.4"))] == [
        ("s1", "deregister", "us-east-1", {"target_groups": [tg("a")], "instance_ids": ["i-a0", "i-a2"]}),
        ("s2", "terminate", "us-east-1", {"instance_ids": ["i-a0", "i-a2"]}),
        ("s3", "terminate", "eu-west-1", {"instance_ids": ["i-a1"]}),
        ("s4", "listener_remove", "us-east-1", {"listener_arn": LISTENER, "rule_arn": None,
                                                "target_groups": [tg("a")]}),
        ("s5", "delete_target_group", "us-east-1", {"target_group": tg("a")})]


def test_decommission_without_a_listener_and_another_listeners_default_action():
    snap, cfg = fleet(G("1.4", 2), G("1.5", 2), listener=False)
    plan = plan_decommission(snap, cfg, "1.4")
    assert plan.summary == "decommission web 1.4: drain, terminate 2 host(s)"
    assert [s[1] for s in steps(plan)] == ["terminate"]
    assert (plan.weights_before, plan.weights_after, plan.capacity_min) == ({}, {}, 50)     # 2 of 4 serve on
    other = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/x/z"
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 2, 100), listeners=[
        {"ListenerArn": other, "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tg("a"), "Weight": 0}, {"TargetGroupArn": tg("b"), "Weight": 1}]}}]}])
    got = [(s[1], s[3], s[4].get("listener_arn")) for s in steps(plan_decommission(snap, cfg, "1.4"))
           if s[1] == "listener_remove"]
    assert got == [("listener_remove", "remove 1.4's target group from the listener", LISTENER),
                   ("listener_remove", "remove 1.4's target group from default action of listener web", other)]


def test_decommission_refuses_a_rule_that_would_be_left_with_no_target_group():
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 2, 100), rules=[rule(1, "/old/*", (tg("a"), 0))])
    assert refused(plan_decommission, snap, cfg, "1.4") == (
        f"rule 10 (path /old/*) of listener web ({RULE.format(1)}) forwards only to 1.4's target group: point it "
        "elsewhere before decommissioning")
    assert refused(plan_decommission, snap, cfg, "2.0") == "web has no generation '2.0' (generations: 1.4, 1.5)"
    # while it still takes traffic, the plan is made (the verb's refusal says why it cannot run)
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 2, 100), rules=[rule(1, "/old/*", (tg("a"), 1))])
    assert [s[1] for s in steps(plan_decommission(snap, cfg, "1.4"))].count("listener_remove") == 2


def test_decommission_capacity():
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 4, 90), G("1.6", 2, 10, sick=1))
    assert plan_decommission(snap, cfg, "1.5").capacity_min == 20                 # 1 of 5 healthy serving hosts
    assert plan_decommission(snap, cfg, "1.6").capacity_min == 80
    assert plan_decommission(snap, cfg, "1.4").capacity_min == 100
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 3, 100), G("1.6", 3, 0))
    assert plan_decommission(snap, cfg, "1.5").capacity_min == 0
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 2, 99), G("1.6", 1, 1))
    assert plan_decommission(snap, cfg, "1.5").capacity_min == 33                 # 33.3, rounded down
    assert plan_decommission(snap, cfg, "1.6").capacity_min == 66                 # 66.7, rounded down
    sick, cfg = fleet(G("1.4", 2, 0), G("1.5", 2, 100, sick=2))
    assert plan_decommission(sick, cfg, "1.4").capacity_min == 100                # nothing healthy serves


def test_decommission_verbs_own_refusal():
    from fleettui.actions.verbs.decommission import VERB
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 4, 90), G("1.6", 2, 10))
    assert VERB.refusal(plan_decommission(snap, cfg, "1.5"), snap, cfg) == (
        "1.5 still takes 90% of traffic: shift its weight to 0 first")
    assert VERB.refusal(plan_decommission(snap, cfg, "1.4"), snap, cfg) is None
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 4, 100), rules=[rule(1, "/x/*", (tg("b"), 0)),
                                                               rule(2, "/old/*", (tg("a"), 3), (tg("b"), 1))])
    assert VERB.refusal(plan_decommission(snap, cfg, "1.4"), snap, cfg) == (
        "1.4 still receives 75% of the traffic of rule 20 (path /old/*) of listener web: shift it to 0 first")
    last, cfg = fleet(G("1.4", 2, 0), G("1.5", 4, 100, sick=4), G("1.6", 1, 0, sick=1))
    assert VERB.refusal(plan_decommission(last, cfg, "1.4"), last, cfg) == "1.4 is the last generation with healthy hosts"
    assert VERB.refusal(plan_decommission(last, cfg, "1.6"), last, cfg) is None
    cold, cfg = fleet(G("1.4", 0, 0, asg=(0, 3, 0)), G("1.5", 2, 100, asg=(2, 3, 2), sick=2))
    assert VERB.refusal(plan_decommission(cold, cfg, "1.4"), cold, cfg) is None   # cold: no healthy host to lose
    from dataclasses import replace
    gone = replace(plan_decommission(snap, cfg, "1.4"), generation="9.9")
    assert VERB.refusal(gone, snap, cfg) is None


# -- launch --------------------------------------------------------------------------------------------------

def target(**kw) -> LaunchTarget:
    base = dict(version="1.6", image_id="ami-new", launch_template_version=3, region="us-east-1", count=2,
                template_target_group=tg("b"), subnets=("subnet-a", "subnet-b"))
    return LaunchTarget(**{**base, **kw})


def test_launch_of_bare_hosts_behind_the_listener():
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 2, 100, tags={"Team": "blue"}))
    plan = plan_launch(snap, cfg, target(), history="web 1.6 was decommissioned 2.0d ago")
    assert head(plan) == ("launch", "web", "launch generation 1.6 of web: 2 host(s) from web-lt v3, no traffic yet", (),
                          100, 100, {"1.4": 0, "1.5": 100}, {"1.4": 0, "1.5": 100, "1.6": 0}, None,
                          ("web 1.6 was decommissioned 2.0d ago",), None, "1.6")
    assert list(plan.weights_after) == ["1.4", "1.5", "1.6"]
    tags = {"Service": "web", "Owner": "team", "Team": "blue", "fleettui:version": "1.6"}
    assert steps(plan) == [
        ("s1", "create_target_group", "us-east-1", "create target group web-1-6",
         {"name": "web-1-6", "copy_from": tg("b"), "tags": {"fleettui:service": "web", "fleettui:version": "1.6"}}),
        ("s2", "launch", "us-east-1", "launch 2 × web-lt v3 (ami-new)",
         {"count": 2, "launch_template": "web-lt", "version": 3, "subnets": ["subnet-a", "subnet-b"], "tags": tags,
          "name": "web-1-6"}),
        ("s3", "wait_running", "us-east-1", "wait until they are running", {"launch_step": "s2"}),
        ("s4", "register", "us-east-1", "register them in web-1-6",
         {"target_group_names": ["web-1-6"], "launch_step": "s2"}),
        ("s5", "wait_healthy", "us-east-1", "wait until they are healthy",
         {"target_group_names": ["web-1-6"], "launch_step": "s2"}),
        ("s6", "listener_add", "us-east-1", "add web-1-6 to the listener at weight 0",
         {"listener_arn": LISTENER, "target_group_name": "web-1-6"})]
    assert plan.id.startswith("p-") and plan.created_at.endswith("+00:00")


def test_launch_without_a_listener_copies_the_tags_of_live_else_of_every_host():
    snap, cfg = fleet(G("1.4", 3, tags={"Team": "red"}), G("1.5", 1, tags={"Team": "blue"}), listener=False)
    assert svc(snap).live.version == "1.4"                         # the most running hosts
    plan = plan_launch(snap, cfg, target(region="eu-west-1", launch_template="web-eu", subnets=()))
    assert head(plan) == ("launch", "web", "launch generation 1.6 of web: 2 host(s) from web-eu v3, no traffic yet", (),
                          100, 100, {}, {}, None, (), None, "1.6")
    assert steps(plan) == [
        ("s1", "launch", "eu-west-1", "launch 2 × web-eu v3 (ami-new)",
         {"count": 2, "launch_template": "web-eu", "version": 3, "subnets": [], "name": "web-1-6",
          "tags": {"Service": "web", "Owner": "team", "Team": "red", "fleettui:version": "1.6"}}),
        ("s2", "wait_running", "eu-west-1", "wait until they are running", {"launch_step": "s1"})]
    nolive, cfg = fleet(G("1.4", 1, 0, tags={"Team": "red"}), G("1.5", 2, 0, tags={"Team": "blue"}))
    assert svc(nolive).live is None
    assert _thaw(plan_launch(nolive, cfg, target()).steps[1].params)["tags"]["Team"] == "blue"    # 2 of 3 hosts


def test_launch_refusals():
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 2, 100))
    assert refused(plan_launch, snap, cfg, target(version="1.5")) == (
        "web already runs generation 1.5; replace hosts or shift weights")
    assert refused(plan_launch, snap, cfg, target(count=0)) == "--count must be at least 1 (got 0)"
    assert len(plan_launch(snap, cfg, target(count=1)).steps) == 6
    assert refused(plan_launch, snap, cfg, target(template_target_group=None)) == (
        "web has no target group to copy settings from")
    cfg = svc_cfg(listener_arn=LISTENER, required_tags=("Owner", "Cost"))
    assert refused(plan_launch, snap, cfg, target()) == (
        "launching web 1.6 would miss required tag(s) Cost: no host to copy them from carries them; declare them in "
        "the config ([[service]] 'web': tags = { Cost = \"…\" })")


def test_launch_of_an_auto_scaling_generation():
    snap, cfg = fleet(G("1.4", 3, 0, asg=(1, 5, 3)), G("1.5", 2, 100, asg=(2, 4, 2)))
    plan = plan_launch(snap, cfg, target(launch_template="web-lt-x", group_sizes=(1, 6, 4), shared_group="web-shared",
                                         subnets=("subnet-a",)), history="recalled")
    assert head(plan) == (
        "launch", "web", "launch generation 1.6 of web as Auto Scaling group web-1-6: 4 host(s) from web-lt-x v3, no "
        "traffic yet", (), 100, 100, {"1.4": 0, "1.5": 100}, {"1.4": 0, "1.5": 100, "1.6": 0}, None,
        ("recalled", "web's hosts are in the Auto Scaling group web-shared (one group for every generation): this "
         "launch creates the first group of its own, web-1-6, alongside it (one Auto Scaling group per generation "
         "from now on); web-shared is left as it is"), None, "1.6")
    assert steps(plan) == [
        ("s1", "create_target_group", "us-east-1", "create target group web-1-6",
         {"name": "web-1-6", "copy_from": tg("b"), "tags": {"fleettui:service": "web", "fleettui:version": "1.6"}}),
        ("s2", "asg_create", "us-east-1", "create Auto Scaling group web-1-6 from web-lt-x v3 (pinned), desired 4 "
         "(min 1, max 6), attached to web-1-6",
         {"asg": "web-1-6", "launch_template": "web-lt-x", "version": 3, "min_size": 1, "max_size": 6, "desired": 4,
          "subnets": ["subnet-a"], "target_group_name": "web-1-6",
          "tags": {"Service": "web", "Owner": "team", "fleettui:version": "1.6", "Name": "web-1-6"}}),
        ("s3", "asg_wait_ready", "us-east-1", "wait until 4 hosts of web-1-6 are in service and healthy in web-1-6",
         {"asg": "web-1-6", "count": 4, "target_group_names": ["web-1-6"]}),
        ("s4", "listener_add", "us-east-1", "add web-1-6 to the listener at weight 0",
         {"listener_arn": LISTENER, "target_group_name": "web-1-6"})]


def test_launch_of_an_auto_scaling_generation_without_a_listener_sizes_it_like_live():
    snap, cfg = fleet(G("1.4", 3, asg=(1, 5, 3)), G("1.5", 2, asg=(2, 4, 2)), listener=False)
    plan = plan_launch(snap, cfg, target(count=3, subnets=()))
    assert head(plan) == (
        "launch", "web", "launch generation 1.6 of web as Auto Scaling group web-1-6: 3 host(s) from web-lt v3, no "
        "traffic yet", (), 100, 100, {}, {}, None, (), None, "1.6")
    assert steps(plan) == [
        ("s1", "asg_create", "us-east-1", "create Auto Scaling group web-1-6 from web-lt v3 (pinned), desired 3 "
         "(min 1, max 5)",
         {"asg": "web-1-6", "launch_template": "web-lt", "version": 3, "min_size": 1, "max_size": 5, "desired": 3,
          "subnets": [], "target_group_name": None,
          "tags": {"Service": "web", "Owner": "team", "fleettui:version": "1.6", "Name": "web-1-6"}}),
        ("s2", "asg_wait_ready", "us-east-1", "wait until 3 hosts of web-1-6 are in service and healthy",
         {"asg": "web-1-6", "count": 3, "target_group_names": []})]
    # declared kind = "asg" on a fleet of bare hosts: its first own group
    bare, cfg = fleet(G("1.5", 2, 100), kind="asg")
    assert [s.kind for s in plan_launch(bare, cfg, target(count=1)).steps] == [
        "create_target_group", "asg_create", "asg_wait_ready", "listener_add"]


def test_launch_of_an_auto_scaling_generation_refusals():
    snap, cfg = fleet(G("1.5", 2, 100, asg=(2, 4, 2)))
    assert refused(plan_launch, snap, cfg, target(group_sizes=(0, 4, 0))) == "--count must be at least 1 (got 0)"
    assert len(plan_launch(snap, cfg, target(group_sizes=(0, 4, 1))).steps) == 4
    assert refused(plan_launch, snap, cfg, target(template_target_group=None)) == (
        "web has no target group to copy settings from")
    cfg = svc_cfg(listener_arn=LISTENER, required_tags=("Cost",), kind="asg")
    assert refused(plan_launch, snap, cfg, target()) == (
        "launching web 1.6 would miss required tag(s) Cost: no host to copy them from carries them; declare them in "
        "the config ([[service]] 'web': tags = { Cost = \"…\" })")


def _record(verb="decommission", service="web", version="1.6", created="2026-11-20T12:00:00+00:00",
            status="succeeded", reason="", pid="p-1", who="alice"):
    from fleettui.domain.history import PlanRecord
    from fleettui.domain.plan import Plan
    return PlanRecord(plan=Plan(id=pid, verb=verb, service=service, summary="", steps=(), generation=version),
                      who=who, reason=reason, created=created, status=status)


def test_a_recent_decommission_of_the_same_version_is_recalled():
    from fleettui.actions.verbs.launch import RECENT_S, decommissioned
    assert RECENT_S == 7 * 86400
    recs = [_record(pid="p-old", created="2026-11-19T12:00:00Z", reason="bad build"),
            _record(pid="p-new", created="2026-11-21T00:00:00+00:00", status="failed"),
            _record(pid="p-x", verb="shift"), _record(pid="p-y", service="api"), _record(pid="p-z", version="1.5"),
            _record(pid="p-bad", created="yesterday")]
    assert decommissioned(recs, "web", "1.6", now=NOW) == "web 1.6 has a failed decommission 1.5d ago (plan p-new by alice)"
    assert decommissioned(recs[:1], "web", "1.6", now=NOW) == (
        "web 1.6 was decommissioned 3.0d ago (plan p-old by alice: bad build)")
    assert decommissioned(list(reversed(recs[:2])), "web", "1.6", now=NOW).startswith("web 1.6 has a failed")
    assert decommissioned(recs[:1], "web", "1.6", now=NOW, within_s=3 * 86400) == (
        "web 1.6 was decommissioned 3.0d ago (plan p-old by alice: bad build)")             # exactly at the edge
    assert decommissioned(recs[:1], "web", "1.6", now=NOW, within_s=3 * 86400 - 1) is None
    assert decommissioned(recs[2:], "web", "1.6", now=NOW) is None
    assert decommissioned([_record(created="2026-11-22T13:00:00+00:00")], "web", "1.6", now=NOW) == (
        "web 1.6 was decommissioned 0s ago (plan p-1 by alice)")                                # clock skew: never < 0
    same = [_record(pid="p-a", created="2026-11-21T00:00:00+00:00"), _record(pid="p-b", created="2026-11-21T00:00:00+00:00")]
    assert "plan p-b" in decommissioned(same, "web", "1.6", now=NOW)                             # ties: the later one
    recent = _record(created=__import__("datetime").datetime.now(__import__("datetime").timezone.utc).isoformat())
    assert decommissioned([recent], "web", "1.6").startswith("web 1.6 was decommissioned ")     # now by default


# -- replace -------------------------------------------------------------------------------------------------

MIXED = (G("1.3", 1, 0, lt=False),                            # a snowflake: no template version names its image
         G("1.4", 3, 0, image_state="missing", drift=1),      # image gone: i-b1, i-b2 only drift by it
         G("1.5", 4, 100, drift=2, deprecated=True, age=40),  # deprecated and past max_age; i-c2, i-c3 only so
         G("1.6", 2, 0))


def ids(hosts) -> list[str]:
    return [h.id for h in hosts]


def test_select_hosts():
    snap, _ = fleet(*MIXED)
    s = svc(snap)
    assert [relaunch_cannot_fix(h) for h in s.instances] == [False, True, True, False, False, False, True, True,
                                                             False, False]
    chosen, left = select_hosts(s, drifted=True)
    assert (ids(chosen), ids(left)) == (["i-c0", "i-c1", "i-a0", "i-b0"], ["i-c2", "i-c3", "i-b1", "i-b2"])
    chosen, left = select_hosts(s, aged=True)
    assert (ids(chosen), ids(left)) == (["i-c0", "i-c1", "i-c2", "i-c3"], [])
    chosen, left = select_hosts(s, aged=True, drifted=True)
    assert (ids(chosen), ids(left)) == (["i-c0", "i-c1", "i-c2", "i-c3", "i-a0", "i-b0"], ["i-b1", "i-b2"])
    chosen, left = select_hosts(s, drifted=True, generation="ami-b")
    assert (ids(chosen), ids(left)) == (["i-b0"], ["i-b1", "i-b2"])
    assert select_hosts(s) == ([], [])
    chosen, left = select_hosts(s, ids=["i-d1", "i-c3", "i-b2"], drifted=True, generation="1.6")
    assert (ids(chosen), ids(left)) == (["i-c3", "i-d1", "i-b2"], [])     # named hosts: oldest first, all of them
    assert refused(select_hosts, s, ids=["i-zz", "i-d1", "i-yy"]) == "web has no instance i-zz, i-yy"
    assert refused(select_hosts, s, drifted=True, generation="9.9") == (
        "web has no generation '9.9' (generations: ami-b, 1.3, 1.5, 1.6)")


def test_replace_refuses_when_nothing_is_left_to_replace():
    snap, cfg = fleet(*MIXED)
    s = svc(snap)
    _, left = select_hosts(s, drifted=True)
    assert refused(plan_replace, snap, cfg, [], left_out=left) == (
        "nothing to replace in web: left out 4 drifted host(s) a relaunch cannot fix: 2 of 1.5 (image ami-c is "
        "deprecated, and web-lt v3 would launch it again); 2 of ami-b (image ami-b is deregistered, and web-lt v2 "
        "would launch it again); launch a newer generation instead, or name the hosts to replace them anyway")
    assert refused(plan_replace, snap, cfg, []) == (
        "nothing to replace in web: no host selected (mark hosts, or use --drifted / --aged)")


def test_replace_in_batches_within_min_healthy_percent():
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 5, 100, tags={"Team": "blue"}), min_healthy_percent=60)
    s = svc(snap)
    pick = [h for h in s.instances if h.id in ("i-a0", "i-b0", "i-b1", "i-b2")]
    plan = plan_replace(snap, cfg, pick, reason="r")
    assert head(plan) == ("replace", "web", "replace 4 host(s) of web (launch first, then drain and terminate; "
                          "batches of 2)", ("i-a0", "i-b0", "i-b1", "i-b2"), 100, 100, {"1.4": 0, "1.5": 100},
                          {"1.4": 0, "1.5": 100}, None, (), None, None)
    b_tags = {"Service": "web", "Owner": "team", "Team": "blue", "fleettui:version": "1.5"}
    assert steps(plan) == [
        ("s1", "launch", "us-east-1", "launch 1 × web-lt v1 for 1.4",
         {"count": 1, "launch_template": "web-lt", "version": 1, "subnets": ["subnet-a"], "name": "web-1-4",
          "tags": {"Service": "web", "Owner": "team", "fleettui:version": "1.4"}}),
        ("s2", "wait_running", "us-east-1", "wait until they are running", {"launch_step": "s1"}),
        ("s3", "register", "us-east-1", "register them in the generation's target group",
         {"target_groups": [tg("a")], "launch_step": "s1"}),
        ("s4", "wait_healthy", "us-east-1", "wait until they are healthy", {"target_groups": [tg("a")],
                                                                            "launch_step": "s1"}),
        ("s5", "deregister", "us-east-1", "drain 1 old hosts", {"target_groups": [tg("a")], "instance_ids": ["i-a0"]}),
        ("s6", "terminate", "us-east-1", "terminate i-a0", {"instance_ids": ["i-a0"]}),
        ("s7", "launch", "us-east-1", "launch 2 × web-lt v2 for 1.5",
         {"count": 2, "launch_template": "web-lt", "version": 2, "subnets": ["subnet-a"], "name": "web-1-5",
          "tags": b_tags}),
        ("s8", "wait_running", "us-east-1", "wait until they are running", {"launch_step": "s7"}),
        ("s9", "register", "us-east-1", "register them in the generation's target group",
         {"target_groups": [tg("b")], "launch_step": "s7"}),
        ("s10", "wait_healthy", "us-east-1", "wait until they are healthy", {"target_groups": [tg("b")],
                                                                             "launch_step": "s7"}),
        ("s11", "deregister", "us-east-1", "drain 2 old hosts", {"target_groups": [tg("b")],
                                                                 "instance_ids": ["i-b0", "i-b1"]}),
        ("s12", "terminate", "us-east-1", "terminate i-b0, i-b1", {"instance_ids": ["i-b0", "i-b1"]}),
        ("s13", "launch", "us-east-1", "launch 1 × web-lt v2 for 1.5",
         {"count": 1, "launch_template": "web-lt", "version": 2, "subnets": ["subnet-a"], "name": "web-1-5",
          "tags": b_tags}),
        ("s14", "wait_running", "us-east-1", "wait until they are running", {"launch_step": "s13"}),
        ("s15", "register", "us-east-1", "register them in the generation's target group",
         {"target_groups": [tg("b")], "launch_step": "s13"}),
        ("s16", "wait_healthy", "us-east-1", "wait until they are healthy", {"target_groups": [tg("b")],
                                                                             "launch_step": "s13"}),
        ("s17", "deregister", "us-east-1", "drain 1 old hosts", {"target_groups": [tg("b")], "instance_ids": ["i-b2"]}),
        ("s18", "terminate", "us-east-1", "terminate i-b2", {"instance_ids": ["i-b2"]})]
    assert plan.id.startswith("p-") and plan.created_at.endswith("+00:00")


@pytest.mark.parametrize("weights, min_healthy, batch", [
    ((0, 100), 60, 2), ((0, 100), 59, 2), ((0, 100), 40, 3), ((0, 100), 100, 1), ((0, 100), 0, 5),
    ((50, 50), 75, 2),       # both serve: 8 hosts, 25% of them
    ((0, 0), 0, 1),          # nothing serves: one at a time
])
def test_replace_batch_size(weights, min_healthy, batch):
    snap, cfg = fleet(G("1.4", 3, weights[0]), G("1.5", 5, weights[1]), min_healthy_percent=min_healthy)
    plan = plan_replace(snap, cfg, list(svc(snap).generations[1].instances))
    assert plan.summary == f"replace 5 host(s) of web (launch first, then drain and terminate; batches of {batch})"
    assert [s.params["count"] for s in plan.steps if s.kind == "launch"] == [batch] * (5 // batch) + (
        [5 % batch] if 5 % batch else [])


def test_replace_without_a_listener_serves_from_every_generation():
    snap, cfg = fleet(G("1.4", 3), G("1.5", 5), listener=False, min_healthy_percent=75)
    plan = plan_replace(snap, cfg, list(svc(snap).generations[1].instances))
    assert plan.summary.endswith("batches of 2)")                         # 8 hosts serve, 25% of them
    assert [s[1] for s in steps(plan)][:3] == ["launch", "wait_running", "terminate"]    # no target group
    assert (plan.weights_before, plan.weights_after) == ({}, {})


def test_replace_of_a_host_no_template_version_reproduces():
    snap, cfg = fleet(*MIXED)
    s = svc(snap)
    a0 = next(h for h in s.instances if h.id == "i-a0")
    plan = plan_replace(snap, cfg, [a0])
    assert plan.warnings == ("i-a0 cannot be reproduced: replaced from declared v4 (a new generation)",)
    assert steps(plan)[0] == ("s1", "launch", "us-east-1", "launch 1 × web-lt v4 for 1.3",
                              {"count": 1, "launch_template": "web-lt", "version": 4, "subnets": ["subnet-a"],
                               "name": "web-1-6",
                               "tags": {"Service": "web", "Owner": "team", "fleettui:version": "1.6"}})
    # the declared image runs no generation: no generation tag, the service's name
    from dataclasses import replace
    odd = replace(snap, services=(replace(s, declared_image_id="ami-new"),))
    st = steps(plan_replace(odd, cfg, [a0]))[0]
    assert (st[4]["name"], st[4]["tags"]) == ("web", {"Service": "web", "Owner": "team"})


def test_replace_warns_when_a_host_launches_from_another_version_than_its_generation():
    snap, cfg = fleet(G("1.5", 2, 100), G("1.6", 3, 0), min_healthy_percent=50)
    snap = moved(snap, "us-east-1", "i-b0", "i-b1", expected_launch_template_version=7)
    plan = plan_replace(snap, cfg, list(svc(snap).generations[1].instances))
    assert plan.warnings == ("1.6 in us-east-1 launches from v7",)        # once, though two batches say it
    assert [s.params["version"] for s in plan.steps if s.kind == "launch"] == [7, 7, 2]
    ok = plan_replace(snap, cfg, [svc(snap).generations[1].instances[2]])
    assert ok.warnings == ()


def test_replace_with_the_template_of_each_region():
    snap, cfg = fleet(G("1.5", 2, 100))
    snap = moved(snap, "eu-west-1", "i-a1")
    s = svc(snap)
    plan = plan_replace(snap, cfg, list(s.instances), templates={"us-east-1": "web-lt", "eu-west-1": "web-lt-eu"})
    assert [(st[1], st[2], st[3]) for st in steps(plan)] == [
        ("launch", "us-east-1", "launch 1 × web-lt v1 for 1.5"),
        ("wait_running", "us-east-1", "wait until they are running"),
        ("register", "us-east-1", "register them in the generation's target group"),
        ("wait_healthy", "us-east-1", "wait until they are healthy"),
        ("deregister", "us-east-1", "drain 1 old hosts"),
        ("terminate", "us-east-1", "terminate i-a0"),
        ("launch", "eu-west-1", "launch 1 × web-lt-eu v1 for 1.5"),      # no target group there
        ("wait_running", "eu-west-1", "wait until they are running"),
        ("terminate", "eu-west-1", "terminate i-a1")]
    assert steps(plan)[6][4]["launch_template"] == "web-lt-eu"
    assert refused(plan_replace, snap, cfg, list(s.instances), templates={"us-east-1": "web-lt"}) == (
        "cannot replace i-a1: launch template web-lt not found in eu-west-1")
    nolt = svc_cfg(listener_arn=LISTENER, launch_template=None)
    assert refused(plan_replace, snap, nolt, list(s.instances)) == (
        "cannot replace i-a0: web has no launch template version to launch from (set launch_template in the config)")


def test_replace_through_auto_scaling():
    snap, cfg = fleet(G("1.5", 3, 100, in_shared_asg="web-shared"), min_healthy_percent=50)
    plan = plan_replace(snap, cfg, list(svc(snap).instances), templates={"us-east-1": None})
    assert plan.summary == "replace 3 host(s) of web (launch first, then drain and terminate; batches of 1)"
    assert steps(plan)[:4] == [
        ("s1", "asg_scale_out", "us-east-1", "scale web-shared out by 1", {"asg": "web-shared", "add": 1,
                                                                            "replacing": ["i-a0"]}),
        ("s2", "asg_wait_in_service", "us-east-1", "wait for 1 new hosts in web-shared",
         {"asg": "web-shared", "scale_step": "s1", "replacing": ["i-a0"]}),
        ("s3", "asg_terminate", "us-east-1", "terminate 1 old hosts through web-shared",
         {"asg": "web-shared", "instance_ids": ["i-a0"]}),
        ("s4", "asg_scale_out", "us-east-1", "scale web-shared out by 1", {"asg": "web-shared", "add": 1,
                                                                            "replacing": ["i-a1"]})]
    assert len(plan.steps) == 9 and plan.warnings == ()
    snap, cfg = fleet(G("1.5", 4, 100, in_shared_asg="web-shared"), min_healthy_percent=50,
                      required_tags=("Cost",))                              # no tag check: Auto Scaling tags them
    got = steps(plan_replace(snap, cfg, list(svc(snap).instances)))
    assert [(s[0], s[1], s[4].get("add"), s[4].get("scale_step")) for s in got] == [
        ("s1", "asg_scale_out", 2, None), ("s2", "asg_wait_in_service", None, "s1"), ("s3", "asg_terminate", None, None),
        ("s4", "asg_scale_out", 2, None), ("s5", "asg_wait_in_service", None, "s4"), ("s6", "asg_terminate", None, None)]


def test_replace_requires_the_tags_it_cannot_copy():
    snap, cfg = fleet(G("1.5", 2, 100), required_tags=("Owner", "Cost"))
    assert refused(plan_replace, snap, cfg, [svc(snap).instances[0]]) == (
        "the replacement of i-a0 would miss required tag(s) Cost: no host to copy them from carries them; declare "
        "them in the config ([[service]] 'web': tags = { Cost = \"…\" })")


# -- each verb's command line, key and planner call (real argparse, a real Actions; no AWS request is made) ----

def _args(verb, *argv):
    import argparse
    parser = argparse.ArgumentParser(prog=verb.name, exit_on_error=False)
    verb.add_arguments(parser)
    return verb.intent_from_args(parser.parse_args(list(argv)))


def _plan(verb, intent, snap, cfg, tmp_path):
    import asyncio
    from fleettui.actions.api import Actions
    from fleettui.aws.gateway import Gateway
    from fleettui.config import AwsConfig
    from fleettui.config.loader import Config
    from fleettui.store.local import JsonlJournal
    aws = AwsConfig(regions=(REGION,), endpoint_url="http://127.0.0.1:9")      # nothing listens: no request may go
    actions = Actions(config=Config(path=None, aws=aws, services=(cfg,)), gw=Gateway(aws), read_only=False,
                      journal=JsonlJournal(tmp_path / "journal.jsonl"))
    return asyncio.run(verb.plan(actions, intent, snap))


def test_shift_verb(tmp_path):
    from fleettui.actions.verbs.base import Selection
    from fleettui.actions.verbs.shift import VERB, Shift
    from fleettui.errors import ConfigError
    assert _args(VERB, "web", "1.5=40", "1.6=60") == Shift("web", weights=(("1.5", 40), ("1.6", 60)))
    assert _args(VERB, "web", "--to", "1.6", "--weight", "30") == Shift("web", to="1.6", weight=30)
    with pytest.raises(ConfigError, match=r"^shift: give VERSION=WEIGHT pairs or --to/--weight, not both$"):
        _args(VERB, "web", "1.6=100", "--to", "1.6", "--weight", "30")
    with pytest.raises(ConfigError, match=r"^shift: --to needs --weight PERCENT$"):
        _args(VERB, "web", "--to", "1.6")
    snap, cfg = fleet(*THREE)
    assert VERB.intent_for(Selection(svc(snap), generation="1.6")) == Shift("web", to="1.6")
    nolst, _ = fleet(G("1.5"), listener=False)
    assert refused(VERB.intent_for, Selection(svc(nolst))) == "web has no listener: there are no weights to shift"
    plan = _plan(VERB, Shift("web", weights=(("1.5", 40), ("1.6", 60))), snap, cfg, tmp_path)
    assert plan.weights_after == {"1.4": 0, "1.5": 40, "1.6": 60}
    plan = _plan(VERB, Shift("web", to="1.6", weight=30), snap, cfg, tmp_path)
    assert plan.weights_after == {"1.4": 0, "1.5": 70, "1.6": 30}
    plan = _plan(VERB, Shift("web", to="1.6", weight=0), snap, cfg, tmp_path)
    assert plan.weights_after == {"1.4": 0, "1.5": 100, "1.6": 0}
    for bad in (Shift("web"), Shift("web", to="1.6"), Shift("web", weight=30)):
        assert refused(lambda: _plan(VERB, bad, snap, cfg, tmp_path)) == (
            "shift needs VERSION=WEIGHT pairs, or a version and a weight")
    sick, cfg = fleet(G("1.5", 2, 100), G("1.6", 2, 0, sick=2))
    assert VERB.refusal(plan_shift(sick, cfg, {"1.6": 10, "1.5": 90}), sick, cfg) == (
        "1.6 has no healthy targets: refusing to send it 10% of traffic")


def test_rollback_and_decommission_verbs(tmp_path):
    from fleettui.actions.verbs.base import Selection
    from fleettui.actions.verbs.decommission import VERB as DEC, Decommission
    from fleettui.actions.verbs.rollback import VERB as RB, Rollback
    assert _args(RB, "web") == Rollback("web")
    assert _args(RB, "web", "--ramp", "25,50,100", "--to", "1.4") == Rollback("web", ramp=(25, 50, 100), to="1.4")
    snap, cfg = fleet(*THREE)
    plan = _plan(RB, Rollback("web"), snap, cfg, tmp_path)
    assert (plan.generation, len(plan.steps)) == ("1.5", 1)
    plan = _plan(RB, Rollback("web", ramp=(95, 100), to="1.4"), snap, cfg, tmp_path)
    assert (plan.generation, [s.params["weights"][tg("a")] for s in plan.steps]) == ("1.4", [95, 100])
    assert _args(DEC, "web", "1.4") == Decommission("web", "1.4")
    assert DEC.intent_for(Selection(svc(snap), generation="1.4")) == Decommission("web", "1.4")
    assert refused(DEC.intent_for, Selection(svc(snap))) == "put the cursor on the generation to decommission"
    assert _plan(DEC, Decommission("web", "1.4"), snap, cfg, tmp_path).generation == "1.4"
    assert refused(lambda: _plan(DEC, Decommission("web"), snap, cfg, tmp_path)) == (
        "decommission needs a generation (version)")


def test_launch_and_replace_verbs(tmp_path):
    from fleettui.actions.verbs.base import Selection
    from fleettui.actions.verbs.launch import VERB as LAUNCH, Launch
    from fleettui.actions.verbs.replace import VERB as REPLACE, Replace
    from fleettui.errors import ConfigError
    assert _args(LAUNCH, "web") == Launch("web")
    assert _args(LAUNCH, "web", "--lt-version", "4", "--count", "3") == Launch("web", lt_version=4, count=3)
    assert _args(REPLACE, "web", "i-1", "i-2") == Replace("web", hosts=("i-1", "i-2"))
    assert _args(REPLACE, "web", "--drifted", "--generation", "1.5") == Replace("web", drifted=True, generation="1.5")
    assert _args(REPLACE, "web", "--aged") == Replace("web", aged=True)
    with pytest.raises(ConfigError, match=r"^replace: name instance ids, or pass --drifted and/or --aged$"):
        _args(REPLACE, "web", "--generation", "1.5")
    snap, cfg = fleet(G("1.5", 2, 100), G("1.6", 2, 0, drift=1))
    assert REPLACE.intent_for(Selection(svc(snap), marks=("i-a1",))) == Replace("web", hosts=("i-a1",))
    assert REPLACE.intent_for(Selection(svc(snap))) == Replace("web", drifted=True)
    clean, _ = fleet(G("1.5", 2, 100))
    assert refused(REPLACE.intent_for, Selection(svc(clean))) == (
        "nothing to replace in web: no host is marked (space) or drifted")
    # hosts in an Auto Scaling group: no launch template to look up, so no request at all
    asg, cfg = fleet(G("1.5", 3, 100, in_shared_asg="web-shared", drift=2, age=40), G("1.6", 1, 0))
    plan = _plan(REPLACE, Replace("web", drifted=True), asg, cfg, tmp_path)
    assert plan.hosts_affected == ("i-a0", "i-a1")
    plan = _plan(REPLACE, Replace("web", aged=True, generation="1.5"), asg, cfg, tmp_path)
    assert plan.hosts_affected == ("i-a0", "i-a1", "i-a2")
    plan = _plan(REPLACE, Replace("web", hosts=("i-a2",), generation="9.9"), asg, cfg, tmp_path)   # ids: all hosts
    assert plan.hosts_affected == ("i-a2",)


# -- edges the first mutation run showed untested ------------------------------------------------------------

def test_target_group_names_keep_case_and_edge_letters():
    assert planning.tg_name(svc_cfg(), "1.6.0-RC1") == "web-1-6-0-RC1"
    assert planning.tg_name(svc_cfg(), "1.6X") == "web-1-6X"
    assert planning.tg_name(svc_cfg(target_group_prefix="X-"), "1.6") == "X-1-6"


def test_relaunch_cannot_fix_a_host_whose_image_is_both_deprecated_and_gone():
    from dataclasses import replace
    from fleettui.domain.model import Finding
    snap, _ = fleet(G("1.5", 1, 100))
    host = svc(snap).instances[0]
    both = (Finding("drift:image_deprecated", "warn", None, None, ""), Finding("drift:image_deregistered", "error",
                                                                             None, None, ""))
    assert relaunch_cannot_fix(replace(host, findings=both))
    assert not relaunch_cannot_fix(replace(host, findings=both, expected_launch_template_version=None))
    assert not relaunch_cannot_fix(replace(host, findings=both + (Finding("drift:tags", "warn", None, None, ""),)))
    assert not relaunch_cannot_fix(replace(host, findings=(Finding("age:max", "error", None, None, ""),)))


def test_the_left_out_note_for_a_single_host():
    snap, cfg = fleet(G("1.4", 1, 0, image_state="missing"), G("1.5", 2, 100))
    _, left = select_hosts(svc(snap), drifted=True)
    assert refused(plan_replace, snap, cfg, [], left_out=left) == (
        "nothing to replace in web: left out 1 drifted host(s) a relaunch cannot fix: 1 of ami-a (image ami-a is "
        "deregistered, and web-lt v1 would launch it again); launch a newer generation instead, or name the hosts to "
        "replace them anyway")
    plan = plan_replace(snap, cfg, [svc(snap).generations[1].instances[0]], left_out=left)
    assert plan.warnings == ("left out 1 drifted host(s) a relaunch cannot fix: 1 of ami-a (image ami-a is "
                             "deregistered, and web-lt v1 would launch it again); launch a newer generation instead, "
                             "or name the hosts to replace them anyway",)


def test_the_recall_reads_past_other_records_and_bad_dates():
    from fleettui.actions.verbs.launch import decommissioned
    from datetime import timedelta
    recs = [_record(pid="p-x", verb="shift"), _record(pid="p-bad", created="yesterday"),
            _record(pid="p-ok", created=(NOW - timedelta(seconds=60)).isoformat())]
    assert decommissioned(recs, "web", "1.6", now=NOW) == "web 1.6 was decommissioned 1m ago (plan p-ok by alice)"
    recs = [_record(pid="p-ok", created=(NOW - timedelta(seconds=3600)).isoformat())]
    assert decommissioned(recs, "web", "1.6", now=NOW) == "web 1.6 was decommissioned 1h ago (plan p-ok by alice)"


def test_an_auto_scaling_launch_counts_from_the_operator_and_copies_lives_tags():
    snap, cfg = fleet(G("1.4", 3, 0, asg=(1, 5, 3), tags={"Team": "red"}),
                      G("1.5", 2, 100, asg=(2, 4, 2), tags={"Team": "blue"}))
    plan = plan_launch(snap, cfg, target(count=5))
    st = steps(plan)[1]
    assert (st[1], st[4]["min_size"], st[4]["max_size"], st[4]["desired"]) == ("asg_create", 2, 5, 5)
    assert st[4]["tags"]["Team"] == "blue"
    assert plan.id.startswith("p-") and plan.created_at.endswith("+00:00")
    nolive, cfg = fleet(G("1.4", 1, 0, asg=(1, 5, 1), tags={"Team": "red"}),
                        G("1.5", 2, 0, asg=(2, 4, 2), tags={"Team": "blue"}))
    assert steps(plan_launch(nolive, cfg, target()))[1][4]["tags"]["Team"] == "blue"     # 2 of 3 hosts


def test_a_rule_sending_a_fraction_of_a_percent_still_blocks_decommissioning():
    from fleettui.actions.verbs.decommission import VERB
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 4, 100), rules=[rule(1, "/old/*", (tg("a"), 1), (tg("b"), 199))])
    assert VERB.refusal(plan_decommission(snap, cfg, "1.4"), snap, cfg) == (
        "1.4 still receives 0.5% of the traffic of rule 10 (path /old/*) of listener web: shift it to 0 first")


def test_warming_a_cold_target_sizes_from_the_generation_rolled_away_from():
    # 1.6 is a canary (group min 1, desired 2); live 1.5 has min 3: the cold 1.4 gets 2 hosts, min 1
    snap, cfg = fleet(G("1.4", 0, 0, asg=(0, 9, 0)), G("1.5", 4, 90, asg=(3, 9, 4)), G("1.6", 2, 10, asg=(1, 9, 2)))
    plan = plan_rollback(snap, cfg, to="1.4")
    assert _thaw(plan.steps[0].params) == {"asg": "web-1-4", "min_size": 1, "max_size": 9, "desired": 2}
    assert plan.capacity_min == 50                                   # 2 hosts for live 1.5's 4


def test_warming_a_cold_target_when_live_has_no_healthy_host():
    snap, cfg = fleet(G("1.4", 0, 0, asg=(0, 9, 0)), G("1.5", 3, 100, asg=(3, 9, 3), sick=3))
    assert plan_rollback(snap, cfg).capacity_min == 100             # nothing healthy to lose
    snap, cfg = fleet(G("1.4", 0, 0, asg=(0, 9, 0)), G("1.5", 3, 100, asg=(3, 9, 3), sick=1))
    assert plan_rollback(snap, cfg).capacity_min == 100             # 3 hosts for live's 2 healthy: capped
    snap, cfg = fleet(G("1.4", 0, 0, asg=(0, 9, 0)), G("1.5", 3, 100, asg=(3, 9, 3), sick=2))
    assert plan_rollback(snap, cfg).capacity_min == 100             # live has 1 healthy host


def test_candidates_capacity_with_a_single_healthy_live_host():
    snap, _ = fleet(G("1.4", 2, 0), G("1.5", 3, 100, sick=2))
    assert [(c.version, c.capacity_percent) for c in candidates(svc(snap))] == [("1.4", 200)]


def test_rollback_capacity_refusal_depends_on_the_source_having_healthy_hosts():
    from fleettui.actions.verbs.rollback import VERB
    # the canary 1.6 has no healthy host: rolling back to the small 1.4 is allowed (nothing healthy to protect)
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 8, 90), G("1.6", 2, 10, sick=2), min_healthy_percent=40)
    plan = plan_rollback(snap, cfg, to="1.4")
    assert plan.capacity_min == 37 and VERB.refusal(plan, snap, cfg) is None
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 8, 90), G("1.6", 2, 10, sick=1), min_healthy_percent=40)
    assert VERB.refusal(plan_rollback(snap, cfg, to="1.4"), snap, cfg) == (
        "1.4 has 3 healthy hosts; all traffic needs at least 4 (40% of the 8 healthy hosts of live 1.5)")


def test_rollback_needs_the_hosts_rounded_up():
    from fleettui.actions.verbs.rollback import VERB
    snap, cfg = fleet(G("1.4", 8, 0), G("1.5", 4, 0), G("1.6", 8, 100), min_healthy_percent=63)
    assert VERB.refusal(plan_rollback(snap, cfg), snap, cfg) == (               # 5.04 hosts: 6
        "1.5 has 4 healthy hosts; all traffic needs at least 6 (63% of the 8 healthy hosts of live 1.6)")


HELP = {
    "replace": "usage: fleettui replace [-h] [--drifted] [--aged] [--generation VERSION] service [INSTANCE_ID ...]\n\n"
               "positional arguments:\n  service\n  INSTANCE_ID\n\noptions:\n"
               "  -h, --help            show this help message and exit\n"
               "  --drifted             every host with a drift finding\n"
               "  --aged                every host older than max_age\n"
               "  --generation VERSION  only hosts of this generation\n",
    "launch": "usage: fleettui launch [-h] [--lt-version N] [--count N] service\n\npositional arguments:\n  service\n\n"
              "options:\n  -h, --help      show this help message and exit\n"
              "  --lt-version N  launch template version (default: declared)\n"
              "  --count N       hosts (default: as many as the live generation)\n",
    "shift": "usage: fleettui shift [-h] [--to VERSION] [--weight PERCENT] service [VERSION=WEIGHT ...]\n\n"
             "positional arguments:\n  service\n  VERSION=WEIGHT    explicit weights adding up to 100\n\noptions:\n"
             "  -h, --help        show this help message and exit\n"
             "  --to VERSION      give this generation --weight percent, the rest keeps its proportions\n"
             "  --weight PERCENT\n",
    "rollback": "usage: fleettui rollback [-h] [--ramp P1,P2,…] [--to VERSION] service\n\npositional arguments:\n"
                "  service\n\noptions:\n  -h, --help      show this help message and exit\n"
                "  --ramp P1,P2,…  ramp in steps, e.g. 25,50,100 (the generations rolled away from only ever lose\n"
                "                  traffic)\n"
                "  --to VERSION    roll back to this generation instead of the rollback target (the newest\n"
                "                  generation older than the newest one that receives traffic)\n",
    "decommission": "usage: fleettui decommission [-h] service version\n\npositional arguments:\n  service\n  version\n\n"
                    "options:\n  -h, --help  show this help message and exit\n",
}


@pytest.mark.parametrize("name", sorted(HELP))
def test_each_verbs_command_line_help(name, monkeypatch):
    import argparse
    from fleettui.actions.verbs import VERBS
    monkeypatch.setenv("COLUMNS", "100")
    parser = argparse.ArgumentParser(prog=f"fleettui {name}")
    VERBS[name].add_arguments(parser)
    assert parser.format_help() == HELP[name]


def test_own_tags_leave_out_the_name_even_when_every_peer_has_one():
    snap, _ = fleet(G("1.5", 2, 100, tags={"Name": "web-old"}))
    assert "Name" not in planning.new_host_tags(svc_cfg(), "1.6", list(svc(snap).instances))
    assert planning.host_name_prefix("web", "1.6.0-RC1X") == "web-1-6-0-RC1X"


def test_decommission_of_a_generation_with_no_target_group_on_a_listener():
    snap, cfg = fleet(G("1.4", 2, tg=False), G("1.5", 2, 100))
    plan = plan_decommission(snap, cfg, "1.4")
    assert [s[1] for s in steps(plan)] == ["terminate"]
    assert plan.summary == "decommission web 1.4: drain, terminate 2 host(s)"


def test_decommission_removes_only_the_target_groups_a_rule_holds():
    from dataclasses import replace
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 2, 100))
    s = svc(snap)
    two = replace(s.generations[0], target_group_arns=(tg("a"), tg("a2")))
    snap = replace(snap, services=(replace(s, generations=(two, s.generations[1])),))
    got = [(st[1], st[4]) for st in steps(plan_decommission(snap, cfg, "1.4")) if st[1] != "terminate"]
    assert got == [
        ("deregister", {"target_groups": [tg("a"), tg("a2")], "instance_ids": ["i-a0", "i-a1"]}),
        ("listener_remove", {"listener_arn": LISTENER, "rule_arn": None, "target_groups": [tg("a")]}),
        ("delete_target_group", {"target_group": tg("a")}), ("delete_target_group", {"target_group": tg("a2")})]


def test_replace_batch_size_rounds_down():
    snap, cfg = fleet(G("1.4", 3, 0), G("1.5", 5, 100), min_healthy_percent=61)       # 5 × 39% = 1.95 hosts
    assert plan_replace(snap, cfg, list(svc(snap).generations[1].instances)).summary.endswith("batches of 1)")


def test_replace_verb_filters_by_generation_unless_hosts_are_named(tmp_path):
    from fleettui.actions.verbs.replace import VERB as REPLACE, Replace
    asg, cfg = fleet(G("1.5", 3, 100, in_shared_asg="web-shared", age=40), G("1.6", 1, 0, in_shared_asg="web-shared",
                                                                             age=40))
    assert _plan(REPLACE, Replace("web", aged=True), asg, cfg, tmp_path).hosts_affected == (
        "i-a0", "i-b0", "i-a1", "i-a2")
    assert _plan(REPLACE, Replace("web", aged=True, generation="1.5"), asg, cfg, tmp_path).hosts_affected == (
        "i-a0", "i-a1", "i-a2")


def test_more_edges_the_mutation_runs_showed():
    # a rule shared with two other services' groups names both
    a, b = ("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api-a/x",
            "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api-b/x")
    snap, _ = fleet(*THREE, rules=[rule(1, "/mix/*", (tg("b"), 1), (a, 1), (b, 1))])
    assert refused(planning.service_forwards, svc(snap)).split(") also forwards to ")[1] == (
        "api-a, api-b, which is not a generation of web: change that rule by hand first")
    # shares adding up to less than 1 are still shares
    assert planning.split_weights(10, {"a": 0.5, "b": 0.25}) == {"a": 7, "b": 3}
    # 1% to a generation without healthy hosts is refused like any other share
    snap, cfg = fleet(G("1.5", 2, 100), G("1.6", 2, 0, sick=2))
    assert weights_refusal(plan_shift(snap, cfg, {"1.5": 99, "1.6": 1}), snap) == (
        "1.6 has no healthy targets: refusing to send it 1% of traffic")
    # a ramp may start at 1%
    snap, cfg = fleet(G("1.5", 2, 0), G("1.6", 2, 100))
    assert len(plan_rollback(snap, cfg, ramp=[1, 100]).steps) == 2


def test_shift_verb_needs_weights_it_can_read():
    from dataclasses import replace
    from fleettui.actions.verbs.base import Selection
    from fleettui.actions.verbs.shift import VERB
    snap, _ = fleet(G("1.5", 2), listener=False)
    unread = replace(svc(snap), listener_arn=LISTENER)                 # configured, but its weights are unknown
    assert refused(VERB.intent_for, Selection(unread)) == "web has no listener: there are no weights to shift"


def test_weight_steps_name_another_listeners_default_action_by_where_it_is():
    other = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/x/z"
    snap, cfg = fleet(G("1.5", 2, 100), G("1.6", 2, 0), listeners=[
        {"ListenerArn": other, "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tg("a"), "Weight": 1}]}}]}])
    assert [(s[3].split(":")[0], s[4]["listener_arn"]) for s in steps(plan_shift(snap, cfg, {"1.6": 100}))] == [
        ("set listener weights", LISTENER), ("set default action of listener web weights", other)]


def test_rollback_summaries_name_every_generation_rolled_away_from():
    snap, cfg = fleet(G("1.4", 4, 60), G("1.5", 4, 20), G("1.6", 4, 20))
    assert plan_rollback(snap, cfg, to="1.4").summary == (
        "web: take 1.5, 1.6 out of traffic → 1.4 gets 100%, in one listener change")
    idle, cfg = fleet(G("1.4", 4, 0), G("1.5", 4, 0))
    assert plan_rollback(idle, cfg, to="1.4").summary == "web: roll back from ? → 1.4 gets 100%, in one listener change"


def test_replace_keeps_a_hosts_own_required_tag_and_names_every_host():
    from dataclasses import replace
    snap, cfg = fleet(G("1.5", 3, 100), min_healthy_percent=0)
    snap = moved(snap, "us-east-1", "i-a2", tags={**svc(snap).instances[2].tags, "Owner": "ops"})
    got = steps(plan_replace(snap, cfg, [svc(snap).instances[2]]))[0][4]["tags"]
    assert got["Owner"] == "ops"
    snap2 = moved(snap, "eu-west-1", "i-a0", "i-a1")
    assert refused(plan_replace, snap2, cfg, list(svc(snap2).instances[:2]), templates={"us-east-1": "web-lt"}) == (
        "cannot replace i-a0, i-a1: launch template web-lt not found in eu-west-1")
    nolt = replace(cfg, launch_template=None)
    assert refused(plan_replace, snap, nolt, list(svc(snap).instances[:2])).startswith(
        "cannot replace i-a0, i-a1: web has no launch template version")
    snow, cfg = fleet(G("1.3", 2, 100, lt=False), G("1.5", 1, 0), min_healthy_percent=0)
    assert plan_replace(snow, cfg, list(svc(snow).generations[0].instances)).warnings == (
        "i-a0, i-a1 cannot be reproduced: replaced from declared v2 (a new generation)",)


def test_replace_verb_warns_about_the_hosts_it_left_out(tmp_path):
    from fleettui.actions.verbs.replace import VERB as REPLACE, Replace
    asg, cfg = fleet(G("1.4", 2, 0, image_state="missing", in_shared_asg="web-shared"),
                     G("1.5", 2, 100, drift=1, in_shared_asg="web-shared"))
    plan = _plan(REPLACE, Replace("web", drifted=True), asg, cfg, tmp_path)
    assert plan.hosts_affected == ("i-b0",)
    assert plan.warnings == ("left out 2 drifted host(s) a relaunch cannot fix: 2 of ami-a (image ami-a is "
                             "deregistered, and web-lt v1 would launch it again); launch a newer generation instead, "
                             "or name the hosts to replace them anyway",)
