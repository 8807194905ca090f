"""Reliability under faults: the CLI runs a full rollout and a rollback through a proxy that throttles, fails
and drops connections (some after the request executed), and AWS ends in exactly the expected state.

Everything the app does goes through :class:`faults.FaultProxy`; every check of the result reads moto directly
with boto3 (never through the proxy). Retries are botocore's own (adaptive mode, ``max_attempts`` 8): there is
no retry loop in fleettui, so surviving these faults means every step is safe to repeat.
"""
from __future__ import annotations

import json

from faults import (
    FaultProxy, RetryClock, assert_journal_complete, bake_web_version, full_rollout, instances, journal_events,
    listener_weights, target_group_names, tg_members, web_generations, write_config,
)
from fleettui.actions.executor import PLAN_TAG
from fleettui.cli import main

# >= 20% throttling, >= 5% dropped connections (half of them after the request executed), 2% HTTP 500
RATES = dict(throttle=0.20, error5xx=0.02, drop_before=0.025, drop_after=0.025)
# and, whatever the dice say, the first call of every mutating step kind loses its response
LOST_RESPONSES = ("ec2.RunInstances", "elasticloadbalancing.CreateTargetGroup",
                  "elasticloadbalancing.RegisterTargets", "elasticloadbalancing.ModifyListener",
                  "elasticloadbalancing.DeregisterTargets", "ec2.TerminateInstances",
                  "elasticloadbalancing.DeleteTargetGroup", "elasticloadbalancing.AddTags")
DROPS = ("drop_before", "drop_after")


def cli(*args: str, cfg) -> int:
    return main([*args, "--config", str(cfg), "--yes"])


def report(name: str, proxy: FaultProxy, clock: RetryClock | None = None) -> dict:
    """The figures of a run (printed with -s; quoted in tests/SAFETY_SECTION.md)."""
    stats = proxy.stats()
    figures = {"test": name, "requests": sum(stats["requests"].values()),
               "mutating_requests": sum(proxy.mutating().values()),
               "injected": stats["injected"],
               "lost_responses_of_mutations": sum(n for (fate, key), n in stats["injected_by"].items()
                                                  if fate == "drop_after" and key in proxy.mutating()),
               "botocore_backoff_s": round(clock.slept, 1) if clock else None}
    print("\nFAULT FIGURES " + json.dumps(figures))
    return figures


