#!/usr/bin/env python3
"""fleettui at fleet scale, side by side with the AWS CLI (issue 6). Not part of the test run.

    .venv/bin/python benchmarks/bench.py                  # full sizes (~5 min on 2 cores)
    .venv/bin/python benchmarks/bench.py --quick          # small sizes, under a minute
    .venv/bin/python benchmarks/bench.py --only P1,P2     # some figures: P1 P2 P3 P4 BUILD COLD

Prints one line per figure with its target and exits 1 when a target is missed.

P1     full refresh (fetch_snapshot through the Gateway, in a warm worker process like the TUI's) vs
       `aws ec2 describe-instances --endpoint-url … --region R > R.json`, one call per region in sequence,
       against the same emulated AWS; median of --runs, interleaved (order alternating), after one warm-up each.
P2     HTTP requests per refresh, exact (Gateway.sent counts every request that leaves the process, retries too),
       against ceil(hosts/1000) per region + the config's constant (launch templates, images, STS).
P3     filter keystroke -> repainted table in the Textual app (Pilot), median over keystrokes, 10,000 hosts in the
       shown service vs 100.
P4     peak RSS (ru_maxrss) of a process running the app with 10,000 hosts mounted, and the same with their
       golden signals loaded (fetch_signals over a synthetic CloudWatch that answers every query with a full
       window: 10,000 per-host CPU queries, 20 GetMetricData calls), side by side.
BUILD  build_snapshot (grouping, roles, drift and age rules) for 10,000 hosts of synthetic AWS responses.
COLD   `fleettui --demo` cold start: process start -> the first snapshot painted (embedded AWS started and seeded).

The emulated AWS of P1/P2 models AWS's independent regional endpoints: one moto server process per region
(EmbeddedAws, which makes moto's per-resource tag and instance lookups O(1): stock moto 5.2 scans every tag of the
region for each host it filters or renders, quadratic in the fleet size), all behind one routing proxy on 127.0.0.1
that sends each request to the backend of the region in its SigV4 credential scope. Both sides use the proxy's one
endpoint URL; each region's hosts are seeded by seed_scale_fleet through the proxy (from that region's backend
process, which backdates launch times in its own moto). P1 prints each side's emulator and client CPU.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
FIGURES = ("P1", "P2", "P3", "P4", "BUILD", "COLD")
AWSCLI_VENV = HERE / ".venv-awscli"

TARGET_P1 = 0.5          # fleettui refresh / aws-cli
TARGET_P3 = 3.0          # keystroke latency at 10,000 / at 100
TARGET_P4_MB = 250.0     # peak RSS with 10,000 hosts


@dataclass(frozen=True)
class Sizes:
    p1_hosts: int
    services: int
    runs: int
    ui_hosts: int
    ui_small: int
    build_hosts: int
    cold_runs: int


FULL = Sizes(p1_hosts=5000, services=5, runs=5, ui_hosts=10_000, ui_small=100, build_hosts=10_000, cold_runs=3)
QUICK = Sizes(p1_hosts=300, services=3, runs=1, ui_hosts=1000, ui_small=100, build_hosts=1000, cold_runs=1)


@dataclass
class Figure:
    key: str
    line: str
    ok: bool | None              # None: no target
    details: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("OK" if ok else "MISSED")


def out(text: str = "") -> None:
    print(text, flush=True)


# =============================================================================================== emulator

@dataclass
class Seeded:
    server: object
    fleet: object
    config_path: Path
    seconds: float


def seed(n: int, services: int, workdir: Path, server=None) -> Seeded:
    """Seed the scale fleet into ``server`` (default: a new EmbeddedAws), a single emulator in this process (the
    smoke tests'; P1/P2 use :class:`RegionalAws`), and write its config into ``workdir``."""
    from benchmarks.fleet import scale_config_text, seed_scale_fleet
    from fleettui.emulator.server import EmbeddedAws

    server = server or EmbeddedAws()
    t = time.perf_counter()
    fleet = seed_scale_fleet(server.endpoint_url, n, REGIONS, services)
    seconds = time.perf_counter() - t
    path = workdir / "bench.toml"
    path.write_text(scale_config_text(fleet, server.endpoint_url), encoding="utf-8")
    return Seeded(server, fleet, path, seconds)


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a running process has used so far, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        data = fh.read()
    fields = data[data.rindex(b")") + 2:].split()        # fields[0] is field 3 (state): utime 14, stime 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_busy_cpu() -> float:
    """CPU seconds all processes of the machine have used so far, all cores (from /proc/stat: user, nice, system,
    irq, softirq, steal; not idle or iowait)."""
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def reply(obj: dict) -> None:
    """A worker's answer to its parent: one JSON line on stdout."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _managed_worker() -> None:
    """Set up a long-lived worker process: Ctrl-C is the parent's to handle (it quits or terminates its workers), and
    the worker dies with its parent even if that is SIGKILLed (Linux PDEATHSIG; elsewhere: EOF on stdin)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() == 1:                     # the parent died before the line above
        sys.exit(1)


class Child:
    """A worker process of this script (``--_worker KIND ARGS``), driven by one line per command on its stdin; it
    answers each with one JSON line on stdout. It exits on ``quit`` or when its stdin closes; ``close`` kills it
    if it does not exit in time. Start it from the main thread (PDEATHSIG follows the thread that forked)."""

    def __init__(self, kind: str, *args, env: dict | None = None, what: str | None = None):
        self.what = what or f"{kind} worker"
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__)), "--_worker", kind, *map(str, args)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.pending = 1                     # answers not read yet (the first: its start-up line)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        self.pending += 1

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.what} died (see its stderr above)")
        self.pending -= 1
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.what}: {answer['error']}")
        return answer

    def ask(self, line: str) -> dict:
        self.send(line)
        return self.read()

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def quit(self) -> None:
        """Ask an idle worker to exit; terminate one still busy with a command (an interrupted benchmark)."""
        if self.proc.poll() is None:
            if self.pending > 0:
                self.proc.terminate()
                return
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):
                pass

    def reap(self, deadline: float) -> None:
        """Wait for the worker to exit until ``deadline`` (time.monotonic()), then kill it."""
        try:
            self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            for pipe in (self.proc.stdin, self.proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass

    def close(self, timeout: float = 15.0) -> None:
        self.quit()
        self.reap(time.monotonic() + timeout)


# ------------------------------------------------------------------- one moto process per region + routing proxy

_CREDENTIAL = re.compile(r"Credential=[^/,\s]*/\d{8}/([A-Za-z0-9-]+)/[A-Za-z0-9-]+/aws4_request")
DEFAULT_REGION = "us-east-1"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "transfer-encoding", "upgrade"})


