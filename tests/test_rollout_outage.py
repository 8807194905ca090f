"""Issue 23 item 6: the team table down during a rollout's bake holds the rollout where it is and goes on when the
table is back -- never ends it `failed` with the canary left at its weight and nobody driving.

Team mode through the fault proxy; the rollout runs on a VirtualClock whose sleeps also play the outage: from 100 to
200 virtual seconds after the start (inside the first stage's 300 s bake) every DynamoDB request is dropped. (The
bakes are short enough for the analysis window to still cover the datapoints the test wrote.)"""
from __future__ import annotations

import asyncio

from faults import FaultProxy, RetryClock, journal_events, listener_weights, write_config
from fleettui.actions import rollouts
from fleettui.actions.api import Actions
from fleettui.actions.verbs import Rollout
from fleettui.aws.gateway import Gateway
from fleettui.clock import VirtualClock
from fleettui.config import load_config
from fleettui.context import Context, demo_team
from fleettui.emulator import create_team_table

from test_rollout import launched, lb_dimension, tg_arn, tg_dimension


def traffic(demo, version: str, requests: float, errors: float, latency: float, minutes: int = 30) -> None:
    """Per-minute datapoints for one of web's generations from 5 minutes ago to ``minutes`` ahead: the analysis
    windows of a rollout on virtual time (which runs ahead of the wall) find traffic."""
    from datetime import datetime, timedelta, timezone

    dims = [{"Name": "TargetGroup", "Value": tg_dimension(tg_arn(demo, version))},
            {"Name": "LoadBalancer", "Value": lb_dimension(demo.fleet.listener_arns["web"])}]
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    data = []
    for m in range(-5, minutes):
        t = now + timedelta(minutes=m)
        data += [{"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": t, "Value": requests},
                 {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dims, "Timestamp": t, "Value": errors},
                 {"MetricName": "TargetResponseTime", "Dimensions": dims, "Timestamp": t, "Value": latency},
                 {"MetricName": "UnHealthyHostCount", "Dimensions": dims, "Timestamp": t, "Value": 0.0}]
    cw = demo.client("cloudwatch")
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data[i:i + 500])


class OutageClock(VirtualClock):
    """Virtual time that takes the proxy's DynamoDB down from ``down_at`` to ``up_at`` seconds after its start, and
    looks at the rollout (``rollout status``'s view, the listener) half-way through."""

    def __init__(self, proxy, down_at: float, up_at: float, look):
        super().__init__(tick=0.001)
        self.proxy, self.look = proxy, look
        self.t0 = self.time()
        self.down_at, self.up_at = down_at, up_at
        self.seen = None

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        t = self._t - self.t0
        if self.down_at <= t < self.up_at:
            self.proxy.service_fates["dynamodb"] = "down"
            if self.seen is None and t >= (self.down_at + self.up_at) / 2:
                self.seen = self.look()
        else:
            self.proxy.service_fates.pop("dynamodb", None)


def test_team_table_down_during_a_bake_holds_the_canary_and_goes_on_when_it_is_back(demo, isolated_home, tmp_path,
                                                                                 monkeypatch):
    RetryClock(monkeypatch, factor=100)
    launched(demo)
    traffic(demo, "1.5.0", requests=1000, errors=2, latency=0.18)
    traffic(demo, "1.7.0", requests=200, errors=0, latency=0.19)
    create_team_table(demo.endpoint_url, **demo_team())
    with FaultProxy(demo.endpoint_url) as proxy:
        cfg = write_config(demo, proxy.url, tmp_path / "team.toml")
        cfg.write_text(cfg.read_text() + '\n[team]\ntable = "fleettui"\n')
        config = load_config(cfg)
        journal = Context(config=config, read_only=False).store.journal

        def look():
            return rollouts.view(journal, "web"), listener_weights(demo), proxy.forwarded[
                "elasticloadbalancing.ModifyListener"]

        clock = OutageClock(proxy, 100, 200, look)
        journal.local.clock = clock

        async def go():
            async with Gateway(config.aws) as gw:
                a = Actions(config=config, gw=gw, read_only=False, poll_seconds=5, timeout_seconds=120,
                            journal=journal, lock=Context(config=config, read_only=False).store.lock, clock=clock)
                plan = await a.plan(Rollout("web", to="1.7.0", steps=(50, 100), bake_s=300))
                return await a.execute(plan, "outage test")
        outcome = asyncio.run(go())
        dropped = proxy.injected["down"]
    assert outcome.ok, outcome.error                         # before: failed, canary left at 50%, lock held
    assert dropped >= 2                                      # the renewal and its retries met the outage
    view, weights, shifts = clock.seen
    assert view.phase == "holding" and view.weight == 50, view
    assert "the lock could not be renewed" in view.hold and "holding at 50%" in view.hold, view.hold
    assert "holding" in view.line and "the team table fleettui (us-east-1) could not be used" in view.line
    assert weights["web-1-7-0"] == 50 and shifts == 1        # the canary where it was: one shift so far
    assert listener_weights(demo)["web-1-7-0"] == 100         # and on to 100% once the table was back
    notes = [e["note"]["lock_hold"] for e in journal_events(isolated_home)
             if e["event"] == "step_note" and "lock_hold" in e["note"]]
    assert len(notes) == 2 and notes[0].startswith("the lock could not be renewed") and notes[1] == ""
    fin = [e for e in journal_events(isolated_home) if e["event"] == "plan_finished" and e["plan_id"] == outcome.plan.id]
    assert [e["status"] for e in fin][-1] == "succeeded"