def test_full_rollout_survives_throttling_and_lost_responses(demo, tmp_path, isolated_home, monkeypatch):
    bake_web_version(demo, "1.7.0")
    old_ids = {i["InstanceId"] for i in instances(demo, Service="web")}
    assert web_generations(demo) == {"1.4.0": 15, "1.5.0": 15, "1.6.0": 3}
    clock = RetryClock(monkeypatch, factor=100)

    with FaultProxy(demo.endpoint_url, seed=20240605, **RATES) as proxy:
        for key in LOST_RESPONSES:
            proxy.script(key, "drop_after")
        cfg = write_config(demo, proxy.url, tmp_path / "proxied.toml")

        assert cli("launch", "web", "--reason", "rollout 1.7.0", cfg=cfg) == 0
        for pct in (10, 50, 100):
            assert cli("shift", "web", "--to", "1.7.0", "--weight", str(pct), cfg=cfg) == 0
            assert listener_weights(demo)["web-1-7-0"] == pct
        for version in ("1.4.0", "1.5.0", "1.6.0"):
            assert cli("decommission", "web", version, "--reason", "cleanup", cfg=cfg) == 0
        figures = report("rollout", proxy, clock)
        stats = proxy.stats()

    # the faults really happened, including a lost response for every kind of mutation
    assert stats["injected"]["throttle"] >= 30, stats["injected"]
    assert sum(stats["injected"].get(k, 0) for k in DROPS) >= 10, stats["injected"]
    for key in LOST_RESPONSES:
        assert stats["injected_by"].get(("drop_after", key), 0) >= 1, key

    # listener: exactly the new generation, at 100
    assert listener_weights(demo) == {"web-1-7-0": 100}
    # instances: exactly 15 web hosts, all new, all from the launch plan, all registered
    journal = journal_events(isolated_home)
    plans = assert_journal_complete(journal)
    assert [p["verb"] for p in plans.values()] == ["launch", "shift", "shift", "shift", "decommission",
                                                    "decommission", "decommission"]
    assert not [e for e in journal if e["event"] == "step_failed"]      # botocore's retries absorbed it all
    launch_id = next(pid for pid, p in plans.items() if p["verb"] == "launch")
    subnets = next(st for st in plans[launch_id]["plan"]["steps"] if st["kind"] == "launch")["params"]["subnets"]
    # a lost RunInstances response made botocore send it again: one batch (of one subnet) launched twice
    assert stats["forwarded"]["ec2.RunInstances"] == len(subnets) + 1
    launch_done = next(e for e in journal if e["plan_id"] == launch_id and e["event"] == "step_succeeded"
                       and e["step"] == "s2")["detail"]
    running = {i["InstanceId"] for i in instances(demo, Service="web")}
    assert web_generations(demo) == {"1.7.0": 15}
    assert running == set(launch_done["instances"]) and not running & old_ids
    assert tg_members(demo, "web-1-7-0") == running
    # every host the plan ever launched is accounted for: kept (running) or a surplus it terminated itself
    tagged = instances(demo, states=("pending", "running", "shutting-down", "terminated", "stopped"),
                       **{PLAN_TAG: launch_id})
    surplus = set(launch_done.get("surplus_terminated", ()))
    assert 0 < len(surplus) <= -(-15 // len(subnets))          # the batch botocore re-sent, trimmed
    assert {i["InstanceId"] for i in tagged} == running | surplus
    anywhere = [i for r in ("us-east-1", "eu-west-1") for i in instances(demo, r)
                if any(t["Key"] == PLAN_TAG for t in i.get("Tags", ()))]
    assert {i["InstanceId"] for i in anywhere} == running          # no orphan launched by any plan
    assert all(i["State"]["Name"] in ("shutting-down", "terminated") for i in tagged
               if i["InstanceId"] in surplus)
    # the old hosts are gone, the old target groups too, and nothing else was created or left behind
    assert not {i["InstanceId"] for i in instances(demo, Service="web") if i["InstanceId"] in old_ids}
    assert {n for n in target_group_names(demo) if n.startswith("web-")} == {"web-1-7-0"}
    assert target_group_names(demo, "eu-west-1") == {"api-2-2-0", "api-2-3-0"}
    assert figures["requests"] > 200


def test_ramped_rollback_survives_faults(demo, tmp_path, isolated_home, monkeypatch):
    """A ramped rollback through the same faults (botocore's retry decisions as in production, its waits 100x
    shorter): after a full rollout of 1.6.0, 1.5.0 gets 25%, 50%, then 100%."""
    RetryClock(monkeypatch, factor=100)
    full_rollout(demo, "1.6.0")
    before = web_generations(demo)
    with FaultProxy(demo.endpoint_url, seed=7, **RATES) as proxy:
        proxy.script("elasticloadbalancing.ModifyListener", "drop_after", "ok", "drop_before")
        proxy.script("elasticloadbalancing.AddTags", "drop_after")
        cfg = write_config(demo, proxy.url, tmp_path / "proxied.toml")
        assert cli("rollback", "web", "--ramp", "25,50,100", "--reason", "bad deploy", cfg=cfg) == 0
        report("rollback", proxy)
        stats = proxy.stats()
    assert stats["injected_by"][("drop_after", "elasticloadbalancing.ModifyListener")] >= 1
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0}
    assert web_generations(demo) == before                      # a rollback launches and terminates nothing
    assert {n for n in target_group_names(demo) if n.startswith("web-")} == {"web-1-4-0", "web-1-5-0", "web-1-6-0"}
    assert not {k for k in stats["forwarded"] if k.endswith(("RunInstances", "TerminateInstances"))}
    journal = journal_events(isolated_home)
    plans = assert_journal_complete(journal)
    assert not [e for e in journal if e["event"] == "step_failed"]
    assert [p["verb"] for p in plans.values()] == ["rollback"]
    assert len(next(iter(plans.values()))["plan"]["steps"]) == 3