def signed_region(authorization: str | None, query_credential: str | None = None) -> str | None:
    """The region of a SigV4 request's credential scope (``Credential=AKID/DATE/REGION/SERVICE/aws4_request``) in
    its Authorization header, else in a presigned URL's X-Amz-Credential; None if unsigned."""
    for text in (authorization, f"Credential={query_credential}" if query_credential else None):
        m = _CREDENTIAL.search(text) if text else None
        if m:
            return m.group(1)
    return None


def route(routes: dict[str, str], authorization: str | None, query_credential: str | None = None) -> str:
    """The region whose backend serves a request: its signing region, else (unsigned, or a region without a
    backend) us-east-1's."""
    region = signed_region(authorization, query_credential)
    return region if region in routes else DEFAULT_REGION


def _action(headers, query, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    m = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body[:4096])
    if m:
        return m.group(1).decode()
    return query.get("Action") or ""


async def _proxy_main(routes: dict[str, str]) -> None:
    """The routing proxy: forwards every request unchanged (method, raw path and query, headers but hop-by-hop ones,
    body) to the backend of its signing region and streams the response back unchanged. Logs per request: the
    backend's region, the action and (monotonic clock, comparable across processes) when the request arrived,
    when the backend's response headers came (moto renders the whole body first) and when the last byte went out;
    ``log`` on stdin returns the log and clears it."""
    from aiohttp import ClientError, ClientSession, ClientTimeout, DummyCookieJar, TCPConnector, web
    from multidict import CIMultiDict
    from yarl import URL

    if DEFAULT_REGION not in routes:
        raise SystemExit(f"no {DEFAULT_REGION} backend")
    log: list[dict] = []
    session = ClientSession(connector=TCPConnector(limit=0), cookie_jar=DummyCookieJar(), auto_decompress=False,
                            timeout=ClientTimeout(total=None),
                            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"))

    async def forward(request: web.Request) -> web.StreamResponse:
        t0 = time.monotonic()
        region = route(routes, request.headers.get("Authorization"), request.query.get("X-Amz-Credential"))
        body = await request.read()
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        entry = {"region": region, "action": _action(request.headers, request.query, body), "t0": t0,
                 "t_headers": None, "t1": None, "bytes": 0, "status": None}
        resp = None
        try:
            async with session.request(request.method, URL(routes[region] + request.raw_path, encoded=True),
                                       headers=headers, data=body or None, allow_redirects=False) as up:
                entry["t_headers"], entry["status"] = time.monotonic(), up.status
                resp = web.StreamResponse(status=up.status, reason=up.reason)
                for k, v in up.headers.items():
                    if k.lower() not in HOP_BY_HOP:
                        resp.headers.add(k, v)
                await resp.prepare(request)
                async for chunk in up.content.iter_chunked(1 << 16):
                    entry["bytes"] += len(chunk)
                    await resp.write(chunk)
                await resp.write_eof()
        except (ConnectionResetError, ClientError) as e:
            if resp is not None:
                if isinstance(e, ConnectionResetError):     # the client went away (an interrupted benchmark)
                    entry["status"] = "client gone"
                    return resp
                raise                   # the backend failed mid-response: cut the connection, as a real LB does
            entry["status"] = 502
            return web.Response(status=502, text=f"bench proxy: backend {region} unreachable: {e}\n")
        finally:
            entry["t1"] = time.monotonic()
            log.append(entry)
        return resp

    app = web.Application(client_max_size=1 << 30)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        reply({"url": f"http://{host}:{port}"})
        loop = asyncio.get_running_loop()
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "log":
            reply({"requests": log[:]})
            log.clear()
    finally:
        await runner.cleanup()
        await session.close()


def worker_proxy(routes_json: str) -> None:
    _managed_worker()
    asyncio.run(_proxy_main(json.loads(routes_json)))


def worker_server(region: str) -> None:
    """One region's emulator: an EmbeddedAws in this process. Prints its URL; ``seed URL N SERVICES NOW`` seeds
    this region's share of the scale fleet through URL (the routing proxy), backdating in this process's moto."""
    _managed_worker()
    from fleettui.emulator.server import EmbeddedAws

    aws = EmbeddedAws()
    try:
        reply({"url": aws.endpoint_url, "region": region})
        for line in sys.stdin:
            cmd, *args = line.split()
            if cmd != "seed":
                break
            try:
                from benchmarks.fleet import seed_scale_fleet

                url, n, services, now = args
                t = time.perf_counter()
                fleet = seed_scale_fleet(url, int(n), (region,), int(services), now=datetime.fromisoformat(now))
                reply({"counts": [[s, v, k] for (s, v), k in fleet.counts.items()],
                       "seconds": time.perf_counter() - t})
            except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it
                reply({"error": f"seeding {region}: {type(e).__name__}: {e}"})
    finally:
        aws.stop()


class RegionalAws:
    """The emulated AWS of P1/P2, shaped like AWS's independent regional endpoints: one moto server process per
    region and a routing proxy process in front of them, on 127.0.0.1. ``endpoint_url`` is the proxy's: a request
    goes to the backend of the region in its SigV4 credential scope (unsigned: us-east-1's). Every process is a
    child of this one, stopped by ``stop()`` (killed if it hangs) and dying with this process in any case."""

    def __init__(self, regions: tuple[str, ...] = REGIONS, env: dict | None = None):
        self.regions = tuple(regions)
        self.backends: dict[str, Child] = {}
        self.proxy: Child | None = None
        try:
            for region in self.regions:          # start all, then wait: their imports and start-ups overlap
                self.backends[region] = Child("server", region, env=env, what=f"emulator of {region}")
            self.urls = {region: child.read()["url"] for region, child in self.backends.items()}
            self.proxy = Child("proxy", json.dumps(self.urls), env=env, what="routing proxy")
            self.endpoint_url = self.proxy.read()["url"]
        except BaseException:
            self.stop()
            raise

    def seed(self, n: int, services: int, workdir: Path) -> Seeded:
        """seed_scale_fleet's fleet of ``n`` hosts, each region's share seeded through the proxy by its own backend
        process (the regions concurrently), exactly the split one seed_scale_fleet over all regions makes; the
        config (endpoint: the proxy) is written into ``workdir``."""
        from benchmarks.fleet import ScaleFleet, scale_config_text

        parts = len(self.regions) * services
        shares = [n // parts + (1 if k < n % parts else 0) for k in range(parts)]
        now = datetime.now(timezone.utc).isoformat()
        t = time.perf_counter()
        for r, region in enumerate(self.regions):
            self.backends[region].send(f"seed {self.endpoint_url} {sum(shares[r * services:(r + 1) * services])} "
                                       f"{services} {now}")
        counts: Counter = Counter()
        for region in self.regions:
            for s, v, k in self.backends[region].read()["counts"]:
                counts[(s, v)] += k
        seconds = time.perf_counter() - t
        names = [f"svc{k}" for k in range(services)]
        fleet = ScaleFleet(regions=self.regions, services={s: self.regions for s in names}, counts=dict(counts))
        if fleet.total != n:
            raise RuntimeError(f"seeded {fleet.total} hosts, wanted {n}")
        path = workdir / "bench.toml"
        path.write_text(scale_config_text(fleet, self.endpoint_url), encoding="utf-8")
        return Seeded(self, fleet, path, seconds)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each region's backend process, and by the proxy (key "proxy")."""
        res = {region: child.cpu() for region, child in self.backends.items()}
        res["proxy"] = self.proxy.cpu()
        return res

    def log(self) -> list[dict]:
        """The proxy's request log since the last call (and clear it)."""
        return self.proxy.ask("log")["requests"]

    def reset(self) -> None:
        """Empty every backend (moto's reset API, sent to each backend directly)."""
        import urllib.request

        for url in self.urls.values():
            urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST"),
                                   timeout=10).close()

    def processes(self) -> list[subprocess.Popen]:
        return [c.proc for c in (self.proxy, *self.backends.values()) if c is not None]

    def stop(self, timeout: float = 10.0) -> None:
        """Quit every process (all at once), killing those still running after ``timeout`` seconds."""
        children = [c for c in (self.proxy, *self.backends.values()) if c is not None]
        for child in children:
            child.quit()
        deadline = time.monotonic() + timeout
        for child in children:
            child.reap(deadline)

    def __enter__(self) -> "RegionalAws":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# =============================================================================================== AWS CLI

def aws_cli() -> list[str]:
    """`aws` on PATH, else awscli installed once into benchmarks/.venv-awscli (its own botocore pin)."""
    explicit = os.environ.get("FLEETTUI_BENCH_AWS")
    if explicit:
        return [explicit]
    found = shutil.which("aws")
    if found:
        return [found]
    exe = AWSCLI_VENV / "bin" / "aws"
    if not exe.exists():
        out(f"  (no `aws` on PATH: installing awscli into {AWSCLI_VENV.relative_to(ROOT)} once)")
        subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_VENV)], check=True)
        subprocess.run([str(AWSCLI_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "awscli"], check=True)
    return [str(exe)]


def clean_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLEETTUI_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGIONS[0],
               AWS_CONFIG_FILE=str(workdir / "no-aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-aws-credentials"),
               AWS_PAGER="", FLEETTUI_HOME=str(workdir / "home"), PYTHONDONTWRITEBYTECODE="1")
    return env


