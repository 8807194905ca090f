"""A fault-injecting HTTP proxy in front of the moto server, and helpers for the reliability tests.

``FaultProxy(upstream, seed=…, throttle=0.2, drop_after=0.05, …)`` is an aiohttp server on 127.0.0.1 (a free
port) running in its own thread with its own event loop, so sync tests and subprocesses can both use it: point
a config's ``[aws].endpoint_url`` at ``proxy.url``. Every request is identified as ``service.Action`` (the
service from the SigV4 credential scope, the Action from the query-protocol body) and counted; then, drawn from
``random.Random`` streams seeded per action (so the n-th call of an action always meets the same fate,
whatever the interleaving of concurrent calls), it is either forwarded untouched or:

- ``throttle``: AWS's throttling error: EC2's ``RequestLimitExceeded`` (HTTP 503, EC2 XML shape), else the
  query protocol's ``Throttling`` (HTTP 400, ``<ErrorResponse>``);
- ``error5xx``: HTTP 500 ``InternalError``;
- ``drop_before``: the connection is closed without a response, and the request never reaches AWS;
- ``drop_after``: the request is forwarded and executed, then the connection is closed: the response is lost;
- a delay (``delay_rate`` of the requests wait ``delay`` seconds before being forwarded);
- ``down = True``: every connection is dropped without a response; ``down_regions = {"eu-west-1"}``: the same for
  every request signed for one of those regions (a region that is down while the others answer);
- ``deny = True``: every request gets AWS's access-denied error (403, not retried).

``script(action, *fates)`` forces the fates of the next calls of one action (deterministic lost responses;
also ``"garbage"``: an HTML 502 page instead of AWS XML, ``"stale"``: the last answer AWS gave to the same request
(action and parameters) is replayed without forwarding (a read-back that lags), and ``"ok"``: untouched);
``rewrite(action, fn, times=n)`` passes answers of an action through ``fn(body) -> body`` until ``n`` were changed
(``fn`` returns None to leave one alone);
``log`` lists every request's ``service.Action`` in arrival order (with its fate, if any);
``hold(action, where="before"|"after", nth=…)`` parks a request before or after it reached AWS until released
(or until its client went away: a request held *before* is then never forwarded), so a test can SIGKILL a
subprocess while a precise request is in flight.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from aiohttp import ClientSession, ClientTimeout, web

FATES = ("throttle", "error5xx", "drop_before", "drop_after")
SCRIPTED = FATES + ("garbage", "html200", "stale", "ok")  # garbage: an HTML 502 page, as from a proxy in the way;
# html200: "200 OK" with an HTML page (a captive portal, a proxy that answers itself), the request never forwarded
READ_PREFIXES = ("Describe", "List", "Get", "Lookup")
JSON_SERVICES = {"dynamodb", "monitoring"}     # SigV4 services botocore speaks JSON to (CloudWatch: "monitoring")
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te",
        "trailer", "upgrade", "expect"}

EC2_ERROR = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
             '<Message>{message}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>')
QUERY_ERROR = ('<ErrorResponse xmlns="https://{service}.amazonaws.com/doc/"><Error><Type>{type}</Type>'
               '<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>')


def is_mutating(key: str) -> bool:
    """``service.Action`` -> does it change anything? (STS GetCallerIdentity is a read.)"""
    action = key.split(".", 1)[-1]
    return not action.startswith(READ_PREFIXES) and action != "GetCallerIdentity"


@dataclass
class Hold:
    """A request parked by the proxy; ``reached`` is set when it is parked (after forwarding for "after")."""

    key: str
    where: str
    nth: frozenset[int] | None
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    client_gone: bool = False

    def matches(self, key: str, n: int) -> bool:
        return _key_matches(self.key, key) and (self.nth is None or n in self.nth)

    def release(self) -> None:
        self.released.set()


def _key_matches(pattern: str, key: str) -> bool:
    return pattern == key or ("." not in pattern and key.endswith("." + pattern))


class FaultProxy:
    def __init__(self, upstream: str, *, seed: int = 0, throttle: float = 0.0, error5xx: float = 0.0,
                 drop_before: float = 0.0, drop_after: float = 0.0, delay: float = 0.0, delay_rate: float = 0.0,
                 host: str = "127.0.0.1"):
        self.upstream = upstream.rstrip("/")
        self.seed = seed
        self.rates = {"throttle": throttle, "error5xx": error5xx, "drop_before": drop_before,
                      "drop_after": drop_after}
        assert sum(self.rates.values()) < 1
        self.delay, self.delay_rate = delay, delay_rate
        self.host = host
        self.down = False
        self.down_regions: set[str] = set()
        self.log: list[tuple[str, str]] = []             # (service.Action, fate) in arrival order
        self._last: dict[tuple[str, bytes], tuple[int, bytes, list]] = {}   # the last upstream answer per request
        self._rewrites: list[list] = []                  # [action, fn, times left]
        self.deny = False           # answer everything with AWS's access-denied error (not retried)
        self.service_fates: dict[str, str] = {}   # SigV4 service ("monitoring") -> "deny" | "down", for it alone
        self.requests: Counter[str] = Counter()          # every request that arrived, by service.Action
        self.forwarded: Counter[str] = Counter()         # requests that reached the upstream (executed)
        self.injected: Counter[str] = Counter()          # fate -> count
        self.injected_by: Counter[tuple[str, str]] = Counter()   # (fate, service.Action) -> count
        self.delayed = 0
        self.access_keys: Counter[str] = Counter()       # access key ids requests were signed with
        self.session_tokens = 0                          # requests that carried X-Amz-Security-Token
        self._scripts: dict[str, list[str]] = {}
        self._holds: list[Hold] = []
        self._rngs: dict[str, random.Random] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = False
        self.port = 0

    # -- control (any thread) -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def script(self, action: str, *fates: str) -> None:
        """The next calls of ``action`` ("RunInstances" or "ec2.RunInstances") get these fates ("ok" = none)."""
        assert all(f in SCRIPTED for f in fates), fates
        with self._lock:
            self._scripts.setdefault(action, []).extend(fates)

    def clear_scripts(self) -> None:
        """Forget the fates scripted and not used yet: every call forwarded untouched again."""
        with self._lock:
            self._scripts.clear()

    def hold(self, action: str, *, where: str = "before", nth: int | set[int] | None = None) -> Hold:
        assert where in ("before", "after")
        nths = None if nth is None else frozenset({nth} if isinstance(nth, int) else nth)
        h = Hold(action, where, nths)
        with self._lock:
            self._holds.append(h)
        return h

    def rewrite(self, action: str, fn, times: int = 1) -> None:
        """Pass the next ``times`` upstream answers of ``action`` through ``fn(body: bytes) -> bytes``."""
        with self._lock:
            self._rewrites.append([action, fn, times])

    def release_all(self) -> None:
        with self._lock:
            holds, self._holds = self._holds, []
        for h in holds:
            h.release()

    def set_rates(self, **rates: float) -> None:
        with self._lock:
            self.rates.update(rates)

    def stats(self) -> dict:
        with self._lock:
            return {"requests": dict(self.requests), "forwarded": dict(self.forwarded),
                    "injected": dict(self.injected), "injected_by": dict(self.injected_by),
                    "delayed": self.delayed}

    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def mutating(self, counter: str = "requests") -> dict[str, int]:
        """Mutating requests that arrived (``requests``) or reached the upstream (``forwarded``)."""
        with self._lock:
            return {k: n for k, n in getattr(self, counter).items() if is_mutating(k)}

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> "FaultProxy":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        self._stopping = True
        self.release_all()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)
        self._loop = None

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._setup())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._teardown())
            loop.close()

    async def _setup(self) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=120), auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def _teardown(self) -> None:
        await self._runner.cleanup()
        await self._session.close()

    # -- the proxy ------------------------------------------------------------------------------------------
    def _fate(self, key: str) -> str:
        with self._lock:
            for pattern, fates in self._scripts.items():
                if _key_matches(pattern, key) and fates:
                    fate = fates.pop(0)
                    return "" if fate == "ok" else fate
            rng = self._rngs.setdefault(key, random.Random(f"{self.seed}/{key}"))
            r = rng.random()
            delay = rng.random() < self.delay_rate
            for fate in FATES:
                if r < self.rates[fate]:
                    return fate
                r -= self.rates[fate]
            return "delay" if delay else ""

    def _count(self, fate: str, key: str) -> None:
        with self._lock:
            self.injected[fate] += 1
            self.injected_by[(fate, key)] += 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        m = _SCOPE.search(request.headers.get("Authorization", ""))
        service = m.group(2) if m else (request.host.split(".")[0] or "unknown")
        params = parse_qs(body.decode("latin-1")) if body else {}
        action = (params.get("Action") or request.query.getall("Action", None) or ["(none)"])[0]
        if request.headers.get("X-Amz-Target"):          # JSON protocol (CloudWatch): Service.Action
            action = request.headers["X-Amz-Target"].rsplit(".", 1)[-1]
        elif "/operation/" in request.path:               # Smithy RPC v2 CBOR: /service/<S>/operation/<Action>
            action = request.path.rsplit("/operation/", 1)[1]
        key = f"{service}.{action}"
        with self._lock:
            if m:
                self.access_keys[request.headers["Authorization"].split("Credential=", 1)[1].split("/", 1)[0]] += 1
            self.session_tokens += "X-Amz-Security-Token" in request.headers
            self.requests[key] += 1
            n = self.requests[key]
            hold = next((h for h in self._holds if h.matches(key, n)), None)
        if self.down or (m and m.group(1) in self.down_regions) or self.service_fates.get(service) == "down":
            self._count("down", key)
            self._note(key, "down")
            return self._drop(request)
        if self.deny or self.service_fates.get(service) == "deny":
            self._count("deny", key)
            return self._denied(service, action)
        fate = self._fate(key)
        self._note(key, fate)
        if fate == "stale" and (key, body) in self._last:
            self._count(fate, key)
            status, payload, up_headers = self._last[(key, body)]
            return self._respond(status, payload, up_headers)
        if fate in ("throttle", "error5xx"):
            self._count(fate, key)
            return self._error(service, fate)
        if fate == "garbage":
            self._count(fate, key)
            return web.Response(status=502, content_type="text/html",
                                text="<!doctype html>\n<title>502 Bad Gateway</title>\n<h1>Bad Gateway</h1>\n")
        if fate == "html200":
            self._count(fate, key)
            return web.Response(status=200, content_type="text/html",
                                text="<!doctype html>\n<title>Welcome</title>\n<p>Sign in to continue</p>\n")
        if fate == "drop_before":
            self._count(fate, key)
            return self._drop(request)
        if fate == "delay":
            with self._lock:
                self.delayed += 1
            await asyncio.sleep(self.delay)
        if hold is not None and hold.where == "before" and not await self._park(hold, request):
            return self._drop(request)          # its client went away: the request never reaches AWS
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self._session.request(request.method, self.upstream + request.path_qs, headers=headers,
                                         data=body) as up:
            payload = await up.read()
            status = up.status
            up_headers = [(k, v) for k, v in up.headers.items() if k.lower() not in _HOP]
        with self._lock:
            self.forwarded[key] += 1
            self._last[(key, body)] = (status, payload, up_headers)
            rw = next((r for r in self._rewrites if _key_matches(r[0], key) and r[2] > 0), None)
        if rw is not None:
            changed = rw[1](payload)          # None: this answer is left alone and does not count
            if changed is not None:
                payload = changed
                with self._lock:
                    rw[2] -= 1
                    self.log.append((key, "rewritten"))
        if hold is not None and hold.where == "after":
            await self._park(hold, request)
        if fate == "drop_after" or self.down:
            self._count("drop_after", key)
            return self._drop(request)
        return self._respond(status, payload, up_headers)

    def _note(self, key: str, fate: str) -> None:
        with self._lock:
            self.log.append((key, fate))

    @staticmethod
    def _respond(status: int, payload: bytes, up_headers: list) -> web.Response:
        resp = web.Response(status=status, body=payload)
        for k, v in up_headers:
            resp.headers.add(k, v)
        return resp

    async def _park(self, hold: Hold, request: web.Request) -> bool:
        """Wait until released; False if the client disconnected meanwhile."""
        hold.reached.set()
        while not hold.released.is_set() and not self._stopping:
            if request.transport is None or request.transport.is_closing():
                hold.client_gone = True
                return False
            await asyncio.sleep(0.02)
        return True

    def _drop(self, request: web.Request) -> web.StreamResponse:
        """Close the connection without a response (what a network cut looks like to the client)."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=204)      # never written: the transport is gone

    @staticmethod
    def _denied(service: str, action: str) -> web.Response:
        rid = str(uuid.uuid4())
        if service == "ec2":
            return web.Response(status=403, content_type="text/xml", headers={"x-amzn-RequestId": rid},
                                text=EC2_ERROR.format(code="UnauthorizedOperation",
                                                      message="You are not authorized to perform this operation.",
                                                      rid=rid))
        message = (f"User: arn:aws:sts::123456789012:assumed-role/readonly/op is not authorized to perform: "
                   f"{service}:{action}")
        if service in JSON_SERVICES:     # JSON protocol: AWS's JSON error shape
            return web.Response(status=400, content_type="application/x-amz-json-1.0", headers={"x-amzn-RequestId": rid},
                                text=json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException",
                                                 "message": message}))
        return web.Response(status=403, content_type="text/xml", headers={"x-amzn-RequestId": rid},
                            text=QUERY_ERROR.format(service=service, type="Sender", code="AccessDenied", rid=rid,
                                                    message=message))

    @staticmethod
    def _error(service: str, fate: str) -> web.Response:
        rid = str(uuid.uuid4())
        if service in JSON_SERVICES:     # JSON protocol: AWS's JSON error shape (botocore retries both)
            kind = "ThrottlingException" if fate == "throttle" else "InternalServerError"
            return web.Response(status=400 if fate == "throttle" else 500, content_type="application/x-amz-json-1.0",
                                headers={"x-amzn-RequestId": rid},
                                text=f'{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"{fate}"}}')
        rid_header = {"x-amzn-RequestId": rid}          # AWS's answers carry it, errors too
        if fate == "throttle":
            if service == "ec2":
                return web.Response(status=503, content_type="text/xml", headers=rid_header, text=EC2_ERROR.format(
                    code="RequestLimitExceeded", message="Request limit exceeded.", rid=rid))
            return web.Response(status=400, content_type="text/xml", headers=rid_header, text=QUERY_ERROR.format(
                service=service, type="Sender", code="Throttling", message="Rate exceeded", rid=rid))
        if service == "ec2":
            return web.Response(status=500, content_type="text/xml", headers=rid_header, text=EC2_ERROR.format(
                code="InternalError", message="An internal error has occurred", rid=rid))
        return web.Response(status=500, content_type="text/xml", headers=rid_header, text=QUERY_ERROR.format(
            service=service, type="Receiver", code="InternalError", message="An internal error has occurred",
            rid=rid))


