"""Typed access to the team's DynamoDB table through the gateway.

The table has a string partition key ``pk`` and a string sort key ``sk``; items are flat maps of strings, numbers
and booleans (anything nested is stored as JSON text by the caller). A write's condition that does not hold is
:class:`ConditionFailed` (the only answer that decides a lock; never inferred from a read-back).
"""
from __future__ import annotations

from typing import Any

from fleettui.aws.gateway import Gateway
from fleettui.errors import AwsError

Item = dict[str, Any]
TTL_ATTRIBUTE = "expires_at"      # epoch seconds; DynamoDB deletes expired lock items by itself
# the table `fleettui team init` creates (the emulator creates the same one for the demo)
TABLE_SPEC: dict[str, Any] = {
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
}


class ConditionFailed(AwsError):
    """A conditional write's condition did not hold: nothing was written."""


def _enc(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"BOOL": v}
    if isinstance(v, (int, float)):
        return {"N": repr(v) if isinstance(v, float) else str(v)}
    return {"S": str(v)}


def _dec(v: Any) -> Any:
    """A typed value as Python: S, N (int, or float when it has a fraction or exponent), BOOL; anything else (NULL,
    maps, lists, sets, binary: never written by fleettui) is None."""
    if not isinstance(v, dict):
        return None
    if isinstance(v.get("S"), str):
        return v["S"]
    if isinstance(v.get("N"), str):
        n = v["N"]
        try:
            return float(n) if any(c in n for c in ".eE") else int(n)
        except ValueError:
            return None
    if isinstance(v.get("BOOL"), bool):
        return v["BOOL"]
    return None


def encode(item: Item) -> dict[str, Any]:
    return {k: _enc(v) for k, v in item.items() if v is not None}


def decode(raw: dict[str, Any]) -> Item:
    return {k: _dec(v) for k, v in raw.items()}


class Table:
    def __init__(self, gw: Gateway, region: str, name: str):
        self.gw, self.region, self.name = gw, region, name

    @staticmethod
    async def _write(call) -> None:
        try:
            await call
        except AwsError as e:
            if e.code == "ConditionalCheckFailedException":
                raise ConditionFailed(str(e), code=e.code, request_id=e.request_id) from None
            raise

    @staticmethod
    def _cond(condition: str | None, values: Item | None, names: dict[str, str] | None,
              raw_values: dict[str, Any] | None = None) -> dict[str, Any]:
        """``raw_values``: values already in DynamoDB's typed form ({"N": "1e20"}, {"NULL": True}): compared as
        read, whatever their type (``fleettui unlock`` of a lock item fleettui did not write)."""
        out: dict[str, Any] = {}
        if condition:
            out["ConditionExpression"] = condition
        if values or raw_values:
            out["ExpressionAttributeValues"] = {**encode(values or {}), **(raw_values or {})}
        if names:
            out["ExpressionAttributeNames"] = names
        return out

    async def put(self, item: Item, *, condition: str | None = None, values: Item | None = None,
                  names: dict[str, str] | None = None) -> None:
        await self._write(self.gw.call("dynamodb", self.region, "put_item", TableName=self.name, Item=encode(item),
                                       **self._cond(condition, values, names)))

    async def update(self, key: Item, update: str, *, condition: str | None = None, values: Item | None = None,
                     names: dict[str, str] | None = None) -> None:
        await self._write(self.gw.call("dynamodb", self.region, "update_item", TableName=self.name, Key=encode(key),
                                       UpdateExpression=update, **self._cond(condition, values, names)))

    async def delete(self, key: Item, *, condition: str | None = None, values: Item | None = None,
                     names: dict[str, str] | None = None, raw_values: dict[str, Any] | None = None) -> None:
        await self._write(self.gw.call("dynamodb", self.region, "delete_item", TableName=self.name, Key=encode(key),
                                       **self._cond(condition, values, names, raw_values)))

    async def get_raw(self, key: Item) -> dict[str, Any] | None:
        """The item as DynamoDB holds it (typed attribute values: ``{"owner": {"S": "…"}}``), None if absent."""
        resp = await self.gw.call("dynamodb", self.region, "get_item", TableName=self.name, Key=encode(key),
                                  ConsistentRead=True)
        item = resp.get("Item")
        return item if isinstance(item, dict) and item else None

    async def get(self, key: Item) -> Item | None:
        raw = await self.get_raw(key)
        return decode(raw) if raw else None

    async def query(self, pk: str, *, sk_from: str | None = None, newest_first: bool = False,
                    limit: int | None = None) -> list[Item]:
        """Items of partition ``pk`` in sort-key order (``sk_from``: only sort keys >= it), at most ``limit``."""
        cond, values = "pk = :pk", {":pk": pk}
        if sk_from:
            cond += " AND sk >= :from"
            values[":from"] = sk_from
        params: dict[str, Any] = {"TableName": self.name, "KeyConditionExpression": cond,
                                  "ExpressionAttributeValues": encode(values), "ScanIndexForward": not newest_first}
        out: list[Item] = []
        while True:
            if limit:
                params["Limit"] = limit - len(out)
            resp = await self.gw.call("dynamodb", self.region, "query", **params)
            out += [decode(i) for i in resp.get("Items", ())]
            last = resp.get("LastEvaluatedKey")
            if not last or (limit and len(out) >= limit):
                return out
            params["ExclusiveStartKey"] = last

    async def describe(self) -> dict[str, Any] | None:
        """The table's description, or None if there is no such table."""
        try:
            resp = await self.gw.call("dynamodb", self.region, "describe_table", TableName=self.name)
        except AwsError as e:
            if e.code == "ResourceNotFoundException":
                return None
            raise
        return resp["Table"]

    async def create(self) -> bool:
        """`fleettui team init`: the table (on-demand capacity), then point-in-time recovery and the TTL attribute
        (each safe to repeat). True if the table was created now, False if it existed."""
        created = False
        if await self.describe() is None:
            await self.gw.call("dynamodb", self.region, "create_table", TableName=self.name, **TABLE_SPEC)
            created = True
            await self.gw.wait("dynamodb", self.region, "table_exists", delay=1, timeout=120, TableName=self.name)
        await self.gw.call("dynamodb", self.region, "update_continuous_backups", TableName=self.name,
                           PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        try:
            await self.gw.call("dynamodb", self.region, "update_time_to_live", TableName=self.name,
                               TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
        except AwsError as e:
            if "already enabled" not in str(e).lower():      # AWS: "TimeToLive is already enabled"
                raise
        return created