def run_cli(cli: list[str], endpoint: str, env: dict, outdir: Path) -> tuple[float, float]:
    """The operator's script: one describe-instances per region, in sequence, each to a file.
    Returns (wall seconds, CLI processes' CPU seconds)."""
    before = os.times()
    t = time.perf_counter()
    for region in REGIONS:
        with open(outdir / f"{region}.json", "wb") as fh:
            subprocess.run([*cli, "ec2", "describe-instances", "--endpoint-url", endpoint, "--region", region,
                            "--output", "json"], stdout=fh, env=env, check=True)
    wall = time.perf_counter() - t
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def cli_live_hosts(outdir: Path) -> int:
    live = 0
    for region in REGIONS:
        doc = json.loads((outdir / f"{region}.json").read_bytes())
        for res in doc.get("Reservations", ()):
            live += sum(1 for i in res["Instances"] if i["State"]["Name"] not in ("terminated", "shutting-down"))
    return live


# =============================================================================================== refresh worker

class RefreshWorker(Child):
    """A warm process that refreshes like the TUI: one Gateway for its lifetime, fetch_snapshot per "go"."""

    def __init__(self, config_path: Path, env: dict):
        super().__init__("refresh", config_path, env=env, what="refresh worker")

    def refresh(self) -> dict:
        return self.ask("go")


async def refresh_once(gw, config, background) -> dict:
    """One full refresh on ``gw``, run like the TUI's: on ``background`` (the refresh's own thread and loop), awaited
    from this loop. Wall and CPU seconds, the requests it sent, hosts per region, images per region."""
    from fleettui.aws.inventory import fetch_snapshot

    before = Counter(gw.sent)
    stalls: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        # how long this loop (the TUI's, in the app) is blocked at a time while the refresh thread parses
        while not done.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            stalls.append(time.perf_counter() - t0 - 0.005)

    cpu_samples: list[tuple[float, float]] = []

    def sample_cpu() -> None:
        # (monotonic, process CPU) every 20 ms, from a thread: where the client's CPU goes over the refresh
        while not done.is_set():
            cpu_samples.append((time.monotonic(), time.process_time()))
            time.sleep(0.02)

    import threading

    sampler = threading.Thread(target=sample_cpu, daemon=True)
    sampler.start()
    prober = asyncio.create_task(probe())
    t_start = time.monotonic()          # the proxy's clock (system-wide): places its request log on this refresh
    cpu, t = time.process_time(), time.perf_counter()
    try:
        snap = await asyncio.wrap_future(background.submit(fetch_snapshot(gw, config)))
    finally:
        done.set()
        await prober
        sampler.join()
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    t_end = time.monotonic()
    sent = Counter(gw.sent)
    sent.subtract(before)
    per_region = Counter(i.region for s in snap.services for i in s.instances)
    images: dict[str, set[str]] = defaultdict(set)
    for s in snap.services:
        for i in s.instances:
            images[i.region].add(i.image_id)
    # the signals' own poll (not timed with the refresh: it runs on its own cadence in the TUI)
    from fleettui.aws.signals import fetch_signals, plan_queries

    before_signals = Counter(gw.sent)
    signals = await asyncio.wrap_future(background.submit(fetch_signals(gw, snap, config)))
    signals_sent = Counter(gw.sent)
    signals_sent.subtract(before_signals)
    return {"wall": wall, "cpu": cpu, "hosts": snap.instance_count, "sent": {k: v for k, v in sent.items() if v},
            "signals_sent": {k: v for k, v in signals_sent.items() if v}, "signals_error": signals.error,
            "signal_queries": {r: len(q) for r, q in plan_queries(snap, config).items()},
            "per_region": dict(per_region), "images": {r: len(v) for r, v in images.items()},
            "findings": sum(len(i.findings) for s in snap.services for i in s.instances),
            "max_stall": max(stalls, default=0.0), "t_start": t_start, "t_end": t_end,
            "cpu_samples": cpu_samples + [(t_end, time.process_time())]}


def worker_refresh(config_path: str) -> None:
    from fleettui.aws.background import BackgroundLoop
    from fleettui.aws.gateway import Gateway
    from fleettui.config import load_config

    _managed_worker()
    config = load_config(config_path)
    background = BackgroundLoop()          # as in the TUI: the refresh's gateway lives on its own thread and loop
    try:
        gw = background.enter(lambda: Gateway(config.aws, read_only=True)).result()

        async def main() -> None:
            loop = asyncio.get_running_loop()
            while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "go":
                print(json.dumps(await refresh_once(gw, config, background)), flush=True)

        asyncio.run(main())
    finally:
        background.close()