# ------------------------------------------------------------------------------------------------ helpers

def write_config(demo, endpoint_url: str, path: Path, *, profile: bool = True) -> Path:
    """The demo config with ``[aws].endpoint_url`` (and optionally without the profile) replaced."""
    text = demo.config_path.read_text(encoding="utf-8")
    text = text.replace(f'endpoint_url = "{demo.endpoint_url}"', f'endpoint_url = "{endpoint_url}"')
    assert endpoint_url in text
    if not profile:
        text = re.sub(r'(?m)^profile = .*\n', "", text)
    path.write_text(text, encoding="utf-8")
    return path


def bake_web_version(demo, version: str = "1.7.0") -> str:
    """An image and a default launch template version for it, as a CI pipeline would (straight on moto). The demo
    already has 1.7.0 baked (the template's default): then that image is returned and nothing changes."""
    ec2 = demo.client("ec2")
    baked = demo.fleet.images.get(("web", version, "us-east-1"))
    if baked:
        default = ec2.describe_launch_templates(LaunchTemplateNames=["web-lt"])["LaunchTemplates"][0]
        data = ec2.describe_launch_template_versions(LaunchTemplateName="web-lt", Versions=[
            str(default["DefaultVersionNumber"])])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
        assert data["ImageId"] == baked, f"web {version} is baked but not the launch template's default"
        return baked
    builder = ec2.run_instances(ImageId="ami-03cf127a", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ami = ec2.create_image(InstanceId=builder, Name=f"web-{version}", TagSpecifications=[
        {"ResourceType": "image", "Tags": [{"Key": "Version", "Value": version}]}])["ImageId"]
    ec2.terminate_instances(InstanceIds=[builder])
    lt = ec2.create_launch_template_version(LaunchTemplateName="web-lt", SourceVersion="$Latest",
                                            LaunchTemplateData={"ImageId": ami})
    ec2.modify_launch_template(LaunchTemplateName="web-lt",
                               DefaultVersion=str(lt["LaunchTemplateVersion"]["VersionNumber"]))
    return ami


# -- the emulated AWS, read directly (never through the proxy) --------------------------------------------

def listener_weights(demo, service: str = "web") -> dict[str, int]:
    arn = demo.fleet.listener_arns[service]
    elb = demo.client("elbv2", arn.split(":")[3])
    action = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
    return {g["TargetGroupArn"].split("/")[-2]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}


def full_rollout(demo, version: str = "1.6.0", service: str = "web") -> None:
    """Send all of ``service``'s default-action traffic to ``version`` (with boto3, as another tool would): the
    state in which a ramped rollback has real steps to take."""
    arn = demo.fleet.listener_arns[service]
    tgs = demo.fleet.target_groups[service]
    demo.client("elbv2", arn.split(":")[3]).modify_listener(ListenerArn=arn, DefaultActions=[
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": a, "Weight": 100 if v == version else 0} for v, a in tgs.items()]}}])


def target_group_names(demo, region: str = "us-east-1") -> set[str]:
    return {g["TargetGroupName"] for g in demo.client("elbv2", region).describe_target_groups()["TargetGroups"]}


def instances(demo, region: str = "us-east-1", states=("pending", "running"), **tags) -> list[dict]:
    ec2 = demo.client("ec2", region)
    filters = [{"Name": "instance-state-name", "Values": list(states)}]
    filters += [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
    out = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for r in page["Reservations"]:
            out.extend(r["Instances"])
    return out


def web_generations(demo) -> dict[str, int]:
    """Running/pending web hosts per image Version tag (an image without one counts under its id)."""
    ec2 = demo.client("ec2")
    hosts = instances(demo, Service="web")
    ids = sorted({i["ImageId"] for i in hosts})
    version = {}
    if ids:
        for img in ec2.describe_images(ImageIds=ids)["Images"]:
            tags = {t["Key"]: t["Value"] for t in img.get("Tags", ())}
            version[img["ImageId"]] = tags.get("Version", img["ImageId"])
    return dict(Counter(version.get(i["ImageId"], i["ImageId"]) for i in hosts))


def tg_members(demo, name: str, region: str = "us-east-1") -> set[str]:
    elb = demo.client("elbv2", region)
    tg = next(g for g in elb.describe_target_groups()["TargetGroups"] if g["TargetGroupName"] == name)
    return {d["Target"]["Id"] for d in elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
            ["TargetHealthDescriptions"] if d["TargetHealth"]["State"] != "unused"}


def journal_paths(home: Path) -> list[Path]:
    """Every journal under ``home``: real AWS's and one per endpoint (an emulator or proxy on loopback)."""
    return sorted((Path(home) / "state").rglob("journal.jsonl"))


def journal_events(home: Path) -> list[dict]:
    import json

    return [json.loads(line) for path in journal_paths(home)
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def assert_journal_complete(events: list[dict]) -> dict[str, dict]:
    """Every plan finished ``succeeded`` and each of its steps has step_started and step_succeeded.
    Returns plan id -> plan_created event."""
    plans = {e["plan_id"]: e for e in events if e["event"] == "plan_created"}
    assert plans, "the journal has no plan"
    for pid, created in plans.items():
        mine = [e for e in events if e["plan_id"] == pid]
        finished = [e["status"] for e in mine if e["event"] == "plan_finished"]
        assert finished and finished[-1] == "succeeded", (pid, finished)
        for st in created["plan"]["steps"]:
            kinds = {e["event"] for e in mine if e.get("step") == st["id"]}
            assert {"step_started", "step_succeeded"} <= kinds, (pid, st["id"], kinds)
    return plans


# -- the CLI as a subprocess ------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def spawn(args: list[str], tmp: Path, name: str, env: dict | None = None):
    """``python -m fleettui ARGS`` with stdout/stderr to files under ``tmp`` (read with :func:`outputs`)."""
    import subprocess

    out = open(tmp / f"{name}.out", "wb")
    err = open(tmp / f"{name}.err", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "fleettui", *args], stdout=out, stderr=err,
                            stdin=subprocess.DEVNULL, cwd=REPO, env={**os.environ, **(env or {})})
    proc.out_path, proc.err_path = out.name, err.name   # type: ignore[attr-defined]
    out.close()
    err.close()
    return proc


def outputs(proc) -> tuple[str, str]:
    return (Path(proc.out_path).read_text(encoding="utf-8", errors="replace"),
            Path(proc.err_path).read_text(encoding="utf-8", errors="replace"))


def wait_for(predicate, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# -- botocore's retry clock, compressed -------------------------------------------------------------------

class RetryClock:
    """Run botocore's retry timing ``factor`` times faster in this process: the backoff sleeps between attempts
    and the adaptive mode's token bucket (whose clock is sped up by the same factor, so its measured rates,
    cubic recovery and 0.5 req/s floor all scale together). What is retried, how often, and every decision of
    the adaptive limiter stay exactly as in production; only the waiting is shorter. ``slept`` adds up the
    uncompressed seconds botocore asked to wait."""

    def __init__(self, monkeypatch, factor: float = 10.0):
        import aiobotocore.endpoint as endpoint
        from aiobotocore.retries import bucket
        from botocore.retries.bucket import Clock

        self.factor = factor
        self.slept = 0.0
        self.backoffs = 0
        self.bucket_waits = 0
        sleep, wait = endpoint.AioEndpoint._sleep, bucket.AsyncTokenBucket._wait_for_new_fill_rate

        async def scaled_sleep(ep, amount):
            self.slept += amount
            self.backoffs += 1
            await sleep(ep, amount / factor)

        async def scaled_wait(tb, amount):
            self.slept += amount
            self.bucket_waits += 1
            await wait(tb, amount / factor)

        monkeypatch.setattr(Clock, "current_time", lambda _self: time.time() * factor)
        monkeypatch.setattr(endpoint.AioEndpoint, "_sleep", scaled_sleep)
        monkeypatch.setattr(bucket.AsyncTokenBucket, "_wait_for_new_fill_rate", scaled_wait)
