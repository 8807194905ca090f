"""The one place that talks to AWS (aiobotocore).

Safety lives here, enforced on every client by a botocore ``before-call`` hook:
- read operations (Describe*/List*/Get*/Lookup*) are always allowed;
- mutating operations are allowed only if they are on :data:`MUTATING_ALLOWLIST`, and never in read-only
  mode; anything else is refused *before* a request is signed or sent.
Retries are botocore's (adaptive mode); there is no retry loop of our own.
"""
from __future__ import annotations

import ipaddress
import os
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any, AsyncIterator
from datetime import datetime
from urllib.parse import urlparse

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import (
    BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError,
    ProfileNotFound, ConnectTimeoutError, ReadTimeoutError,
)
from botocore.parsers import ResponseParserError
from botocore.utils import parse_timestamp

from fleettui.config import AwsConfig
from fleettui.errors import AwsError, FleetError

READ_PREFIXES = ("Describe", "List", "Get", "Lookup")

# (botocore service name, operation). Nothing else that changes AWS can be called from this process.
MUTATING_ALLOWLIST: frozenset[tuple[str, str]] = frozenset({
    ("ec2", "RunInstances"),
    ("ec2", "TerminateInstances"),
    ("ec2", "CreateTags"),
    ("ec2", "DeleteTags"),          # only to release the lock tag on a launch template (IAM: that key only)
    ("elbv2", "RegisterTargets"),
    ("elbv2", "DeregisterTargets"),
    ("elbv2", "ModifyListener"),
    ("elbv2", "ModifyRule"),
    ("elbv2", "CreateTargetGroup"),
    ("elbv2", "DeleteTargetGroup"),
    ("elbv2", "AddTags"),
    ("elbv2", "RemoveTags"),
    ("autoscaling", "TerminateInstanceInAutoScalingGroup"),
    ("autoscaling", "SetDesiredCapacity"),
})


class MutationRefused(FleetError):
    """A mutating call was stopped before it left the process."""

    exit_code = 2


