"""A load balancer's traffic as typed values (fleettui/domain/traffic.py), pure: DescribeListeners /
DescribeRules items as AWS returns them in, exact forwards, weights, percentages and actions out. No server:
milliseconds, for mutation testing (README "Test strength"). Against moto: tests/test_actions.py, test_rollout.py.
"""
from __future__ import annotations

from types import MappingProxyType

import pytest

from fleettui.domain.traffic import (DEFAULT, Forward, Traffic, forwards_of_listener, forwards_of_rules,
                                     traffic_of)

L1 = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-lb/50dc6c495c0c9188/f2f7dc8efc522ab2"
L2 = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/api-lb/60dc6c495c0c9188/a2f7dc8efc522ab2"
R1 = L1.replace(":listener/", ":listener-rule/") + "/9683b2d02a6cabee"
A, B, C = (f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-{v}/x" for v in "abc")


def fwd_action(*groups, sticky=None, **extra):
    config = {"TargetGroups": [{"TargetGroupArn": a, "Weight": w} for a, w in groups]}
    if sticky is not None:
        config["TargetGroupStickinessConfig"] = sticky
    return {"Type": "forward", "ForwardConfig": config, **extra}


def test_default_marker():
    assert DEFAULT == "default"
    f = Forward(L1, ((A, 1),))
    assert (f.rule_arn, f.priority, f.conditions, f.stickiness) == (None, "default", "", None)


# -- Forward -----------------------------------------------------------------------------------------------------

def test_forward_numbers():
    f = Forward(L1, ((A, 30), (B, 70), (C, 0)))
    assert f.is_default
    assert f.total == 100
    assert f.target_groups == (A, B, C)
    assert (f.weight(A), f.weight(B), f.weight(C), f.weight("other")) == (30, 70, 0, 0)
    assert f.percent([A]) == 30.0
    assert f.percent([A, B]) == 100.0
    assert f.percent([C, "other"]) == 0.0
    assert f.percent([]) == 0.0
    assert f.percent(iter([B])) == 70.0
    assert not Forward(L1, ((A, 1),), rule_arn=R1).is_default
    assert Forward(L1, ((C, 1), (A, 2), (B, 0))).target_groups == (C, A, B)          # AWS's order


def test_forward_percent_exact_with_aws_weights():
    f = Forward(L1, ((A, 1), (B, 2)))
    assert f.percent([A]) == 100.0 / 3
    assert f.percent([B]) == 200.0 / 3
    assert Forward(L1, ((A, 0), (B, 0))).percent([A]) == 0.0
    assert Forward(L1, ()).percent([A]) == 0.0
    assert Forward(L1, ()).total == 0


def test_weight_sums_a_group_listed_twice():
    assert Forward(L1, ((A, 2), (B, 5), (A, 3))).weight(A) == 5


def test_with_weights_keeps_order_and_appends_new():
    f = Forward(L1, ((A, 30), (B, 70)), stickiness=MappingProxyType({"Enabled": True, "DurationSeconds": 60}))
    g = f.with_weights({B: 0, C: 100, A: 0})
    assert g.groups == ((A, 0), (B, 0), (C, 100))
    assert g.stickiness == f.stickiness and g.listener_arn == L1
    assert f.with_weights({}).groups == f.groups
    assert f.with_weights({A: 50.0}).groups == ((A, 50), (B, 70))
    assert type(f.with_weights({A: 50.0}).groups[0][1]) is int
    assert type(f.with_weights({C: 5.0}).groups[2][1]) is int
    assert f.groups == ((A, 30), (B, 70))


def test_without():
    f = Forward(L1, ((A, 30), (B, 70), (C, 0)), rule_arn=R1, priority="5")
    assert f.without([B, "other"]).groups == ((A, 30), (C, 0))
    assert f.without([]).groups == f.groups
    assert f.without([A, B, C]).groups == ()
    assert f.without([A]).rule_arn == R1


def test_where_in_words():
    assert Forward(L1, ()).where == "default action of listener web-lb"
    assert Forward(L1, (), rule_arn=R1, priority="10", conditions="path /static/*").where == \
        "rule 10 (path /static/*) of listener web-lb"
    assert Forward(L1, (), rule_arn=R1, priority="3").where == "rule 3 (no conditions) of listener web-lb"


def test_action_exact():
    f = Forward(L1, ((A, 30), (B, 70)))
    assert f.action() == {"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": A, "Weight": 30}, {"TargetGroupArn": B, "Weight": 70}]}}
    sticky = Forward(L1, ((A, 1),), stickiness=MappingProxyType({"Enabled": True, "DurationSeconds": 60}))
    action = sticky.action()
    assert action == {"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": A, "Weight": 1}],
        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 60}}}
    assert type(action["ForwardConfig"]["TargetGroupStickinessConfig"]) is dict
    assert "TargetGroupStickinessConfig" not in Forward(L1, ((A, 1),), stickiness=MappingProxyType({})).action()[
        "ForwardConfig"]