# =============================================================================================== P1 / P2

def request_bound(config, per_region: dict[str, int], images: dict[str, int]) -> tuple[int, int, int]:
    """(DescribeInstances bound, constant, total bound) for one refresh of ``config``.

    DescribeInstances: ceil(hosts/1000) per region (pages of 1000). The constant does not grow with the fleet:
    one GetCallerIdentity, DescribeLaunchTemplateVersions per service and region, DescribeImages per region and
    100 images, DescribeAutoScalingGroups per region with ASG hosts (none here), and per load balancer
    DescribeListeners, DescribeRules per listener, DescribeTags + DescribeTargetHealth per target group (none
    here)."""
    di = sum(math.ceil(n / 1000) for n in per_region.values())
    const = 1
    const += sum(len(s.regions) for s in config.services if s.launch_template)
    const += sum(math.ceil(n / 100) for n in images.values())
    return di, const, di + const


def _cpu_at(samples: list, t: float) -> float:
    """The client's process CPU at monotonic time ``t``, interpolated between the refresh's CPU samples."""
    prev = samples[0]
    for cur in samples:
        if cur[0] >= t:
            if cur[0] == prev[0]:
                return cur[1]
            return prev[1] + (cur[1] - prev[1]) * (t - prev[0]) / (cur[0] - prev[0])
        prev = cur
    return samples[-1][1]


def _timeline(run: dict, log: list[dict]) -> dict:
    """Where one fleettui refresh's wall time went, from the proxy's request log and the client's CPU samples:
    waiting until the backends had rendered every region's DescribeInstances, then the rest."""
    t0 = run["t_start"]
    di = [e for e in log if e["action"] == "DescribeInstances"]
    rendered: dict[str, float] = {}
    for e in di:
        rendered[e["region"]] = max(rendered.get(e["region"], 0.0), e["t_headers"] - t0)
    wait = max(rendered.values(), default=0.0)
    samples = run["cpu_samples"]
    cpu_then = _cpu_at(samples, t0 + wait)
    return {"sent": max((e["t0"] - t0 for e in di), default=0.0), "rendered": rendered, "wait": wait,
            "wall": run["t_end"] - t0, "cpu_wait": cpu_then - samples[0][1], "cpu_after": samples[-1][1] - cpu_then,
            "mb": sum(e["bytes"] for e in di) / 1e6}


