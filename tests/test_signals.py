"""Triage signals from CloudWatch: golden signals per generation, the canary-vs-live verdict, alarms, console
output. Against moto's CloudWatch with datapoints the tests write themselves (and the demo's seeded history)."""
import asyncio
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from fleettui.aws.cloudwatch import decode_console
from fleettui.aws.gateway import Gateway
from fleettui.aws.inventory import fetch_snapshot
from fleettui.aws.signals import fetch_signals, lb_dimension, tg_dimension
from fleettui.cli import main
from fleettui.domain.signals import GenerationSignals, judge

from faults import FaultProxy, RetryClock, write_config

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)


def put(demo, version: str, minutes: int, requests: float, errors: float, latency: float, service: str = "web"):
    """``minutes`` per-minute datapoints for one of web's generations, ending a minute ago."""
    arn = demo.fleet.listener_arns[service]
    dims = [{"Name": "TargetGroup", "Value": tg_dimension(demo.fleet.target_groups[service][version])},
            {"Name": "LoadBalancer", "Value": lb_dimension(arn)}]
    data = []
    for m in range(1, minutes + 1):
        t = NOW - timedelta(minutes=m)
        data += [{"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": t, "Value": requests},
                 {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dims, "Timestamp": t, "Value": errors},
                 {"MetricName": "TargetResponseTime", "Dimensions": dims, "Timestamp": t, "Value": latency}]
    demo.client("cloudwatch", arn.split(":")[3]).put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)


def signals_of(demo, config=None, endpoint=None):
    config = config or demo.config()
    if endpoint:
        from dataclasses import replace
        config = replace(config, aws=replace(config.aws, endpoint_url=endpoint))

    async def go():
        async with Gateway(config.aws) as gw:
            snap = await fetch_snapshot(gw, config, now=NOW)
            return snap, await fetch_signals(gw, snap, config, now=NOW), dict(gw.sent)

    return asyncio.run(go())


def test_signals_per_generation_are_the_datapoints_written(demo):
    put(demo, "1.5.0", 15, requests=1000, errors=2, latency=0.18)
    put(demo, "1.6.0", 15, requests=100, errors=4, latency=0.90)
    snap, sig, sent = signals_of(demo)
    web = sig.service("web")
    live, canary = web.generations["1.5.0"], web.generations["1.6.0"]
    assert live.total_requests == 15_000 and live.total_errors == 30
    assert live.error_rate == pytest.approx(0.002) and live.latency_value == pytest.approx(0.18)
    assert live.requests_per_s == pytest.approx(15_000 / 900)
    assert canary.error_rate == pytest.approx(0.04) and canary.latency_value == pytest.approx(0.90)
    assert "1.4.0" not in web.generations or web.generations["1.4.0"].total_requests == 0
    verdict = web.verdicts["1.6.0"]
    assert verdict.worse and verdict.reason == ("1.6.0: 5xx 4.0% vs 0.2% on 1.5.0 and Average latency 900 ms vs "
                                                "180 ms over 15 min")
    # one GetMetricData per region for the whole fleet (well under 500 queries) and one DescribeAlarms page
    assert sent["cloudwatch.GetMetricData"] == len({r for s in snap.services for r in s.regions})
    assert sig.error is None


def test_verdict_same_and_too_little_traffic():
    live = GenerationSignals("1.5.0", 900, requests=(1000,) * 15, errors=(2,) * 15, latency=(0.18,) * 15)
    same = GenerationSignals("1.6.0", 900, requests=(100,) * 15, errors=(0,) * 14 + (1,), latency=(0.2,) * 15)
    few = GenerationSignals("1.6.0", 900, requests=(3,) * 15, errors=(3,) * 15, latency=(2.0,) * 15)
    assert judge(same, live).state == "ok"
    v = judge(few, live)
    assert v.state == "insufficient" and "not enough traffic to judge (45 requests in 15 min, 50 needed)" in v.reason
    # twice live's rate but within one percentage point: not worse (0.4% vs 0.2%)
    small = GenerationSignals("1.6.0", 900, requests=(1000,) * 15, errors=(4,) * 15, latency=(0.18,) * 15)
    assert judge(small, live).state == "ok"
    # latency alone: more than 1.5 × live
    slow = GenerationSignals("1.6.0", 900, requests=(1000,) * 15, errors=(2,) * 15, latency=(0.28,) * 15)
    assert judge(slow, live).worse


