"""Typed access to CloudWatch through the gateway: metric data in batches, alarms."""
from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from fleettui.aws.gateway import Gateway

MAX_QUERIES = 500          # GetMetricData's limit per call


class CloudWatch:
    def __init__(self, gw: Gateway, region: str):
        self.gw, self.region = gw, region

    async def metric_data(self, queries: list[dict[str, Any]], start: datetime, end: datetime
                          ) -> dict[str, list[tuple[datetime, float]]]:
        """query id -> (timestamp, value) pairs, for ``queries`` (MetricStat queries with ids) in calls of at most
        500 queries, following NextToken."""
        out: dict[str, list[tuple[datetime, float]]] = {q["Id"]: [] for q in queries}
        for i in range(0, len(queries), MAX_QUERIES):
            params: dict[str, Any] = dict(MetricDataQueries=queries[i:i + MAX_QUERIES], StartTime=start, EndTime=end,
                                          ScanBy="TimestampAscending")
            while True:
                resp = await self.gw.call("cloudwatch", self.region, "get_metric_data", **params)
                for r in resp.get("MetricDataResults", ()):
                    out.setdefault(r["Id"], []).extend(zip(r.get("Timestamps", ()), r.get("Values", ())))
                token = resp.get("NextToken")
                if not token:
                    break
                params["NextToken"] = token
        return out

    async def alarms(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async for page in self.gw.paginate("cloudwatch", self.region, "describe_alarms"):
            out.extend(page.get("MetricAlarms", ()))
        return out


async def console_output(gw: Gateway, region: str, instance_id: str) -> str:
    """The instance's console output, decoded (AWS sends base64; an emulator may send plain text)."""
    resp = await gw.call("ec2", region, "get_console_output", InstanceId=instance_id, Latest=True)
    return decode_console(resp.get("Output") or "")


def decode_console(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return text