def bench_p1_p2(sizes: Sizes, workdir: Path, want: set[str]) -> list[Figure]:
    from fleettui.config import load_config

    n = sizes.p1_hosts
    env = clean_env(workdir)
    figures: list[Figure] = []
    aws = RegionalAws(REGIONS, env)
    worker = None
    try:
        out(f"emulated AWS: {len(REGIONS)} moto processes (one per region) behind the routing proxy "
            f"{aws.endpoint_url}")
        out(f"seeding {n} hosts / {len(REGIONS)} regions / {sizes.services} services (regions concurrently) …")
        seeded = aws.seed(n, sizes.services, workdir)
        out(f"  seeded in {seeded.seconds:.1f}s ({seeded.seconds / n * 1000:.1f} ms/host)")
        worker = RefreshWorker(seeded.config_path, env)
        first = worker.refresh()            # warm-up: clients, models, connections (like the TUI's first refresh)
        if "P1" in want:
            cli = aws_cli()
            version = subprocess.run([*cli, "--version"], capture_output=True, text=True, env=env)
            out(f"  aws-cli: {(version.stdout or version.stderr).strip()}")
            outdir = workdir / "cli"
            outdir.mkdir(exist_ok=True)
            run_cli(cli, aws.endpoint_url, env, outdir)        # warm-up
            aws.log()
            runs: dict[str, list[dict]] = {"ft": [], "cli": []}
            for k in range(sizes.runs):
                for side in (("cli", "ft") if k % 2 == 0 else ("ft", "cli")):
                    c0, w0, self0, busy0 = aws.cpu(), worker.cpu(), os.times(), system_busy_cpu()
                    if side == "cli":
                        wall, cpu = run_cli(cli, aws.endpoint_url, env, outdir)
                        rec = {"wall": wall, "cpu": cpu}
                    else:
                        r = worker.refresh()
                        rec = {"wall": r["wall"], "cpu": r["cpu"], "stall": r["max_stall"], "hosts": r["hosts"]}
                    c1, w1, self1, busy1 = aws.cpu(), worker.cpu(), os.times(), system_busy_cpu()
                    log = aws.log()
                    rec["emu"] = {region: c1[region] - c0[region] for region in REGIONS}
                    rec["proxy"] = c1["proxy"] - c0["proxy"]
                    rec["requests"] = len(log)
                    # CPU the rest of the machine used meanwhile: everything but the emulator, the proxy, this
                    # process, the refresh worker and the CLI processes (only the side being measured runs)
                    ours = (sum(c1.values()) - sum(c0.values()) + w1 - w0 + (self1.user + self1.system)
                            - (self0.user + self0.system) + (rec["cpu"] if side == "cli" else 0.0))
                    rec["others"] = max(0.0, busy1 - busy0 - ours)
                    if side == "cli":
                        rec["live"] = cli_live_hosts(outdir)
                    if side == "ft":
                        rec["timeline"] = _timeline(r, log)
                    else:
                        di = [e for e in log if e["action"] == "DescribeInstances"]
                        rec["in_aws"] = sum(e["t1"] - e["t0"] for e in di)
                    runs[side].append(rec)
            ft, cl = [r["wall"] for r in runs["ft"]], [r["wall"] for r in runs["cli"]]
            f, c = statistics.median(ft), statistics.median(cl)
            ratio = f / c
            mid = sorted(runs["ft"], key=lambda r: r["wall"])[len(ft) // 2]      # the median fleettui run
            tl = mid["timeline"]

            def med(side: str, fn) -> float:
                return statistics.median(fn(r) for r in runs[side])

            emu_ft, emu_cl = med("ft", lambda r: sum(r["emu"].values())), med("cli", lambda r: sum(r["emu"].values()))
            cores = os.cpu_count() or 1
            floor = max(max(mid["emu"].values()), sum(mid["emu"].values()) / cores)
            hosts = {r["hosts"] for r in runs["ft"]} | {first["hosts"]}
            live = {r["live"] for r in runs["cli"]}
            fig = Figure("P1", f"P1 refresh {n} inst / {len(REGIONS)} regions: fleettui {f:.2f}s vs aws-cli {c:.2f}s  "
                               f"ratio {ratio:.2f}  (target ≤ {TARGET_P1})", ratio <= TARGET_P1)
            fig.details += [
                f"emulated AWS: one moto process per region behind a routing proxy; both sides use the proxy's "
                f"one endpoint ({mid['requests']} vs {runs['cli'][0]['requests']} requests per run reached it)",
                f"runs: fleettui {' '.join(f'{x:.2f}' for x in ft)}  aws-cli {' '.join(f'{x:.2f}' for x in cl)}  "
                f"(fleettui's first refresh, not counted: {first['wall']:.2f}s)",
                f"CPU per run (median), fleettui vs aws-cli: emulator {emu_ft:.1f}s vs {emu_cl:.1f}s "
                f"(fleettui's median run per region: "
                + " / ".join(f"{mid['emu'][region]:.1f}" for region in REGIONS)
                + f"), proxy {med('ft', lambda r: r['proxy']):.1f}s vs {med('cli', lambda r: r['proxy']):.1f}s, "
                f"client {med('ft', lambda r: r['cpu']):.1f}s vs {med('cli', lambda r: r['cpu']):.1f}s",
                f"emulator floor for a concurrent client on {cores} cores: max(slowest region, Σ regions / {cores}) "
                f"= {floor:.1f}s = {floor / c:.2f} of aws-cli's wall; aws-cli waits "
                f"{med('cli', lambda r: r['in_aws']):.1f}s for its 3 DescribeInstances, one after the other",
                f"fleettui's median run ({tl['wall']:.2f}s): its DescribeInstances, sent by {tl['sent']:.2f}s, were "
                f"rendered by the backends at "
                + ", ".join(f"{region} {tl['rendered'][region]:.2f}s" for region in REGIONS if region in tl['rendered'])
                + f" ({tl['mb']:.0f} MB); client CPU {tl['cpu_wait']:.1f}s until then, {tl['cpu_after']:.1f}s in "
                f"the {tl['wall'] - tl['wait']:.2f}s after (parsing, images, build)",
                f"CPU of other processes on the machine during a run (median): {med('ft', lambda r: r['others']):.1f}s "
                f"during fleettui's, {med('cli', lambda r: r['others']):.1f}s during aws-cli's "
                f"(load average {loadavg()})",
                f"longest stall of the UI's event loop during a refresh (parsing runs on the refresh's own thread): "
                f"{med('ft', lambda r: r['stall']):.2f}s",
                f"both saw the same fleet: fleettui {'/'.join(map(str, sorted(hosts)))} hosts "
                f"({first['findings']} findings), aws-cli {'/'.join(map(str, sorted(live)))} live hosts"
                + ("" if hosts == live == {n} else f"  MISMATCH (seeded {n})"),
            ]
            if not hosts == live == {n}:
                fig.ok = False
            fig.data = {"fleettui": ft, "cli": cl, "ratio": ratio, "emulator_cpu": {"fleettui": emu_ft, "cli": emu_cl},
                        "floor": floor, "timeline": tl, "load_average": os.getloadavg()}
            figures.append(fig)
        if "P2" in want:
            sent = first["sent"]
            total = sum(sent.values())
            di = sent.get("ec2.DescribeInstances", 0)
            config = load_config(seeded.config_path)
            di_bound, const, bound = request_bound(config, first["per_region"], first["images"])
            ok = total <= bound and di <= di_bound
            fig = Figure("P2", f"P2 requests per refresh, {first['hosts']} inst / {len(REGIONS)} regions / "
                               f"{sizes.services} services: {total} (DescribeInstances {di})  bound {bound} "
                               f"= Σ ceil(N_r/1000) {di_bound} + constant {const}  {verdict(ok)}", ok)
            fig.details.append("by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(sent.items())))
            # signals: GetMetricData takes 500 queries a call (1 per host without a load balancer, 4 per target
            # group with one), plus one DescribeAlarms page per region
            ssent, queries = first["signals_sent"], first["signal_queries"]
            s_total = sum(ssent.values())
            s_bound = sum(math.ceil(n / 500) for n in queries.values()) + len(REGIONS)
            s_ok = s_total <= s_bound and not first["signals_error"]
            fig.ok = fig.ok and s_ok
            fig.details.append(f"signals poll: {s_total} requests ({', '.join(f'{k} {v}' for k, v in sorted(ssent.items()))})"
                               f" for {sum(queries.values())} metric queries; bound Σ ceil(q_r/500) + DescribeAlarms "
                               f"per region = {s_bound}  {verdict(s_ok)}"
                               + (f"; ERROR {first['signals_error']}" if first["signals_error"] else ""))
            fig.data = {"total": total, "describe_instances": di, "bound": bound, "di_bound": di_bound,
                        "sent": sent, "signals_sent": ssent, "signals_bound": s_bound}
            figures.append(fig)
    finally:
        if worker is not None:
            worker.close()
        aws.stop()
    return figures


# =============================================================================================== synthetic fleet

def synthetic_raws(n: int, services: int = 5, regions: tuple[str, ...] = REGIONS, *, now: datetime,
                   seed_: int = 7):
    """RawService inputs shaped like the parsed AWS responses of seed_scale_fleet's fleet, for ``n`` hosts:
    per service and region a launch template (v1 old image, v2 new, default 2) and two generations (a third on
    1.0.0 aged 31-38 d, the rest on 1.1.0 aged 1-6 d); every 50th host drifted (instance type), every 97th
    launched with an extra security group."""
    import random

    from fleettui.config import ServiceConfig
    from fleettui.domain.build import RawService

    rnd = random.Random(seed_)
    names = [f"svc{k}" for k in range(services)]
    raws = []
    shares = [n // (services * len(regions)) + (1 if k < n % (services * len(regions)) else 0)
              for k in range(services * len(regions))]
    serial = 0
    for s, name in enumerate(names):
        cfg = ServiceConfig(name=name, regions=tuple(regions), selector=(("Service", name),),
                            launch_template=f"{name}-lt", required_tags=("Owner", "CostCenter"),
                            warn_age_s=14 * 86400, max_age_s=30 * 86400)
        raw = RawService(config=cfg)
        for r, region in enumerate(regions):
            share = shares[s * len(regions) + r]
            lt_id = f"lt-{s:04x}{r:04x}{'0' * 9}"
            sg = f"sg-{s:04x}{r:04x}{'a' * 9}"
            gens = []
            for g, (version, age_days, ages) in enumerate((("1.0.0", 60, (31, 33, 35, 38)),
                                                            ("1.1.0", 10, (1, 2, 4, 6)))):
                ami = f"ami-{s:02x}{r:02x}{g:02x}{'b' * 11}"
                raw.images[ami] = {"ImageId": ami, "Name": f"{name}-{version}", "State": "available",
                                   "CreationDate": (now - timedelta(days=age_days)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                   "Tags": [{"Key": "Version", "Value": version}]}
                gens.append((version, ami, g + 1, ages))
            raw.lt_versions[region] = [{
                "LaunchTemplateId": lt_id, "LaunchTemplateName": f"{name}-lt", "VersionNumber": v,
                "DefaultVersion": v == 2,
                "LaunchTemplateData": {"ImageId": gens[v - 1][1], "InstanceType": "m5.large",
                                       "SecurityGroupIds": [sg]}} for v in (1, 2)]
            old = share // 3
            for k in range(share):
                version, ami, ltv, ages = gens[0] if k < old else gens[1]
                serial += 1
                iid = f"i-{serial:017x}"
                az = f"{region}{'abc'[k % 3]}"
                itype = "m5.xlarge" if serial % 50 == 0 else "m5.large"
                sgs = [{"GroupId": sg, "GroupName": f"{name}-sg"}]
                if serial % 97 == 0:
                    sgs.append({"GroupId": "sg-0debug0000000000", "GroupName": "debug"})
                launch = now - timedelta(days=ages[k % len(ages)], seconds=rnd.randrange(86400))
                ip = f"10.{r}.{serial // 256 % 256}.{serial % 256}"
                raw.instances.append({
                    "InstanceId": iid, "ImageId": ami, "InstanceType": itype, "LaunchTime": launch,
                    "State": {"Code": 16, "Name": "running"}, "Placement": {"AvailabilityZone": az,
                                                                           "GroupName": "", "Tenancy": "default"},
                    "SubnetId": f"subnet-{r:02x}{k % 3:02x}{'c' * 13}", "VpcId": f"vpc-{r:02x}{'d' * 15}",
                    "PrivateIpAddress": ip, "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal",
                    "SecurityGroups": sgs, "Architecture": "x86_64", "Hypervisor": "xen",
                    "RootDeviceName": "/dev/xvda", "RootDeviceType": "ebs", "VirtualizationType": "hvm",
                    "Monitoring": {"State": "disabled"}, "EbsOptimized": False, "AmiLaunchIndex": k % 300,
                    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
                        "AttachTime": launch, "DeleteOnTermination": True, "Status": "attached",
                        "VolumeId": f"vol-{serial:017x}"}}],
                    "Tags": [{"Key": "aws:ec2launchtemplate:id", "Value": lt_id},
                             {"Key": "aws:ec2launchtemplate:version", "Value": str(ltv)},
                             {"Key": "Service", "Value": name}, {"Key": "Owner", "Value": f"team-{name}"},
                             {"Key": "CostCenter", "Value": "cc-9000"}, {"Key": "Environment", "Value": "bench"},
                             {"Key": "Name", "Value": f"{name}-{version.replace('.', '-')}"}],
                    "_region": region,
                })
        raws.append(raw)
    return raws