def test_read_only_sends_zero_mutating_requests_counted_at_the_proxy(demo, tmp_path, capsys, monkeypatch):
    weights = listener_weights(demo)
    RetryClock(monkeypatch, factor=100)
    with FaultProxy(demo.endpoint_url, seed=3, throttle=0.2) as proxy:
        cfg = str(write_config(demo, proxy.url, tmp_path / "proxied.toml"))
        ro = ["--config", cfg, "--read-only"]
        assert main(["status", *ro]) == 0
        assert main(["status", "--json", *ro]) == 0
        for verb in (["rollback", "web"], ["launch", "web"], ["decommission", "web", "1.4.0"],
                     ["shift", "web", "--to", "1.6.0", "--weight", "20"], ["replace", "web", "--drifted"]):
            assert main(["plan", *verb, *ro]) in (0, 2), verb
        assert main(["rollback", "web", "--yes", *ro]) == 2              # refused before anything is sent
        assert main(["launch", "web", "--dry-run", *ro]) in (0, 2)
        with capsys.disabled():
            report("read-only", proxy)
        requests, mutating = proxy.total(), proxy.mutating()
    out = capsys.readouterr()
    assert "read-only" in out.out
    assert requests > 50
    assert mutating == {}, mutating
    assert listener_weights(demo) == weights


def test_endpoint_down_is_one_line_exit_1_then_recovers(demo, tmp_path, capsys, monkeypatch):
    clock = RetryClock(monkeypatch, factor=100)
    with FaultProxy(demo.endpoint_url) as proxy:
        cfg = str(write_config(demo, proxy.url, tmp_path / "proxied.toml"))
        proxy.down = True
        assert main(["status", "--config", cfg]) == 1
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "Connection was closed before we received a valid response" in err[0], err
        assert main(["rollback", "web", "--yes", "--config", cfg]) == 1        # nothing planned, nothing sent
        assert len(capsys.readouterr().err.splitlines()) == 1
        assert proxy.mutating("forwarded") == {}
        dropped = proxy.stats()["injected"]["down"]
        proxy.down = False
        assert main(["status", "--json", "--config", cfg]) == 0
        web = next(s for s in json.loads(capsys.readouterr().out)["services"] if s["name"] == "web")
        assert [g["weight"] for g in web["generations"]] == [0, 90, 10]
    # botocore retried each call up to max_attempts (8) with its own backoff before giving up
    assert dropped >= 8 and clock.backoffs >= 7


def test_auto_scaling_replace_survives_lost_responses(demo, tmp_path, isolated_home, monkeypatch):
    """ASG hosts are replaced through Auto Scaling; a lost TerminateInstanceInAutoScalingGroup response (its
    retry finds the host already gone from the group) and a lost SetDesiredCapacity response are absorbed."""
    RetryClock(monkeypatch, factor=100)
    asg = demo.client("autoscaling")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["worker-use1"])["AutoScalingGroups"][0]
    old = sorted(i["InstanceId"] for i in group["Instances"])[:2]
    with FaultProxy(demo.endpoint_url, seed=11, **RATES) as proxy:
        proxy.script("autoscaling.SetDesiredCapacity", "drop_after")
        proxy.script("autoscaling.TerminateInstanceInAutoScalingGroup", "drop_after", "drop_after")
        proxy.script("ec2.CreateTags", "drop_after")           # the lock, on the launch template
        cfg = write_config(demo, proxy.url, tmp_path / "proxied.toml")
        assert cli("replace", "worker", *old, cfg=cfg) == 0
        report("asg-replace", proxy)
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["worker-use1"])["AutoScalingGroups"][0]
    members = {i["InstanceId"] for i in group["Instances"]}
    assert group["DesiredCapacity"] == 8 and len(members) == 8 and not members & set(old)
    states = {i["InstanceId"]: i["State"]["Name"] for i in instances(
        demo, states=("pending", "running", "shutting-down", "terminated"), Service="worker")}
    assert {states[i] for i in old} <= {"shutting-down", "terminated"}
    assert all(states[i] in ("pending", "running") for i in members)
    journal = journal_events(isolated_home)
    assert_journal_complete(journal)
    assert not [e for e in journal if e["event"] == "step_failed"]