def test_alarms_by_config_prefix_and_by_dimension(demo):
    cw = demo.client("cloudwatch")
    dims = [{"Name": "TargetGroup", "Value": tg_dimension(demo.fleet.target_groups["web"]["1.6.0"])}]
    common = dict(Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                  ComparisonOperator="GreaterThanThreshold", MetricName="HTTPCode_Target_5XX_Count")
    cw.put_metric_alarm(AlarmName="canary-errors", Dimensions=dims, **common)     # by dimension
    cw.put_metric_alarm(AlarmName="web-latency", **common)                        # by the config's prefix "web-"
    cw.put_metric_alarm(AlarmName="other-service", **common)                      # neither
    cw.set_alarm_state(AlarmName="canary-errors", StateValue="ALARM", StateReason="5xx")
    _, sig, _ = signals_of(demo)
    alarms = {a.name: a.state for a in sig.service("web").alarms}
    assert set(alarms) == {"canary-errors", "web-latency"} and alarms["canary-errors"] == "ALARM"
    assert [a.name for a in sig.service("web").firing] == ["canary-errors"]
    assert sig.service("api").alarms == ()


@pytest.mark.parametrize("fate", ["deny", "down"])
def test_cloudwatch_denied_or_down_leaves_the_inventory_whole(demo, tmp_path, capsys, fate, monkeypatch):
    RetryClock(monkeypatch, factor=100)      # "down": botocore's 8 attempts, their back-off 100x shorter
    with FaultProxy(demo.endpoint_url) as proxy:
        proxy.service_fates["monitoring"] = fate
        cfg = write_config(demo, proxy.url, tmp_path / "proxied.toml")
        assert main(["status", "--json", "--config", str(cfg)]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["signals_error"].startswith("signals unavailable: ")
        assert sum(g["total"] for s in doc["services"] for g in s["generations"]) == demo.fleet.total
        assert all(g["signals"] is None for s in doc["services"] for g in s["generations"])
        assert main(["status", "--config", str(cfg)]) == 0
        assert "signals unavailable" in capsys.readouterr().out


def test_get_metric_data_is_batched_by_500(demo):
    """3 web + 2 api generations × 4 queries, and 16 worker hosts: fewer than 500 a region. A fleet needing more
    queries than one call takes goes in ceil(n / 500) calls: shown by lowering the batch size."""
    import fleettui.aws.cloudwatch as cw

    original = cw.MAX_QUERIES
    cw.MAX_QUERIES = 5
    try:
        snap, sig, sent = signals_of(demo)
    finally:
        cw.MAX_QUERIES = original
    from fleettui.aws.signals import plan_queries
    per_region = {r: len(q) for r, q in plan_queries(snap, demo.config()).items()}
    assert sent["cloudwatch.GetMetricData"] == sum(-(-n // 5) for n in per_region.values())


def test_demo_history_shows_the_bad_canary(demo):
    from fleettui.emulator.metrics import seed_metrics

    seed_metrics(demo.endpoint_url, demo.fleet, now=NOW)
    _, sig, _ = signals_of(demo)
    web = sig.service("web")
    assert web.verdicts["1.6.0"].worse and [a.name for a in web.firing] == ["web-5xx"]
    assert sig.service("api").verdicts == {} and sig.service("api").generations["2.3.0"].error_rate < 0.005
    worker = sig.service("worker").generations["3.1.0"]
    assert 30 < worker.cpu_value < 60


def test_console_output_is_decoded():
    assert decode_console(base64.b64encode(b"boot ok\n").decode()) == "boot ok\n"
    assert decode_console("plain text from an emulator") == "plain text from an emulator"