def is_read_operation(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


def _parse_timestamp(value):
    """botocore's timestamp parser, with the common ISO-8601 case done by the C-level ``fromisoformat``
    (botocore's own parser is about a quarter of the client CPU of a 5,000-host refresh)."""
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dt.tzinfo is not None:
                return dt
        except ValueError:
            pass
    return parse_timestamp(value)


def _is_loopback(url: str | None) -> bool:
    if not url:
        return False
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Gateway:
    """Async AWS clients per (service, region), with the mutation guard and a request counter.

    Use as ``async with Gateway(aws_config, read_only=...) as gw:``.
    """

    def __init__(self, aws: AwsConfig, *, read_only: bool = False, max_attempts: int = 8,
                 connect_timeout: float = 5, read_timeout: float = 30):
        self.aws = aws
        self.read_only = read_only
        self.sent: Counter[str] = Counter()        # HTTP requests that left the process, by "service.Operation"
        self.refused: list[str] = []               # operations the guard refused
        self.mutations: list[tuple[str, str | None]] = []  # ("service.Operation", request id) of sent mutations
        if _is_loopback(aws.endpoint_url):
            # an emulator on loopback (moto): the profile is only a label; keys come from the environment when
            # set there explicitly, else dummy ones (any key is accepted), never from a real profile
            self._session = AioSession()
            if not os.environ.get("AWS_ACCESS_KEY_ID"):
                self._session.set_credentials("testing", "testing")
        else:
            self._session = AioSession(profile=aws.profile) if aws.profile else AioSession()
        self._session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=_parse_timestamp)
        self._config = AioConfig(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            connect_timeout=connect_timeout, read_timeout=read_timeout, max_pool_connections=32,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._stack = AsyncExitStack()

    @property
    def endpoint(self) -> str:
        return self.aws.endpoint_url or "AWS"

    async def __aenter__(self) -> "Gateway":
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        self._clients.clear()
        await self._stack.__aexit__(*exc)

    async def client(self, service: str, region: str):
        key = (service, region)
        if key not in self._clients:
            try:
                client = await self._stack.enter_async_context(self._session.create_client(
                    service, region_name=region, endpoint_url=self.aws.endpoint_url, config=self._config))
            except ProfileNotFound as e:
                raise AwsError(f"AWS profile {self.aws.profile!r} not found ({e})") from None
            except (NoRegionError, BotoCoreError) as e:
                raise AwsError(f"cannot create {service} client for {region}: {e}") from None
            client.meta.events.register("before-call", self._guard)
            client.meta.events.register("before-send", self._count)
            client.meta.events.register("after-call", self._record)
            self._clients[key] = client
        return self._clients[key]

    # -- safety ---------------------------------------------------------------------------------------------
    def _guard(self, model, params, **_kwargs):
        service = model.service_model.service_name
        op = model.name
        if is_read_operation(op) or (service, op) == ("sts", "GetCallerIdentity"):
            return None
        if (service, op) not in MUTATING_ALLOWLIST:
            self.refused.append(f"{service}.{op}")
            raise MutationRefused(f"{service}:{op} is not an allowed operation (fleettui only replaces hosts)")
        if self.read_only:
            self.refused.append(f"{service}.{op}")
            raise MutationRefused(f"read-only mode: refused {service}:{op} (start without --read-only to act)")
        return None

    def _count(self, event_name: str, **_kwargs):
        # event_name: "before-send.<service>.<Operation>"
        self.sent[event_name.split(".", 1)[1]] += 1
        return None

    def _record(self, model, parsed, **_kwargs):
        if not is_read_operation(model.name) and model.name != "GetCallerIdentity":
            rid = (parsed or {}).get("ResponseMetadata", {}).get("RequestId")
            self.mutations.append((f"{model.service_model.service_name}.{model.name}", rid))
        return None

    @property
    def request_count(self) -> int:
        return sum(self.sent.values())

    # -- calls ----------------------------------------------------------------------------------------------
    async def call(self, service: str, region: str, operation: str, **params) -> dict[str, Any]:
        """Call ``operation`` (snake_case botocore method name) and translate failures into one-line errors."""
        client = await self.client(service, region)
        try:
            return await getattr(client, operation)(**params)
        except Exception as e:  # noqa: BLE001 - translated below
            raise translate_error(e, service, region, operation, self.endpoint) from None

    async def paginate(self, service: str, region: str, operation: str, **params) -> AsyncIterator[dict[str, Any]]:
        client = await self.client(service, region)
        try:
            async for page in client.get_paginator(operation).paginate(**params):
                yield page
        except Exception as e:  # noqa: BLE001
            raise translate_error(e, service, region, operation, self.endpoint) from None

    async def wait(self, service: str, region: str, waiter: str, *, delay: float, timeout: float, **params) -> None:
        """botocore's waiter (its own polling and terminal-state rules), bounded by ``timeout`` seconds."""
        client = await self.client(service, region)
        attempts = max(1, int(timeout / delay))
        try:
            await client.get_waiter(waiter).wait(WaiterConfig={"Delay": delay, "MaxAttempts": attempts}, **params)
        except Exception as e:  # noqa: BLE001
            if e.__class__.__name__ == "WaiterError":
                raise AwsError(f"gave up waiting ({waiter} in {region} after {timeout:g}s): "
                               f"{getattr(e, 'last_response', {}).get('Error', {}).get('Message') or e}") from None
            raise translate_error(e, service, region, waiter, self.endpoint) from None

    async def caller_identity(self, region: str) -> dict[str, Any]:
        return await self.call("sts", region, "get_caller_identity")


def translate_error(e: Exception, service: str, region: str, operation: str, endpoint: str) -> Exception:
    """One line an operator can act on; keeps FleetErrors (e.g. MutationRefused) as they are."""
    if isinstance(e, FleetError):
        return e
    where = f"{service}:{operation} in {region}"
    if isinstance(e, NoCredentialsError):
        return AwsError("no AWS credentials found: set AWS_PROFILE / [aws].profile, or run `aws sso login`")
    if isinstance(e, (EndpointConnectionError, ConnectTimeoutError)):
        return AwsError(f"cannot reach {endpoint} for {where} (network down or unknown region?)")
    if isinstance(e, ReadTimeoutError):
        return AwsError(f"{where} timed out waiting for {endpoint}")
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = err.get("Code", "Error")
        msg = (err.get("Message") or "").strip().splitlines()[0] if err.get("Message") else ""
        rid = e.response.get("ResponseMetadata", {}).get("RequestId")
        text = f"{where} failed: {code}" + (f": {msg}" if msg else "") + (f" (request {rid})" if rid else "")
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure"):
            text = f"access denied for {where}" + (f": {msg}" if msg else "")
        elif code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            text = "AWS credentials have expired: refresh them (e.g. `aws sso login`)"
        return AwsError(text, code=code, request_id=rid)
    if isinstance(e, BotoCoreError):
        return AwsError(f"{where}: {e}")
    if isinstance(e, ResponseParserError):
        # not a BotoCoreError: e.g. an HTML error page from a proxy or load balancer instead of AWS's XML
        return AwsError(f"{where} failed: {endpoint} answered something that is not an AWS response "
                        f"({str(e).splitlines()[0][:120]})")
    if isinstance(e, OSError):
        return AwsError(f"cannot reach {endpoint} for {where}: {e.strerror or e}")
    return e
