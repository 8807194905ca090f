"""Golden signals of a snapshot's generations and its services' alarms, from CloudWatch.

Requests per refresh: per region, ceil(queries / 500) GetMetricData calls (4 queries per target group of a
service behind a load balancer, 1 per host of a service without one) and the pages of one DescribeAlarms.
Signals never fail the inventory: any failure becomes ``Signals.error`` ("signals unavailable: …").
"""
from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from fleettui.aws.cloudwatch import CloudWatch
from fleettui.aws.gateway import Gateway
from fleettui.config import Config
from fleettui.domain.model import Service, Snapshot
from fleettui.domain.signals import (
    Alarm, GenerationSignals, Points, ServiceSignals, Signals, judge, mean_points, sum_points,
)
from fleettui.errors import FleetError

ELB_METRICS = (("RequestCount", "Sum"), ("HTTPCode_Target_5XX_Count", "Sum"), ("TargetResponseTime", None),
               ("UnHealthyHostCount", "Maximum"))


@dataclass(frozen=True)
class _Query:
    id: str
    service: str
    version: str
    metric: str                 # requests | errors | latency | unhealthy | cpu


def lb_dimension(listener_arn: str) -> str:
    """arn:…:listener/app/NAME/LB-ID/LISTENER-ID -> app/NAME/LB-ID (the LoadBalancer dimension's value)."""
    return listener_arn.split(":listener/", 1)[1].rsplit("/", 1)[0]


def tg_dimension(tg_arn: str) -> str:
    return tg_arn.rsplit(":", 1)[1]


def plan_queries(snap: Snapshot, config: Config) -> dict[str, list[tuple[_Query, dict[str, Any]]]]:
    """region -> (what a query is for, the GetMetricData query)."""
    out: dict[str, list[tuple[_Query, dict[str, Any]]]] = defaultdict(list)
    period = int(config.defaults.signals_period_s)
    n = 0

    def add(region: str, q: _Query, namespace: str, name: str, stat: str, dims: list[dict[str, str]]) -> None:
        out[region].append((q, {"Id": q.id, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims}, "Period": period,
            "Stat": stat}}))

    for svc in snap.services:
        cfg = config.service(svc.name)
        for g in svc.generations:
            if svc.listener_arn and g.target_group_arns:
                region = svc.listener_arn.split(":")[3]
                lb = lb_dimension(svc.listener_arn)
                for arn in g.target_group_arns:
                    dims = [{"Name": "TargetGroup", "Value": tg_dimension(arn)}, {"Name": "LoadBalancer", "Value": lb}]
                    for (name, stat), kind in zip(ELB_METRICS, ("requests", "errors", "latency", "unhealthy")):
                        n += 1
                        add(region, _Query(f"q{n}", svc.name, g.version, kind), "AWS/ApplicationELB", name,
                            stat or cfg.latency_stat, dims)
            elif not svc.listener_arn:
                for inst in g.instances:
                    n += 1
                    add(inst.region, _Query(f"q{n}", svc.name, g.version, "cpu"), "AWS/EC2", "CPUUtilization",
                        "Average", [{"Name": "InstanceId", "Value": inst.id}])
    return out


