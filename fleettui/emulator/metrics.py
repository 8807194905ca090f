"""CloudWatch datapoints for the demo fleet, relative to now so the demo always looks live.

web 1.5.0 (live, 90%): ≈0.2% 5xx, ≈180 ms; web 1.6.0 (canary, 10%): ≈4% 5xx and ≈900 ms, rising; web 1.4.0: no
traffic; api 2.3.0 healthy, 2.2.0 idle; every host's CPU (worker's is its signal; the others' show in the host
detail); the alarm ``web-5xx`` (on 1.6.0's target group)
in ALARM. A generation named in ``bad`` (``demo serve --bad VERSION`` / ``:demo bad VERSION``) gets the bad profile.
Values vary smoothly (no randomness): the same minute always has the same numbers.
"""
from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta, timezone

from fleettui.emulator.server import boto3_client

GOOD = {"rpm_per_percent": 17.0, "error": 0.002, "latency": 0.18}
BAD = {"rpm_per_percent": 17.0, "error": 0.03, "latency": 0.65}
PROFILES = {("web", "1.6.0"): BAD}


def _lb(listener_arn: str) -> str:
    return listener_arn.split(":listener/", 1)[1].rsplit("/", 1)[0]


def _datapoints(fleet, t: datetime, age_min: float, weights: dict[str, dict[str, float]], bad: set[str],
                cpu_hosts: dict[str, dict[str, list[str]]]) -> dict:
    """region -> namespace -> MetricData items for minute ``t`` (``age_min`` minutes ago)."""
    out: dict[str, dict[str, list]] = {}
    wave = 1 + 0.15 * math.sin(age_min / 7)
    for service, arn in fleet.listener_arns.items():
        region = arn.split(":")[3]
        for version, tg in fleet.target_groups.get(service, {}).items():
            share = weights.get(service, {}).get(version, 0)
            if not share:
                continue
            profile = BAD if version in bad else PROFILES.get((service, version), GOOD)
            rising = 1 + (0.5 * (60 - age_min) / 60 if profile is BAD else 0)
            requests = round(profile["rpm_per_percent"] * share * wave)
            dims = [{"Name": "TargetGroup", "Value": tg.rsplit(":", 1)[1]}, {"Name": "LoadBalancer", "Value": _lb(arn)}]
            items = out.setdefault(region, {}).setdefault("AWS/ApplicationELB", [])
            items += [
                {"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": t, "Value": float(requests),
                 "Unit": "Count"},
                {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dims, "Timestamp": t,
                 "Value": float(round(requests * profile["error"] * rising)), "Unit": "Count"},
                {"MetricName": "TargetResponseTime", "Dimensions": dims, "Timestamp": t,
                 "Value": round(profile["latency"] * rising * wave, 3), "Unit": "Seconds"},
                {"MetricName": "UnHealthyHostCount", "Dimensions": dims, "Timestamp": t, "Value": 0.0,
                 "Unit": "Count"},
            ]
    for region, services in cpu_hosts.items():
        for service, ids in services.items():
            for n, iid in enumerate(ids):
                cpu = 35 + 20 * math.sin(age_min / 9 + n) ** 2
                out.setdefault(region, {}).setdefault("AWS/EC2", []).append(
                    {"MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId", "Value": iid}],
                     "Timestamp": t, "Value": round(cpu, 1), "Unit": "Percent"})
    return out


def _cpu_hosts(endpoint_url: str, fleet) -> dict[str, dict[str, list[str]]]:
    """region -> service -> its running hosts (sorted ids): each host's CPU (the signal of a service without a
    load balancer; the host detail's trend for all)."""
    out: dict[str, dict[str, list[str]]] = {}
    for region in fleet.regions:
        ec2 = boto3_client("ec2", region, endpoint_url)
        pages = ec2.get_paginator("describe_instances").paginate(Filters=[
            {"Name": "tag-key", "Values": ["Service"]}, {"Name": "instance-state-name", "Values": ["running"]}])
        by_service: dict[str, list[str]] = {}
        for page in pages:
            for r in page["Reservations"]:
                for i in r["Instances"]:
                    service = next(t["Value"] for t in i.get("Tags", ()) if t["Key"] == "Service")
                    by_service.setdefault(service, []).append(i["InstanceId"])
        out[region] = {s: sorted(ids) for s, ids in sorted(by_service.items())}
    return out