# -- parsing -----------------------------------------------------------------------------------------------------

def test_listener_default_forward_with_weights_and_stickiness():
    listener = {"ListenerArn": L1, "DefaultActions": [
        {"Type": "authenticate-oidc", "Order": 1},
        fwd_action((A, 90), (B, 10), sticky={"Enabled": False})]}
    [f] = forwards_of_listener(listener)
    assert f == Forward(L1, ((A, 90), (B, 10)), stickiness=MappingProxyType({"Enabled": False}))
    assert isinstance(f.stickiness, MappingProxyType)


def test_listener_forward_forms():
    # a weight missing means 1; the old single-target form; a forward without groups is skipped
    listener = {"ListenerArn": L1, "DefaultActions": [
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": A}, {"TargetGroupArn": B,
                                                                                       "Weight": "4"}]}}]}
    assert forwards_of_listener(listener)[0].groups == ((A, 1), (B, 4))
    old = {"ListenerArn": L1, "DefaultActions": [{"Type": "forward", "TargetGroupArn": A}]}
    assert forwards_of_listener(old) == [Forward(L1, ((A, 1),))]
    both = {"ListenerArn": L1, "DefaultActions": [
        {"Type": "forward", "TargetGroupArn": C, "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": A,
                                                                                     "Weight": 2}]}}]}
    assert forwards_of_listener(both)[0].groups == ((A, 2),)
    empty_then = {"ListenerArn": L1, "DefaultActions": [
        {"Type": "forward", "ForwardConfig": {"TargetGroups": []}}, fwd_action((B, 3))]}
    assert forwards_of_listener(empty_then)[0].groups == ((B, 3),)
    sticky_empty = {"ListenerArn": L1, "DefaultActions": [fwd_action((A, 1), sticky={})]}
    assert forwards_of_listener(sticky_empty)[0].stickiness is None


def test_listener_first_forward_wins():
    listener = {"ListenerArn": L1, "DefaultActions": [fwd_action((A, 1)), fwd_action((B, 1))]}
    assert forwards_of_listener(listener)[0].groups == ((A, 1),)


def test_listener_without_forward():
    assert forwards_of_listener({"ListenerArn": L1, "DefaultActions": [
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}]}) == []
    assert forwards_of_listener({"ListenerArn": L1}) == []
    assert forwards_of_listener({"ListenerArn": L1, "DefaultActions": None}) == []
    assert forwards_of_listener({"ListenerArn": L1, "DefaultActions": [{"Type": "forward"}]}) == []
    assert forwards_of_listener({"DefaultActions": [fwd_action((A, 1))]})[0].listener_arn == ""


def test_rules_skip_default_and_non_forwarding():
    rules = [
        {"RuleArn": R1 + "-d", "IsDefault": True, "Priority": "default", "Actions": [fwd_action((A, 1))]},
        {"RuleArn": R1 + "-r", "IsDefault": False, "Priority": "2", "Actions": [
            {"Type": "redirect", "RedirectConfig": {}}]},
        {"RuleArn": R1, "IsDefault": False, "Priority": "5",
         "Conditions": [{"Field": "path-pattern", "Values": ["/static/*", "/img/*"]}],
         "Actions": [fwd_action((A, 80), (B, 20), sticky={"Enabled": True, "DurationSeconds": 30})]},
        {"RuleArn": R1 + "-n", "Actions": [fwd_action((C, 1))]},
    ]
    out = forwards_of_rules(L1, rules)
    assert out == [
        Forward(L1, ((A, 80), (B, 20)), rule_arn=R1, priority="5", conditions="path /static/*,/img/*",
                stickiness=MappingProxyType({"Enabled": True, "DurationSeconds": 30})),
        Forward(L1, ((C, 1),), rule_arn=R1 + "-n", priority="?", conditions=""),
    ]
    assert forwards_of_rules(L1, [dict(rules[2], Priority=7)])[0].priority == "7"