def _points(pairs: list[tuple[datetime, float]], start: datetime, period: float, size: int) -> Points:
    values: list[float | None] = [None] * size
    for ts, v in pairs:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue           # not a number (NaN, infinity: no metric has them): no datapoint
        k = int((ts.astimezone(timezone.utc) - start).total_seconds() // period)
        if 0 <= k < size:
            values[k] = v if values[k] is None else values[k] + v
    return tuple(values)


def _service_alarms(svc: Service, prefixes: tuple[str, ...], alarms: list[dict[str, Any]]) -> tuple[Alarm, ...]:
    dims = set()
    if svc.listener_arn:
        dims.add(lb_dimension(svc.listener_arn))
        dims.update(tg_dimension(a) for g in svc.generations for a in g.target_group_arns)
    return matching_alarms(prefixes, dims, alarms)


def matching_alarms(prefixes, dims: set[str], alarms: list[dict[str, Any]]) -> tuple[Alarm, ...]:
    """The alarms named by a prefix or whose dimensions name one of ``dims``, firing first."""
    out = []
    for a in alarms:
        values = {d.get("Value") for d in a.get("Dimensions") or ()}
        if any(a["AlarmName"].startswith(p) for p in prefixes) or values & dims:
            out.append(Alarm(name=a["AlarmName"], state=a.get("StateValue", "INSUFFICIENT_DATA"),
                             reason=a.get("StateReason", ""), metric=a.get("MetricName", "")))
    return tuple(sorted(out, key=lambda a: (not a.firing, a.name)))


async def fetch_signals(gw: Gateway, snap: Snapshot, config: Config, now: datetime | None = None) -> Signals:
    d = config.defaults
    period, window = d.signals_period_s, d.signals_window_s
    now = now or datetime.now(timezone.utc)
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(seconds=window)
    size = int(window // period)
    plans = plan_queries(snap, config)
    regions = sorted(set(plans) | {r for s in snap.services for r in s.regions})
    results: dict[str, dict[str, list]] = {}
    alarms: dict[str, list[dict[str, Any]]] = {}
    errors: list[str] = []

    async def one(region: str) -> None:
        cw = CloudWatch(gw, region)
        try:
            queries = [q for _, q in plans.get(region, ())]
            results[region] = await cw.metric_data(queries, start, end) if queries else {}
            alarms[region] = await cw.alarms()
        except FleetError as e:
            errors.append(f"{region}: {e}")

    await asyncio.gather(*(one(r) for r in regions))
    raw: dict[tuple[str, str], dict[str, list[Points]]] = defaultdict(lambda: defaultdict(list))
    for region, items in plans.items():
        got = results.get(region, {})
        for q, _ in items:
            if q.id in got:
                raw[(q.service, q.version)][q.metric].append(_points(got[q.id], start, period, size))
    services = {}
    for svc in snap.services:
        cfg = config.service(svc.name)
        gens = {}
        for g in svc.generations:
            m = raw.get((svc.name, g.version))
            if not m:
                continue
            gens[g.version] = GenerationSignals(
                version=g.version, window_s=window, latency_stat=cfg.latency_stat,
                requests=sum_points(m["requests"]), errors=sum_points(m["errors"]),
                latency=mean_points(m["latency"]), unhealthy=sum_points(m["unhealthy"]), cpu=mean_points(m["cpu"]))
        verdicts = {}
        live = svc.live
        if live is not None and live.version in gens and svc.listener_arn:
            for g in svc.generations[svc.generations.index(live) + 1:]:
                if g.receives_traffic and g.version in gens:
                    verdicts[g.version] = judge(gens[g.version], gens[live.version])
        svc_alarms = _service_alarms(svc, cfg.alarms, [a for r in svc.regions for a in alarms.get(r, ())])
        services[svc.name] = ServiceSignals(MappingProxyType(gens), MappingProxyType(verdicts), svc_alarms)
    error = f"signals unavailable: {'; '.join(errors)}" if errors else None
    return Signals(generated_at=now, services=MappingProxyType(services), error=error, window_s=window)


async def instance_cpu(gw: Gateway, config: Config, region: str, instance_id: str,
                       now: datetime | None = None) -> Points:
    """One host's CPUUtilization (Average per signals period) over the signals window, oldest first: the host
    detail's trend. One GetMetricData call."""
    d = config.defaults
    end = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    start = end - timedelta(seconds=d.signals_window_s)
    query = {"Id": "cpu", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                   "Dimensions": [{"Name": "InstanceId", "Value": instance_id}]},
        "Period": int(d.signals_period_s), "Stat": "Average"}}
    got = await CloudWatch(gw, region).metric_data([query], start, end)
    return _points(got.get("cpu", []), start, d.signals_period_s, int(d.signals_window_s // d.signals_period_s))


async def rollout_signals(gw: Gateway, listener_arn: str, groups: dict[str, list[str]], window_s: float,
                          period_s: float, latency_stat: str, now: datetime | None = None
                          ) -> dict[str, GenerationSignals]:
    """Golden signals of the generations in ``groups`` (version -> target group ARNs) over the last ``window_s``
    seconds: what a rollout's analysis judges (one GetMetricData call)."""
    region = listener_arn.split(":")[3]
    lb = lb_dimension(listener_arn)
    now = now or datetime.now(timezone.utc)
    start = now - timedelta(seconds=window_s)
    size = max(1, int(window_s // period_s))
    queries, what = [], {}
    for version, arns in groups.items():
        for arn in arns:
            dims = [{"Name": "TargetGroup", "Value": tg_dimension(arn)}, {"Name": "LoadBalancer", "Value": lb}]
            for (name, stat), kind in zip(ELB_METRICS, ("requests", "errors", "latency", "unhealthy")):
                qid = f"q{len(queries) + 1}"
                what[qid] = (version, kind)
                queries.append({"Id": qid, "ReturnData": True, "MetricStat": {
                    "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": dims},
                    "Period": int(period_s), "Stat": stat or latency_stat}})
    got = await CloudWatch(gw, region).metric_data(queries, start, now) if queries else {}
    raw: dict[str, dict[str, list[Points]]] = defaultdict(lambda: defaultdict(list))
    for qid, (version, kind) in what.items():
        raw[version][kind].append(_points(got.get(qid, []), start, period_s, size))
    return {v: GenerationSignals(version=v, window_s=window_s, latency_stat=latency_stat,
                                 requests=sum_points(m["requests"]), errors=sum_points(m["errors"]),
                                 latency=mean_points(m["latency"]), unhealthy=sum_points(m["unhealthy"]))
            for v, m in raw.items()}