def _with_new_generations(endpoint_url: str, fleet):
    """``fleet`` with the target groups its listeners forward to now (a generation launched since the seeding, e.g.
    web 1.7.0 by ``L``: its ``fleettui:version`` tag names it), so the feed follows a rollout onto it."""
    from dataclasses import replace

    groups = {s: dict(v) for s, v in fleet.target_groups.items()}
    for service, arn in fleet.listener_arns.items():
        elb = boto3_client("elbv2", arn.split(":")[3], endpoint_url)
        action = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
        new = [g["TargetGroupArn"] for g in (action.get("ForwardConfig") or {}).get("TargetGroups") or []
               if g["TargetGroupArn"] not in groups.get(service, {}).values()]
        if new:
            for d in elb.describe_tags(ResourceArns=new)["TagDescriptions"]:
                tags = {t["Key"]: t["Value"] for t in d.get("Tags", ())}
                if tags.get("fleettui:version"):
                    groups.setdefault(service, {})[tags["fleettui:version"]] = d["ResourceArn"]
    return replace(fleet, target_groups=groups)


def _put(endpoint_url: str, batches: dict) -> None:
    for region, namespaces in batches.items():
        cw = boto3_client("cloudwatch", region, endpoint_url)
        for namespace, items in namespaces.items():
            for i in range(0, len(items), 500):
                cw.put_metric_data(Namespace=namespace, MetricData=items[i:i + 500])


def _weights(endpoint_url: str, fleet) -> dict[str, dict[str, float]]:
    """Each generation's share of its listener's default action now, in percent (as AWS holds it)."""
    out: dict[str, dict[str, float]] = {}
    for service, arn in fleet.listener_arns.items():
        elb = boto3_client("elbv2", arn.split(":")[3], endpoint_url)
        action = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        total = sum(g.get("Weight", 0) for g in groups) or 1
        by_tg = {g["TargetGroupArn"]: 100 * g.get("Weight", 0) / total for g in groups}
        out[service] = {v: by_tg.get(tg, 0.0) for v, tg in fleet.target_groups.get(service, {}).items()}
    return out


def seed_metrics(endpoint_url: str, fleet, now: datetime | None = None, minutes: int = 60,
                 bad: set[str] = frozenset()) -> None:
    """``minutes`` of per-minute datapoints up to ``now``, and the service alarms."""
    now = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    weights, hosts = _weights(endpoint_url, fleet), _cpu_hosts(endpoint_url, fleet)
    merged: dict[str, dict[str, list]] = {}
    for age in range(minutes, 0, -1):
        for region, namespaces in _datapoints(fleet, now - timedelta(minutes=age), age, weights, set(bad),
                                              hosts).items():
            for namespace, items in namespaces.items():
                merged.setdefault(region, {}).setdefault(namespace, []).extend(items)
    _put(endpoint_url, merged)
    if "web" in fleet.listener_arns and "1.6.0" in fleet.target_groups.get("web", {}):
        arn = fleet.listener_arns["web"]
        cw = boto3_client("cloudwatch", arn.split(":")[3], endpoint_url)
        dims = [{"Name": "TargetGroup", "Value": fleet.target_groups["web"]["1.6.0"].rsplit(":", 1)[1]},
                {"Name": "LoadBalancer", "Value": _lb(arn)}]
        cw.put_metric_alarm(AlarmName="web-5xx", MetricName="HTTPCode_Target_5XX_Count",
                            Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=3,
                            Threshold=5, ComparisonOperator="GreaterThanThreshold", Dimensions=dims,
                            AlarmDescription="web: target 5xx over 5 a minute for 3 minutes")
        cw.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM",
                           StateReason="Threshold Crossed: 3 datapoints were greater than the threshold (5.0)")


class LiveFeed:
    """Keeps writing the current minute's datapoints (following the listener's weights as they change) while a
    long-running demo is up. Stops with :meth:`stop`."""

    def __init__(self, endpoint_url: str, fleet, bad: set[str] = frozenset(), interval: float = 60.0):
        self.endpoint_url, self.fleet, self.bad, self.interval = endpoint_url, fleet, set(bad), interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleettui-demo-metrics", daemon=True)

    def start(self) -> "LiveFeed":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
                fleet = _with_new_generations(self.endpoint_url, self.fleet)
                _put(self.endpoint_url, _datapoints(fleet, now, 0, _weights(self.endpoint_url, fleet),
                                                    self.bad, _cpu_hosts(self.endpoint_url, fleet)))
            except Exception:  # noqa: BLE001 - the emulator is going away; a demo feed never crashes anything
                if self._stop.is_set():
                    return

    def stop(self) -> None:
        self._stop.set()