@pytest.mark.parametrize("condition,words", [
    ({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a", "/b"]}}, "path /a,/b"),
    ({"Field": "host-header", "HostHeaderConfig": {"Values": ["x.example.com"]}}, "host x.example.com"),
    ({"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}}, "http-request-method GET"),
    ({"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}, "source-ip 10.0.0.0/8"),
    ({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X", "Values": ["1"]}}, "http"),
    ({"Values": ["/x"]}, "? /x"),
    ({"Field": "path-pattern", "Values": ["/v"], "PathPatternConfig": {"Values": ["/c"]}}, "path /v"),
    ({"Field": "path-pattern", "Values": [], "PathPatternConfig": {"Values": ["/c"]}}, "path /c"),
    ({"Field": "host-header", "PathPatternConfig": None, "HostHeaderConfig": {"Values": ["h"]}}, "host h"),
    ({"Field": "path-pattern", "Values": None, "PathPatternConfig": {}}, "path"),
])
def test_conditions_in_words(condition, words):
    rule = {"RuleArn": R1, "Priority": "1", "Conditions": [condition], "Actions": [fwd_action((A, 1))]}
    assert forwards_of_rules(L1, [rule])[0].conditions == words


def test_several_conditions_joined():
    rule = {"RuleArn": R1, "Priority": "1", "Actions": [fwd_action((A, 1))], "Conditions": [
        {"Field": "host-header", "Values": ["a.example.com"]}, {"Field": "path-pattern", "Values": ["/x"]}]}
    assert forwards_of_rules(L1, [rule])[0].conditions == "host a.example.com; path /x"
    assert forwards_of_rules(L1, [dict(rule, Conditions=None)])[0].conditions == ""


# -- Traffic -----------------------------------------------------------------------------------------------------

def listeners():
    return [
        {"ListenerArn": L1, "DefaultActions": [fwd_action((A, 90), (B, 10))]},
        {"ListenerArn": L2, "DefaultActions": [fwd_action((C, 1))]},
        {"ListenerArn": "no-forward", "DefaultActions": [{"Type": "fixed-response"}]},
    ]


def test_traffic_of_listeners_and_rules_in_order():
    rules = {L1: [{"RuleArn": R1, "Priority": "5", "Actions": [fwd_action((B, 1), (C, 0))]}],
             "no-forward": [{"RuleArn": "r-nf", "Priority": "1", "Actions": [fwd_action((A, 1))]}],
             "unknown": [{"RuleArn": "r-x", "Priority": "1", "Actions": [fwd_action((A, 1))]}]}
    t = traffic_of(L1, listeners(), rules)
    assert [(f.listener_arn, f.rule_arn) for f in t.forwards] == [(L1, None), (L1, R1), (L2, None),
                                                                  ("no-forward", "r-nf")]
    assert t.primary_listener == L1
    assert t.primary is t.forwards[0]
    assert t.target_groups == (A, B, C)
    seen = traffic_of(L2, [{"ListenerArn": L2, "DefaultActions": [fwd_action((C, 1), (B, 1))]},
                           {"ListenerArn": L1, "DefaultActions": [fwd_action((A, 1), (C, 1))]}])
    assert seen.target_groups == (C, B, A)                  # first seen first, once each
    assert t.rules_to([B]) == [t.forwards[0], t.forwards[1]]
    assert t.rules_to([C]) == [t.forwards[2]]          # the rule gives C weight 0
    assert t.rules_to([A]) == [t.forwards[0], t.forwards[3]]
    assert t.rules_to([]) == []
    assert t.rules_to(iter([C, "x"])) == [t.forwards[2]]


def test_traffic_without_rules_and_primary():
    t = traffic_of(L2, listeners())
    assert len(t.forwards) == 2
    assert t.primary == Forward(L2, ((C, 1),))
    assert traffic_of(None, listeners()).primary is None
    assert traffic_of("other", listeners()).primary is None
    t = traffic_of(L1, [{"ListenerArn": "", "DefaultActions": [fwd_action((A, 1))]}],
                   {"": [{"RuleArn": "r", "Priority": "1", "Actions": [fwd_action((B, 1))]}]})
    assert [f.rule_arn for f in t.forwards] == [None, "r"]
    # a listener item without its ARN: its rules are looked up under "" too (as its forwards are named)
    t = traffic_of(L1, [{"DefaultActions": [fwd_action((A, 1))]}],
                   {"": [{"RuleArn": "r", "Priority": "1", "Actions": [fwd_action((B, 1))]}]})
    assert [(f.listener_arn, f.rule_arn) for f in t.forwards] == [("", None), ("", "r")]


def test_primary_is_the_default_action_not_a_rule():
    rule = Forward(L1, ((B, 1),), rule_arn=R1, priority="1")
    default = Forward(L1, ((A, 1),))
    t = Traffic(forwards=(rule, default), primary_listener=L1)
    assert t.primary is default
    assert Traffic(forwards=(rule,), primary_listener=L1).primary is None


def test_traffic_defaults():
    t = Traffic()
    assert (t.forwards, t.primary_listener, t.primary, t.target_groups) == ((), None, None, ())