def synthetic_snapshot(n: int, services: int = 5, now: datetime | None = None):
    from fleettui.domain.build import build_snapshot

    now = now or datetime.now(timezone.utc)
    raws = synthetic_raws(n, services, now=now)
    return build_snapshot(raws, now=now, regions=REGIONS, profile="bench")


def bench_build(sizes: Sizes) -> Figure:
    from fleettui.domain.build import build_snapshot

    n = sizes.build_hosts
    now = datetime.now(timezone.utc)
    raws = synthetic_raws(n, now=now)
    times = []
    snap = None
    for _ in range(5):
        gc.collect()
        t = time.perf_counter()
        snap = build_snapshot(raws, now=now, regions=REGIONS, profile="bench")
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    findings = Counter(f.kind for s in snap.services for i in s.instances for f in i.findings)
    fig = Figure("BUILD", f"BUILD snapshot build (grouping + roles + drift + age), {snap.instance_count} inst: "
                          f"{med:.3f}s = {med / n * 10_000:.3f}s per 10,000  (no target)", None)
    fig.details.append(f"runs: {' '.join(f'{x:.3f}' for x in times)}; findings: "
                       + ", ".join(f"{k} {v}" for k, v in sorted(findings.items())))
    fig.data = {"seconds": med, "per_10k": med / n * 10_000, "hosts": snap.instance_count}
    return fig


# =============================================================================================== TUI

def bench_context(snapshot):
    """A read-only Context whose config matches ``snapshot`` (its endpoint is never called: fetch is injected)."""
    from fleettui.config import AwsConfig, Config, ServiceConfig
    from fleettui.context import Context

    services = tuple(ServiceConfig(name=s.name, regions=s.regions, selector=(("Service", s.name),))
                     for s in snapshot.services)
    config = Config(path=None, aws=AwsConfig(profile="bench", regions=snapshot.regions,
                                             endpoint_url="http://127.0.0.1:9"), services=services)
    return Context(config=config, read_only=True)


def ui_available() -> str | None:
    try:
        from fleettui.ui.app import make_app  # noqa: F401
    except Exception as e:  # noqa: BLE001 - the UI is being written concurrently
        return f"{type(e).__name__}: {e}"
    return None


async def _wait(cond, timeout: float = 60.0, app=None) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        if app is not None and getattr(app, "_exception", None) is not None:
            raise RuntimeError(f"the app failed: {app._exception!r}")
        if time.perf_counter() > end:
            raise TimeoutError("the app did not get there in time" +
                               (f" ({app._exception!r})" if getattr(app, "_exception", None) else ""))
        await asyncio.sleep(0)


def _flush_repaint(app) -> None:
    """Paint what is pending now (what Textual's update timer would do next)."""
    app.screen._on_timer_update()