def test_non_aws_answer_is_one_line_exit_1(demo, tmp_path, capsys):
    """An HTML error page (a proxy in the way) instead of AWS's XML: one line, not an internal error (for the
    region whose answer it was: the other region is shown)."""
    with FaultProxy(demo.endpoint_url) as proxy:
        proxy.script("elasticloadbalancing.DescribeListeners", "garbage")
        cfg = str(write_config(demo, proxy.url, tmp_path / "proxied.toml"))
        assert main(["status", "--config", cfg]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "answered something that is not an AWS response" in err[0], err
    # whichever region's DescribeListeners went first got the page (both regions have listeners)
    assert err[0].startswith(("fleettui: us-east-1 not refreshed", "fleettui: eu-west-1 not refreshed"))
    assert "internal error" not in err[0]


def test_hanging_endpoint_is_reported_within_the_read_budget(tmp_path, capsys, monkeypatch):
    """An endpoint that accepts TCP and never answers: one line and exit 1 after the per-call bound (all attempts
    included), not 8 read timeouts. Only real time can bound a network that does not answer, so this test keeps a
    real budget -- a tiny one (0.5 s instead of production's 20 s): what it proves is that the budget ends the
    call with that line, not how long production waits."""
    import socket

    from fleettui.aws import gateway

    monkeypatch.setattr(gateway, "READ_BUDGET", 0.5)
    with socket.socket() as sink:
        sink.bind(("127.0.0.1", 0))
        sink.listen(64)                      # the kernel accepts; nobody ever reads or answers
        cfg = tmp_path / "hang.toml"
        cfg.write_text(f'[aws]\nregions=["us-east-1"]\nendpoint_url="http://127.0.0.1:{sink.getsockname()[1]}"\n'
                       '[[service]]\nname="web"\nselector={Service="web"}\n', encoding="utf-8")
        code = main(["status", "--config", str(cfg)])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and f"no answer from http://127.0.0.1:" in lines[0], err
    assert "within 0.5s (every attempt included)" in lines[0] and "Traceback" not in err


def test_one_dead_region_does_not_hide_the_others(demo, tmp_path, capsys, monkeypatch):
    """Every request signed for eu-west-1 is dropped: status shows us-east-1, one line for eu-west-1, exit 1;
    --json carries the error; no plan is made for a service in the dead region."""
    RetryClock(monkeypatch, factor=100)
    with FaultProxy(demo.endpoint_url) as proxy:
        proxy.down_regions = {"eu-west-1"}
        cfg = str(write_config(demo, proxy.url, tmp_path / "proxied.toml"))
        assert main(["status", "--config", cfg]) == 1
        out, err = capsys.readouterr()
        assert err.splitlines() == [err.strip()], err
        assert err.startswith("fleettui: eu-west-1 not refreshed (stale, its hosts are not shown): "), err
        assert "Connection was closed before we received a valid response" in err
        assert "1.5.0" in out and "90%" in out                  # web, in us-east-1, is shown
        assert main(["status", "--json", "--config", cfg]) == 1
        doc = json.loads(capsys.readouterr().out)
        assert [e["region"] for e in doc["errors"]] == ["eu-west-1"]
        assert "in eu-west-1: Connection was closed" in doc["errors"][0]["message"]
        services = {s["name"]: s for s in doc["services"]}
        assert [g["weight"] for g in services["web"]["generations"]] == [0, 90, 10]
        assert services["api"]["generations"] == []             # eu-west-1 only: nothing read, nothing made up
        assert main(["rollback", "api", "--yes", "--config", cfg]) == 1      # its only region: nothing read
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "in eu-west-1: Connection was closed" in err[0], err
        assert main(["replace", "worker", "--aged", "--yes", "--config", cfg]) == 1   # one of its two regions
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "cannot plan replace for worker: eu-west-1 could not be read" in err[0], err
        assert proxy.mutating("forwarded") == {}
        proxy.down_regions = set()
        assert main(["status", "--json", "--config", cfg]) == 0
        assert json.loads(capsys.readouterr().out)["errors"] == []
