"""The one place that talks to AWS (aiobotocore).

Safety lives here, enforced on every client by a botocore ``before-call`` hook:
- read operations (Describe*/List*/Get*/Lookup*) are always allowed;
- mutating operations are allowed only if they are on :data:`MUTATING_ALLOWLIST`, and never in read-only
  mode; anything else is refused *before* a request is signed or sent.
Retries are botocore's (adaptive mode); there is no retry loop of our own. Each call is bounded in total (all its
attempts and backoff): :data:`READ_BUDGET` for reads, :data:`WRITE_BUDGET` for mutations, so a dead or hanging
endpoint is reported within those seconds rather than after 8 read timeouts.
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import os
import re
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

from fleettui.aws import permissions
from fleettui.config import AwsConfig
from fleettui.errors import AwsError, FleetError

READ_PREFIXES = ("Describe", "List", "Get", "Lookup")

# Timeouts (seconds). A read that has no answer after READ_BUDGET (every attempt and backoff included) fails with
# one line; a mutation gets longer (its steps are safe to repeat, so a cut-off one is simply resumed).
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10
MAX_ATTEMPTS = 8
READ_BUDGET = 20.0
WRITE_BUDGET = 60.0

# (botocore service name, operation). Nothing else that changes AWS can be called from this process; declared,
# with the reads, in fleettui.aws.permissions (the generated IAM policies build on the same declaration).
MUTATING_ALLOWLIST: frozenset[tuple[str, str]] = permissions.MUTATING


class NotAwsResponse(AwsError):
    """An answer without AWS's request id, or that does not parse as its service's protocol (a proxy's page, a
    captive portal, an impostor): an error, never taken for a success, never retried."""


REQUEST_ID_HEADERS = ("x-amzn-requestid", "x-amz-request-id")
PROTOCOL_BODIES = {"json": "json", "rest-json": "json", "query": "xml", "ec2": "xml", "rest-xml": "xml"}
_XML_ROOT = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?<([A-Za-z_][\w.:-]*)")


def not_aws(protocol: str, status: int, headers: Any, body: Any) -> str | None:
    """Why an HTTP answer is not one AWS gives for ``protocol``, or None. AWS's answers (successes and errors alike)
    carry its request id header; JSON protocols answer a JSON object, XML ones a document whose root is
    ``<…Response>`` (``<Response>`` for EC2's errors); CBOR bodies are left to botocore's parser. The content type is
    not judged (moto labels its access-denied XML text/html). An answer of 500 and above is left to botocore (an
    error either way: retried, then reported), so a real AWS outage page is not refused here."""
    if status >= 500:
        return None
    headers = {str(k).lower(): v for k, v in headers.items()}
    if not any(headers.get(h) for h in REQUEST_ID_HEADERS):
        ctype = str(headers.get("content-type") or "no content type").split(";")[0].strip().lower()
        return f"HTTP {status} {ctype} without AWS's request id"
    if not isinstance(body, (bytes, bytearray)):
        return None                       # a streamed body: checked by its parser
    kind = PROTOCOL_BODIES.get(protocol)
    if kind == "json" and (status < 300 or body.strip()):
        try:
            doc = json.loads(body or b"null")
        except (ValueError, RecursionError):
            doc = None
        if not isinstance(doc, dict):
            return f"HTTP {status}: the body is not a JSON object"
    elif kind == "xml" and (status < 300 or body.strip()):
        m = _XML_ROOT.match(bytes(body[:4096]))
        if m is None or not m.group(1).rsplit(b":", 1)[-1].endswith(b"Response"):
            return f"HTTP {status}: the body is not an AWS XML response"
    return None


def check_response(operation_model, response_dict, url: str, region: str, **_kwargs):
    """botocore ``before-parse`` hook, on every attempt of every call (see :func:`not_aws`)."""
    service = operation_model.service_model
    why = not_aws(service.resolved_protocol, int(response_dict.get("status_code") or 0),
                  response_dict.get("headers") or {}, response_dict.get("body"))
    if why:
        raise NotAwsResponse(f"{service.service_name}:{operation_model.name} in {region}: not an AWS response from "
                             f"{url} ({why})", code="NotAwsResponse")


class MutationRefused(FleetError):
    """A mutating call was stopped before it left the process."""

    exit_code = 2


def is_read_operation(operation: str) -> bool:
    """``operation`` as AWS names it (DescribeInstances) or as botocore's method (describe_instances)."""
    return operation.startswith(READ_PREFIXES) or operation.startswith(
        tuple(p.lower() + "_" for p in READ_PREFIXES)) or operation == "get_caller_identity"


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


_LOADER = None


def _shared_loader():
    """One botocore data loader per process, shared by every Gateway's session: it caches the service models and
    endpoint data it has parsed, so the Nth gateway (a lock's, the team flush's, the TUI's second) builds its
    clients without reading botocore's JSON again (most of a client's construction time)."""
    global _LOADER
    if _LOADER is None:
        from botocore.loaders import create_loader

        _LOADER = create_loader()
    return _LOADER


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

    def __init__(self, aws: AwsConfig, *, read_only: bool = False, max_attempts: int = MAX_ATTEMPTS,
                 connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT,
                 read_budget: float | None = None, write_budget: float | None = None,
                 allow: frozenset[tuple[str, str]] = frozenset()):
        self.aws = aws
        self.allowed = MUTATING_ALLOWLIST | allow    # allow: e.g. permissions.TEAM_INIT for `fleettui team init`
        self.read_only = read_only
        # default: the module's budgets as they are now (a test that needs a dead endpoint to be quick lowers them)
        self.read_budget = READ_BUDGET if read_budget is None else read_budget
        self.write_budget = WRITE_BUDGET if write_budget is None else write_budget
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
        self._session.register_component("data_loader", _shared_loader())
        self._session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=_parse_timestamp)
        self._config = AioConfig(
            # total_max_attempts: every attempt, the first included (botocore's "max_attempts" counts the retries
            # only: max_attempts=1 sent a lock write twice)
            retries={"mode": "adaptive", "total_max_attempts": max_attempts},
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
            client.meta.events.register("before-parameter-build", self._limit)
            client.meta.events.register("before-send", self._count)
            client.meta.events.register("after-call", self._record)
            client.meta.events.register("before-parse", functools.partial(
                check_response, url=client.meta.endpoint_url, region=region))
            self._clients[key] = client
        return self._clients[key]

    # -- safety ---------------------------------------------------------------------------------------------
    def _guard(self, model, params, **_kwargs):
        service = model.service_model.service_name
        op = model.name
        if is_read_operation(op) or (service, op) in permissions.ALL_READS:
            return None
        if (service, op) not in self.allowed:
            self.refused.append(f"{service}.{op}")
            raise MutationRefused(f"{service}:{op} is not an allowed operation (fleettui only replaces hosts)")
        if self.read_only:
            self.refused.append(f"{service}.{op}")
            raise MutationRefused(f"read-only mode: refused {service}:{op} (start without --read-only to act)")
        return None

    def _limit(self, model, params, **_kwargs):
        """A mutation allowed with some parameters only (permissions.ONLY_PARAMS): refuse any other, before the
        request is built."""
        service, op = model.service_model.service_name, model.name
        only = permissions.ONLY_PARAMS.get((service, op))
        if only is not None and set(params) - only:
            self.refused.append(f"{service}.{op}")
            raise MutationRefused(f"{service}:{op} may change only {', '.join(sorted(only - {'AutoScalingGroupName'}))}"
                                  f" (refused: {', '.join(sorted(set(params) - only))})")
        return None

    def _count(self, event_name: str, **_kwargs):
        # event_name: "before-send.<service>.<Operation>"
        self.sent[event_name.split(".", 1)[1]] += 1
        return None

    def _record(self, model, parsed, **_kwargs):
        if not is_read_operation(model.name) and (model.service_model.service_name, model.name) not in permissions.ALL_READS:
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
        return await self._bounded(getattr(client, operation)(**params), service, region, operation)

    async def paginate(self, service: str, region: str, operation: str, **params) -> AsyncIterator[dict[str, Any]]:
        """Each page bounded like a call."""
        client = await self.client(service, region)
        pages = client.get_paginator(operation).paginate(**params).__aiter__()
        while True:
            try:
                page = await self._bounded(pages.__anext__(), service, region, operation)
            except StopAsyncIteration:
                return
            yield page

    async def _bounded(self, awaitable, service: str, region: str, operation: str):
        budget = self.read_budget if is_read_operation(operation) or operation == "query" else self.write_budget
        try:
            async with asyncio.timeout(budget) as cm:
                return await awaitable
        except StopAsyncIteration:
            raise
        except Exception as e:  # noqa: BLE001 - translated below
            if isinstance(e, TimeoutError) and cm.expired():
                raise AwsError(f"cannot reach {self.endpoint} for {service}:{operation} in {region}: no answer from "
                               f"{self.endpoint} within {budget:g}s (every attempt included)") from None
            raise translate_error(e, service, region, operation, self.endpoint) from None

    async def wait(self, service: str, region: str, waiter: str, *, delay: float, timeout: float, **params) -> None:
        """botocore's waiter (its own polling and terminal-state rules), bounded by ``timeout`` seconds. Says "gave
        up after N s" only when the time ran out; a terminal state (e.g. the host was terminated) is said as such."""
        client = await self.client(service, region)
        attempts = max(1, int(timeout / delay))
        try:
            await client.get_waiter(waiter).wait(WaiterConfig={"Delay": delay, "MaxAttempts": attempts}, **params)
        except Exception as e:  # noqa: BLE001
            if e.__class__.__name__ == "WaiterError":
                reason = str(getattr(e, "kwargs", {}).get("reason") or "")
                last = (getattr(e, "last_response", None) or {}).get("Error", {}).get("Message") or reason or str(e)
                if "Max attempts exceeded" in reason:
                    raise AwsError(f"gave up after {timeout:g}s waiting ({waiter} in {region}): {last}") from None
                raise AwsError(f"stopped waiting ({waiter} in {region}): {last}") from None
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
        msg = ((err.get("Message") or "").strip().splitlines() or [""])[0]   # a blank message: none (not IndexError)
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