def _key_event(key: str):
    """The Key event a terminal driver produces for ``key`` (as Textual's Pilot builds it)."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


async def keystroke_latencies(snapshot, typed: str, rounds: int, size=(160, 50)) -> tuple[list[float], list[float]]:
    """Open the filter, then type ``typed`` and erase it again, ``rounds`` times. Per keystroke: from the key
    event entering the app (as the terminal driver delivers it) until the table holds the filtered rows and the
    screen has been repainted. Pilot's own waits (it sleeps until the process is idle after every key) are
    kept out of the timing; the app settles between keystrokes. Returns (wall seconds, CPU seconds) per key."""
    from fleettui.ui.app import make_app
    from fleettui.ui.data.filter import parse_filter
    from fleettui.ui.data.view import Entry, ServiceView, rows_for

    app = make_app(bench_context(snapshot), auto_refresh=False, fetch=lambda gw: _ready(snapshot))
    view = ServiceView.build(snapshot.services[0])     # expected host counts, computed outside the app
    expected = {typed[:k]: sum(isinstance(r, Entry) for r in rows_for(view, parse_filter(typed[:k])))
                for k in range(len(typed) + 1)}
    samples: list[float] = []
    cpu: list[float] = []
    async with app.run_test(size=size) as pilot:
        await _wait(lambda: app.refresh_count >= 1, app=app)
        await pilot.pause()
        main = app.main
        await pilot.press("slash")
        await pilot.pause()
        keys = list(typed) + ["backspace"] * len(typed)
        for _ in range(rounds):
            text = ""
            for key in keys:
                text = text[:-1] if key == "backspace" else text + key
                event = _key_event(key)
                event.set_sender(app)
                c, t = time.process_time(), time.perf_counter()
                app._driver.send_message(event)
                await _wait(lambda: main.filter.text == text.strip(), 10, app)
                _flush_repaint(app)
                samples.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                shown = main.table.host_count
                if shown != expected[text]:
                    raise AssertionError(f"filter {text!r}: table shows {shown} hosts, expected {expected[text]}")
                await pilot.pause()
    return samples, cpu


async def _ready(snapshot):
    return snapshot


def bench_p3(sizes: Sizes) -> Figure:
    """Two typing patterns, 3 rounds each (type, then erase): the verdict is on the first, where both tables are
    full at every keystroke (the same painting work), so the ratio shows what the fleet size costs."""
    big = synthetic_snapshot(sizes.ui_hosts, services=1)
    small = synthetic_snapshot(sizes.ui_small, services=1)
    rounds = 3
    res = {}
    # "m5.large": every prefix matches 98% of the hosts (1 in 50 is an m5.xlarge): ~10,000 rows re-listed per key.
    # "m5.xlarge": narrows at "m5.x" to 2% of the hosts: the small table is then nearly empty (cheaper to paint).
    for typed in ("m5.large", "m5.xlarge"):
        lat_small, cpu_small = asyncio.run(keystroke_latencies(small, typed, rounds))
        lat_big, cpu_big = asyncio.run(keystroke_latencies(big, typed, rounds))
        res[typed] = {k: statistics.median(v) for k, v in
                      (("small", lat_small), ("big", lat_big), ("cpu_small", cpu_small), ("cpu_big", cpu_big))}
        res[typed].update(n=len(lat_big), p90_big=sorted(lat_big)[int(len(lat_big) * .9)], max_big=max(lat_big))
    main_ = res["m5.large"]
    b, s = main_["big"], main_["small"]
    ratio = b / s
    fig = Figure("P3", f"P3 filter keystroke -> repaint: {sizes.ui_hosts} inst {b * 1000:.1f}ms vs "
                       f"{sizes.ui_small} inst {s * 1000:.1f}ms  ratio {ratio:.2f}  (target ≤ {TARGET_P3:g})",
                 ratio <= TARGET_P3)
    for typed, r in res.items():
        fig.details.append(
            f"typing {typed!r} and erasing it, {rounds}×, {r['n']} keys, all hosts in the shown service: "
            f"{r['big'] * 1000:.1f}ms vs {r['small'] * 1000:.1f}ms (ratio {r['big'] / r['small']:.2f}); CPU "
            f"{r['cpu_big'] * 1000:.1f}ms vs {r['cpu_small'] * 1000:.1f}ms (ratio {r['cpu_big'] / r['cpu_small']:.2f});"
            f" {sizes.ui_hosts} inst p90 {r['p90_big'] * 1000:.0f}ms, max {r['max_big'] * 1000:.0f}ms")
    fig.data = {"big_ms": b * 1000, "small_ms": s * 1000, "ratio": ratio,
                "narrowing_ratio": res["m5.xlarge"]["big"] / res["m5.xlarge"]["small"]}
    return fig


class SyntheticCloudWatch:
    """Stands in for the gateway in fetch_signals: GetMetricData answers every query with a datapoint for each
    period of the window (values vary per query), DescribeAlarms with none. Counts the calls."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()

    async def call(self, service: str, region: str, operation: str, **params):
        self.calls[operation] += 1
        start, end = params["StartTime"], params["EndTime"]
        out = []
        for n, q in enumerate(params["MetricDataQueries"]):
            period = q["MetricStat"]["Period"]
            stamps = [start + timedelta(seconds=period * k) for k in range(int((end - start).total_seconds() // period))]
            out.append({"Id": q["Id"], "Label": q["MetricStat"]["Metric"]["MetricName"], "StatusCode": "Complete",
                        "Timestamps": stamps, "Values": [20.0 + (n * 7 + k * 3) % 60 for k in range(len(stamps))]})
        return {"MetricDataResults": out}

    async def paginate(self, service: str, region: str, operation: str, **params):
        self.calls[operation] += 1
        yield {"MetricAlarms": []}


def worker_rss(n: int, signals: bool = False) -> None:
    """Mount the app with ``n`` synthetic hosts (5 services, 3 regions) and report peak and current RSS; with
    ``signals``, wait until their golden signals are loaded and painted too."""
    from fleettui.aws.signals import fetch_signals
    from fleettui.domain.signals import Signals
    from fleettui.ui.app import make_app

    snap = synthetic_snapshot(n) if n else None
    gc.collect()
    cw = SyntheticCloudWatch()

    async def main() -> dict:
        fetched = snap if snap is not None else synthetic_snapshot(0)
        ctx = bench_context(fetched)
        # without signals: none loaded (and no botocore CloudWatch client made to fail against the dead endpoint)
        signals_fetch = (lambda gw, s: fetch_signals(cw, s, ctx.config)) if signals else (lambda gw, s: _ready(Signals()))
        app = make_app(ctx, auto_refresh=False, fetch=lambda gw: _ready(fetched), signals_fetch=signals_fetch)
        async with app.run_test(size=(160, 50)) as pilot:
            await _wait(lambda: app.refresh_count >= 1, app=app)
            if signals:
                await _wait(lambda: app.signals is not None, app=app)
                if app.signals.error:
                    raise RuntimeError(app.signals.error)
            await pilot.pause()
            _flush_repaint(app)
            rows = app.main.table.host_count
            loaded = sum(len(s.generations) for s in app.signals.services.values()) if signals else 0
        return {"rows": rows, "signal_generations": loaded, "calls": dict(cw.calls)}

    info = asyncio.run(main())
    info["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/status") as fh:
        info["hwm_kb"] = next((int(line.split()[1]) for line in fh if line.startswith("VmHWM")), None)
    print(json.dumps(info), flush=True)


def bench_p4(sizes: Sizes, workdir: Path) -> Figure:
    env = clean_env(workdir)
    res = {}
    for case, n, signals in (("hosts", sizes.ui_hosts, False), ("signals", sizes.ui_hosts, True), ("empty", 0, False)):
        # through a shell that forks (not execs) the worker: a process exec'd straight from this one would
        # inherit this process's peak RSS (with the emulator in it) in ru_maxrss
        proc = subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, str(Path(__file__)),
                               "--_worker", "rss", str(n), *(["signals"] if signals else [])],
                              capture_output=True, text=True, env=env, timeout=600)
        if proc.returncode:
            raise RuntimeError(f"rss worker failed:\n{proc.stderr[-3000:]}")
        res[case] = json.loads(proc.stdout.strip().splitlines()[-1])
    mb = res["hosts"]["maxrss_kb"] / 1024
    sig_mb = res["signals"]["maxrss_kb"] / 1024
    base = res["empty"]["maxrss_kb"] / 1024
    ok = max(mb, sig_mb) <= TARGET_P4_MB
    fig = Figure("P4", f"P4 peak RSS of the TUI holding {sizes.ui_hosts} inst: {mb:.0f} MB, with their signals "
                       f"loaded {sig_mb:.0f} MB (×{sig_mb / mb:.2f})  (target ≤ {TARGET_P4_MB:g} MB)  {verdict(ok)}", ok)
    hwm = res["hosts"].get("hwm_kb")
    per_host = (mb - base) / max(1, sizes.ui_hosts) * 1024
    fig.details.append(f"ru_maxrss (VmHWM {hwm / 1024:.0f} MB); the same app with no hosts: {base:.0f} MB, so "
                       f"{per_host:.1f} KB per host (the peak includes the synthetic AWS responses the snapshot "
                       f"was built from)")
    calls = res["signals"]["calls"]
    fig.details.append(f"signals: {res['signals']['signal_generations']} generations' series from "
                       f"{', '.join(f'{v} {k}' for k, v in sorted(calls.items()))} (synthetic CloudWatch, a datapoint "
                       f"per period of the window for every query); +{sig_mb - mb:.0f} MB over the hosts alone")
    fig.data = {"mb": mb, "signals_mb": sig_mb, "signals_ratio": sig_mb / mb, "base_mb": base}
    return fig


def worker_cold(t0: float) -> None:
    """`fleettui --demo` in-process: open the demo context (start + seed moto), mount the app, first paint."""
    stamps = {"python+imports": 0.0}
    from fleettui.context import open_context
    from fleettui.ui.app import make_app
    stamps["python+imports"] = time.time() - t0

    async def main() -> None:
        ctx = open_context(demo=True)
        stamps["emulator started+seeded"] = time.time() - t0
        try:
            app = make_app(ctx, auto_refresh=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await _wait(lambda: app.refresh_count >= 1, 120, app)
                if app.snapshot is None:
                    raise RuntimeError(f"first refresh failed: {app.last_error}")
                _flush_repaint(app)
                stamps["first fleet painted"] = time.time() - t0
                stamps["hosts"] = app.snapshot.instance_count
        finally:
            ctx.close()

    asyncio.run(main())
    print(json.dumps(stamps), flush=True)


def bench_cold(sizes: Sizes, workdir: Path) -> Figure:
    env = clean_env(workdir)
    runs = []
    for _ in range(sizes.cold_runs):
        t0 = time.time()
        proc = subprocess.run([sys.executable, str(Path(__file__)), "--_worker", "cold", repr(t0)],
                              capture_output=True, text=True, env=env, timeout=600)
        if proc.returncode:
            raise RuntimeError(f"cold-start worker failed:\n{proc.stderr[-3000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    total = statistics.median(r["first fleet painted"] for r in runs)
    med = {k: statistics.median(r[k] for r in runs) for k in ("python+imports", "emulator started+seeded")}
    fig = Figure("COLD", f"COLD `fleettui --demo` process start -> first fleet painted ({runs[0]['hosts']} hosts): "
                         f"{total:.2f}s  (no target)", None)
    fig.details.append(f"median of {len(runs)}: python + imports {med['python+imports']:.2f}s, emulator started "
                       f"and seeded at {med['emulator started+seeded']:.2f}s, first refresh + paint "
                       f"{total - med['emulator started+seeded']:.2f}s")
    fig.data = {"seconds": total, **med}
    return fig


# =============================================================================================== main

def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def guarded(key: str, fn, *args) -> list[Figure]:
    """Run one benchmark; a crash becomes a failed figure (the app under test is written concurrently)."""
    try:
        res = fn(*args)
    except Exception as e:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        return [Figure(key, f"{key} failed: {type(e).__name__}: {' '.join(str(e).split())[:300]}", False)]
    return res if isinstance(res, list) else [res]


def run(sizes: Sizes, want: set[str]) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="fleettui-bench-") as tmp:
        workdir = Path(tmp)
        if want & {"P1", "P2"}:
            figures += guarded("P1" if "P1" in want else "P2", bench_p1_p2, sizes, workdir, want)
        if "BUILD" in want:
            figures += guarded("BUILD", bench_build, sizes)
        if want & {"P3", "P4", "COLD"}:
            missing = ui_available()
            if missing:
                for key in sorted(want & {"P3", "P4", "COLD"}):
                    figures.append(Figure(key, f"{key} skipped: fleettui.ui.app.make_app unavailable ({missing})",
                                          False))
                return figures
        if "P3" in want:
            figures += guarded("P3", bench_p3, sizes)
        if "P4" in want:
            figures += guarded("P4", bench_p4, sizes, workdir)
        if "COLD" in want:
            figures += guarded("COLD", bench_cold, sizes, workdir)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (seconds), for the CI smoke test")
    p.add_argument("--only", help="comma-separated figures: " + ",".join(FIGURES))
    p.add_argument("--runs", type=int, help="measured runs per side for P1 (default 3; quick 1)")
    p.add_argument("--hosts", type=int, help="hosts for P1/P2 (default 5000; quick 300)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--_worker", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._worker:
        kind, *rest = args._worker
        {"refresh": lambda: worker_refresh(rest[0]), "rss": lambda: worker_rss(int(rest[0]), signals="signals" in rest[1:]),
         "cold": lambda: worker_cold(float(rest[0])), "server": lambda: worker_server(rest[0]),
         "proxy": lambda: worker_proxy(rest[0])}[kind]()
        return 0
    sizes = QUICK if args.quick else FULL
    if args.runs:
        sizes = Sizes(**{**sizes.__dict__, "runs": args.runs})
    if args.hosts:
        sizes = Sizes(**{**sizes.__dict__, "p1_hosts": args.hosts})
    want = set(FIGURES)
    if args.only:
        want = {w.strip().upper() for w in args.only.split(",") if w.strip()}
        unknown = want - set(FIGURES)
        if unknown:
            p.error(f"unknown figure(s) {', '.join(sorted(unknown))} (allowed: {', '.join(FIGURES)})")
    out(f"fleettui benchmark {'(quick) ' if args.quick else ''}{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"on {machine()}, load average {loadavg()}")
    started = time.perf_counter()
    figures = run(sizes, want)
    out()
    for f in sorted(figures, key=lambda f: FIGURES.index(f.key)):
        out(f.line + ("" if f.line.endswith(("OK", "MISSED")) or f.ok is None else f"  {verdict(f.ok)}"))
        for d in f.details:
            out(f"    {d}")
    out(f"({time.perf_counter() - started:.0f}s; load average now {loadavg()})")
    if args.json:
        Path(args.json).write_text(json.dumps({f.key: {"line": f.line, "ok": f.ok, **f.data} for f in figures},
                                              indent=2, default=str))
    return 0 if all(f.ok is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
