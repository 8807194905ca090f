"""Looks: pytest-textual-snapshot SVG baselines of the main screen, the filter, the host detail and help.

Deterministic: a fixed clock and a fixed Snapshot built by the real builder (``build_snapshot``) from hand-made
AWS descriptions with fixed ids and dates, injected through ``make_app(fetch=...)``; nothing talks to AWS.
Grouped by the config they run with (read-write, read-only). Update baselines with ``--snapshot-update``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleettui.config import parse_config
from fleettui.context import Context
from fleettui.domain.build import RawService, build_snapshot
from fleettui.ui.app import make_app

from signals_sample import sample_signals

NOW = datetime(2026, 11, 20, 9, 30, 0, tzinfo=timezone.utc)
ACCOUNT = "123456789012"
SIZE = (160, 45)
WEB_LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
API_LISTENER = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:listener/app/api-alb/6d0ecf831eec9f09/a1b2c3d4e5f60718"


def sample_config(read_only: bool = False, profile: str = "staging"):
    return parse_config({
        "aws": {"profile": profile, "regions": ["us-east-1", "eu-west-1"], "endpoint_url": "http://127.0.0.1:9"},
        "defaults": {"warn_age": "14d", "max_age": "30d", "refresh_seconds": 30, "read_only": read_only},
        "service": [
            {"name": "web", "regions": ["us-east-1"], "selector": {"Service": "web"}, "launch_template": "web-lt",
             "listener_arn": WEB_LISTENER, "required_tags": ["Owner", "CostCenter"], "shift_steps": [10, 25, 50, 100]},
            {"name": "api", "regions": ["eu-west-1"], "selector": {"Service": "api"}, "launch_template": "api-lt",
             "listener_arn": API_LISTENER, "required_tags": ["Owner"]},
            {"name": "worker", "regions": ["us-east-1", "eu-west-1"], "selector": {"Service": "worker"},
             "launch_template": "worker-lt"},
            {"name": "cache", "regions": ["us-east-1"], "selector": {"Service": "cache"}, "launch_template": "cache-lt"},
        ],
    }, path=None, env={})


class _Fleet:
    """Hand-made DescribeInstances / DescribeImages / launch template / listener items with stable ids."""

    def __init__(self, now: datetime):
        self.now = now
        self.n = 0

    def image(self, ident: str, name: str, version: str, age_days: float, deprecated_days_ago: float | None = None):
        item = {"ImageId": ident, "Name": name, "State": "available",
                "CreationDate": (self.now - timedelta(days=age_days)).isoformat(),
                "Tags": [{"Key": "Version", "Value": version}]}
        if deprecated_days_ago is not None:
            item["DeprecationTime"] = (self.now - timedelta(days=deprecated_days_ago)).isoformat()
        return item

    @staticmethod
    def lt(region: str, lt_id: str, name: str, versions: list[tuple[str, str, list[str], str | None]], default: int):
        return {region: [{"LaunchTemplateId": lt_id, "LaunchTemplateName": name, "VersionNumber": n + 1,
                          "DefaultVersion": n + 1 == default,
                          "LaunchTemplateData": {"ImageId": ami, "InstanceType": itype, "SecurityGroupIds": sgs,
                                                 **({"IamInstanceProfile": {"Name": prof}} if prof else {})}}
                         for n, (ami, itype, sgs, prof) in enumerate(versions)]}

    def hosts(self, service: str, region: str, count: int, ages: list[float], *, image: str, lt: str | None = None,
              lt_version: int | None = None, itype: str = "m5.large", sgs: tuple[str, ...] = (),
              profile: str | None = None, tags: dict | None = None, drop: tuple[str, ...] = (),
              asg: str | None = None, state: str = "running") -> list[dict]:
        out = []
        for k in range(count):
            self.n += 1
            iid = f"i-0{service[:3]}{self.n:013x}"
            az = f"{region}{'abc'[k % 3]}"
            t = {"Service": service, "Owner": "team-platform", "CostCenter": "cc-1042", "Name": f"{service}-{self.n:03d}",
                 **(tags or {})}
            for d in drop:
                t.pop(d, None)
            if lt:
                t["aws:ec2launchtemplate:id"] = lt
                t["aws:ec2launchtemplate:version"] = str(lt_version)
            if asg:
                t["aws:autoscaling:groupName"] = asg
            out.append({
                "InstanceId": iid, "_region": region, "ImageId": image, "InstanceType": itype,
                "State": {"Name": state}, "LaunchTime": self.now - timedelta(days=ages[k % len(ages)], minutes=self.n),
                "Placement": {"AvailabilityZone": az}, "SubnetId": f"subnet-0{region[-1]}{'abc'[k % 3]}000000000001",
                "SecurityGroups": [{"GroupId": g} for g in sgs],
                "IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{profile}"} if profile else None,
                "Tags": [{"Key": a, "Value": b} for a, b in t.items()],
                "PrivateIpAddress": f"10.0.{self.n // 250}.{self.n % 250 + 4}",
            })
        return out


def sample_raw(now: datetime = NOW, web_scale: int = 1, read_only: bool = False) -> list[RawService]:
    """web (3 generations, 0/90/10, drift, aged), api (rollback target), worker (ASG, 2 regions), cache (hand-built
    hosts on a deregistered image). ``web_scale`` multiplies web's hosts (benchmarks)."""
    cfg = sample_config(read_only)
    f = _Fleet(now)
    sg, dbg = "sg-0web0000000000001", "sg-0dbg0000000000001"
    w14, w15, w16, w15b = "ami-0web14000000000001", "ami-0web15000000000001", "ami-0web16000000000001", "ami-0web15000000000002"
    web_lt = "lt-0web0000000000001"
    common = dict(lt=web_lt, sgs=(sg,), profile="web-role")
    g14 = f.hosts("web", "us-east-1", 15 * web_scale, [40, 42, 45], image=w14, lt_version=1, **common)
    g15 = f.hosts("web", "us-east-1", 11 * web_scale, [8, 10, 12, 16, 20, 24], image=w15, lt_version=2, **common)
    g15 += f.hosts("web", "us-east-1", 1, [18], image=w15, lt_version=2, itype="m5.xlarge", lt=web_lt, sgs=(sg,),
                   profile="web-role")
    g15 += f.hosts("web", "us-east-1", 1, [15], image=w15, lt_version=2, lt=web_lt, sgs=(sg, dbg), profile="web-role")
    g15 += f.hosts("web", "us-east-1", 1, [11], image=w15b, lt_version=2, **common)
    g15 += f.hosts("web", "us-east-1", 1, [9], image=w15, lt_version=2, drop=("Owner",), **common)
    g16 = f.hosts("web", "us-east-1", 3 * web_scale, [0.8, 1.0, 1.2], image=w16, lt_version=3, **common)
    tg = {v: f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web-{v.replace('.', '-')}/{n:016x}"
          for n, v in enumerate(("1.4.0", "1.5.0", "1.6.0"), 1)}
    health16 = {i["InstanceId"]: "healthy" for i in g16}
    health16[g16[0]["InstanceId"]] = "unhealthy"
    web = RawService(
        config=cfg.service("web"), instances=g14 + g15 + g16,
        images={w14: f.image(w14, "web-1.4.0", "1.4.0", 60, deprecated_days_ago=10),
                w15: f.image(w15, "web-1.5.0", "1.5.0", 25), w16: f.image(w16, "web-1.6.0", "1.6.0", 2),
                w15b: f.image(w15b, "web-1.5.0-rebuilt", "1.5.0", 20)},
        lt_versions=f.lt("us-east-1", web_lt, "web-lt", [(w14, "m5.large", [sg], "web-role"),
                                                          (w15, "m5.large", [sg], "web-role"),
                                                          (w16, "m5.large", [sg], "web-role")], default=3),
        listener={"ListenerArn": WEB_LISTENER, "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tg["1.4.0"], "Weight": 0}, {"TargetGroupArn": tg["1.5.0"], "Weight": 90},
            {"TargetGroupArn": tg["1.6.0"], "Weight": 10}]}}]},
        target_groups={tg["1.4.0"]: {"name": "web-1-4-0", "tags": {"fleettui:version": "1.4.0"},
                                     "health": {i["InstanceId"]: "healthy" for i in g14}},
                       tg["1.5.0"]: {"name": "web-1-5-0", "tags": {"fleettui:version": "1.5.0"},
                                     "health": {i["InstanceId"]: "healthy" for i in g15}},
                       tg["1.6.0"]: {"name": "web-1-6-0", "tags": {"fleettui:version": "1.6.0"}, "health": health16}},
    )

    a22, a23, api_lt, api_sg = "ami-0api22000000000001", "ami-0api23000000000001", "lt-0api0000000000001", "sg-0api0000000000001"
    apis = dict(lt=api_lt, sgs=(api_sg,), itype="c6i.large")
    g22 = f.hosts("api", "eu-west-1", 8, [19, 20, 21], image=a22, lt_version=1, profile="api-role", **apis)
    g23 = f.hosts("api", "eu-west-1", 7, [3, 5, 7, 10], image=a23, lt_version=2, profile="api-role", **apis)
    g23 += f.hosts("api", "eu-west-1", 1, [6], image=a23, lt_version=2, profile="debug-role", **apis)
    atg = {v: f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/api-{v.replace('.', '-')}/{n:016x}"
           for n, v in enumerate(("2.2.0", "2.3.0"), 7)}
    api = RawService(
        config=cfg.service("api"), instances=g22 + g23,
        images={a22: f.image(a22, "api-2.2.0", "2.2.0", 30), a23: f.image(a23, "api-2.3.0", "2.3.0", 12)},
        lt_versions=f.lt("eu-west-1", api_lt, "api-lt", [(a22, "c6i.large", [api_sg], "api-role"),
                                                          (a23, "c6i.large", [api_sg], "api-role")], default=2),
        listener={"ListenerArn": API_LISTENER, "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": atg["2.2.0"], "Weight": 0}, {"TargetGroupArn": atg["2.3.0"], "Weight": 100}]}}]},
        target_groups={atg[v]: {"name": f"api-{v}", "tags": {"fleettui:version": v},
                                "health": {i["InstanceId"]: "healthy" for i in hosts}}
                       for v, hosts in (("2.2.0", g22), ("2.3.0", g23))},
    )

    worker_hosts, images, lts, asg_health = [], {}, {}, {}
    for region, asg, n in (("us-east-1", "worker-use1", 1), ("eu-west-1", "worker-euw1", 2)):
        ami, lt_id, wsg = f"ami-0wrk3100000000{n:04d}", f"lt-0wrk000000000000{n}", f"sg-0wrk000000000000{n}"
        images[ami] = f.image(ami, "worker-3.1.0", "3.1.0", 50)
        lts.update(f.lt(region, lt_id, "worker-lt", [(ami, "m5.large", [wsg], None)], default=1))
        hosts = f.hosts("worker", region, 8, [5, 36, 7, 38, 9, 40, 11, 42], image=ami, lt=lt_id, lt_version=1,
                        sgs=(wsg,), asg=asg)
        worker_hosts += hosts
        asg_health.update({h["InstanceId"]: "Healthy" for h in hosts})
    worker = RawService(config=cfg.service("worker"), instances=worker_hosts, images=images, lt_versions=lts,
                        asg_health=asg_health)

    c091, c100, csg = "ami-0cch09100000000001", "ami-0cch10000000000001", "sg-0cch0000000000001"
    cache = RawService(
        config=cfg.service("cache"),
        instances=f.hosts("cache", "us-east-1", 3, [90, 120, 150], image=c091, itype="r6g.large", sgs=(csg,)),
        images={c100: f.image(c100, "cache-1.0.0", "1.0.0", 5)},      # 0.9.1 was deregistered
        lt_versions=f.lt("us-east-1", "lt-0cch0000000000001", "cache-lt", [(c100, "r6g.large", [csg], None)], default=1),
    )
    return [web, api, worker, cache]


def sample_snapshot(now: datetime = NOW, web_scale: int = 1, profile: str = "staging"):
    return build_snapshot(sample_raw(now, web_scale), now=now, regions=("us-east-1", "eu-west-1"), profile=profile,
                          account=ACCOUNT, caller_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/operator/jane")


def sample_app(read_only: bool = False, profile: str = "staging", snapshot=None):
    snap = snapshot or sample_snapshot(profile=profile)
    config = sample_config(read_only, profile)

    async def fetch(_gw):
        return snap

    async def signals_fetch(_gw, _snap):
        return sample_signals(NOW)

    async def console_fetch(_gw, _region, instance_id):
        return f"[    0.000000] Linux version 6.1.0 (sample)\ncloud-init: {instance_id} up\n"

    async def cpu_fetch(_gw, _region, _instance_id):
        return (31.0, 33.5, 30.2, 35.8, 41.0, 47.5, 52.3, None, 61.9, 70.4, 78.0, 84.6, 88.1, 91.7, 93.2)

    async def health_fetch(_gw, _region, _arn, _instance_id):
        return {"State": "unhealthy", "Reason": "Target.FailedHealthChecks",
                "Description": "Health checks failed with these codes: [502]"}

    return make_app(Context(config=config, read_only=read_only), clock=lambda: NOW, auto_refresh=False, fetch=fetch,
                    signals_fetch=signals_fetch, console_fetch=console_fetch, cpu_fetch=cpu_fetch,
                    health_fetch=health_fetch)


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch):
    """Help shows the journal path: keep it the same on every run (nothing is written there)."""
    monkeypatch.setenv("FLEETTUI_HOME", "/home/operator/.fleettui")


async def _loaded(pilot) -> None:
    app = pilot.app
    while app.refresh_count < 1 or app.signals is None:
        await pilot.pause(0.01)
    await pilot.pause()


# ------------------------------------------------------------------------------------------------ read-write
class TestReadWrite:
    def test_main(self, snap_compare):
        assert snap_compare(sample_app(), terminal_size=SIZE, run_before=_loaded)

    def test_filter(self, snap_compare):
        assert snap_compare(sample_app(), press=["slash", *"drift", "enter"], terminal_size=SIZE, run_before=_loaded)

    def test_filter_error(self, snap_compare):
        assert snap_compare(sample_app(), press=["slash", *"age>soon"], terminal_size=SIZE, run_before=_loaded)

    def test_detail(self, snap_compare):
        # the host with an instance type outside its launch template
        assert snap_compare(sample_app(), press=["slash", *"m5.xlarge", "enter", "enter", "k"], terminal_size=SIZE,
                            run_before=_loaded)

    def test_help(self, snap_compare):
        assert snap_compare(sample_app(), press=["question_mark"], terminal_size=SIZE, run_before=_loaded)

    def test_small_terminal(self, snap_compare):
        assert snap_compare(sample_app(), terminal_size=(100, 30), run_before=_loaded)


# ------------------------------------------------------------------------------------------------ read-only, production
class TestReadOnlyProduction:
    def test_main(self, snap_compare):
        assert snap_compare(sample_app(read_only=True, profile="prod-eu"), terminal_size=SIZE, run_before=_loaded)

    def test_marks_and_sort(self, snap_compare):
        assert snap_compare(sample_app(read_only=True, profile="prod-eu"),
                            press=["space", "j", "space", "A", "A"], terminal_size=SIZE, run_before=_loaded)


def test_sample_snapshot_is_what_the_snapshots_show():
    """Guards the fixture itself: the states the baselines are meant to show are really in it."""
    snap = sample_snapshot()
    web = snap.service("web")
    assert [(g.version, g.weight, g.labels) for g in web.generations] == [
        ("1.4.0", 0, ()), ("1.5.0", 90, ("live",)), ("1.6.0", 10, ("canary",))]
    assert web.rollback.ready and (web.rollback.source, web.rollback.target) == ("1.6.0", "1.5.0")
    assert sum(i.drifted for i in web.instances) >= 4 and any(i.age_level == "error" for i in web.instances)
    assert not snap.service("cache").generations[0].image.reproducible
    assert snap.service("worker").generations[0].weight is None
    assert any(not i.is_healthy for i in web.instances)


# ------------------------------------------------------------------------------------------------ 80×24
SMALL = (80, 24)
FIXED_PLAN = {"id": "p-20261120-093000-0a1b2c", "created_at": "2026-11-20T09:30:00+00:00"}


def _plan(kind: str):
    """A plan from the pure planners on the sample snapshot, with a fixed id and time."""
    from dataclasses import replace

    from fleettui.actions.verbs.decommission import plan_decommission
    from fleettui.actions.verbs.rollback import plan_rollback

    snap, cfg = sample_snapshot(), sample_config()
    plan = (plan_rollback(snap, cfg.service("web")) if kind == "rollback"
            else plan_decommission(snap, cfg.service("web"), "1.4.0"))
    return replace(plan, **FIXED_PLAN)


def _push(make_screen):
    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.app.push_screen(make_screen(pilot.app))
        await pilot.pause()
        await pilot.pause()
    return run_before


class TestSmallTerminal:
    """Every screen and dialog at 80×24: its fields, buttons and key bar on screen."""

    def test_main(self, snap_compare):
        assert snap_compare(sample_app(), terminal_size=SMALL, run_before=_loaded)

    def test_services_pane_toggled(self, snap_compare):
        assert snap_compare(sample_app(), press=["s"], terminal_size=SMALL, run_before=_loaded)

    def test_confirm_plan(self, snap_compare):
        from fleettui.ui.dialogs.confirm import ConfirmPlanDialog

        assert snap_compare(sample_app(), terminal_size=SMALL,
                            run_before=_push(lambda app: ConfirmPlanDialog(_plan("rollback"))))

    def test_typed_phrase(self, snap_compare):
        from fleettui.ui.dialogs.confirm import ConfirmPlanDialog

        assert snap_compare(sample_app(), terminal_size=SMALL,
                            run_before=_push(lambda app: ConfirmPlanDialog(_plan("decommission"))))

    def test_weights(self, snap_compare):
        from fleettui.ui.dialogs.weights import WeightsDialog

        assert snap_compare(sample_app(), terminal_size=SMALL, run_before=_push(
            lambda app: WeightsDialog(app.snapshot.service("web"), (10, 25, 50, 100), "1.6.0")))

    def test_launch(self, snap_compare):
        from types import SimpleNamespace

        from fleettui.ui.dialogs.launch import LaunchDialog, launch_defaults

        gone = SimpleNamespace(plan=SimpleNamespace(verb="decommission", service="web", generation="1.3.0",
                                                    id="p-20261119-170000-9f8e7d"),
                               status="succeeded", created="2026-11-19T17:00:00+00:00")

        def dialog(app):
            web = app.snapshot.service("web")
            return LaunchDialog(web, launch_defaults(web, app.config.service("web"), [gone]))
        assert snap_compare(sample_app(), terminal_size=SMALL, run_before=_push(dialog))

    def test_resume(self, snap_compare):
        from fleettui.domain.history import PlanRecord
        from fleettui.ui.dialogs.resume import ResumeDialog

        record = PlanRecord(_plan("rollback"), "arn:aws:sts::123456789012:assumed-role/operator/jane",
                            "INC-1234 bad canary", "2026-11-20T09:10:00+00:00", failed={"s1": "Throttling"},
                            status="failed")
        assert snap_compare(sample_app(), terminal_size=SMALL, run_before=_push(lambda app: ResumeDialog([record])))

    def test_progress(self, snap_compare):
        from fleettui.ui.screens.progress import ProgressScreen

        assert snap_compare(sample_app(), terminal_size=SMALL,
                            run_before=_push(lambda app: ProgressScreen(_plan("decommission"))))

    def test_help(self, snap_compare):
        assert snap_compare(sample_app(), press=["question_mark"], terminal_size=SMALL, run_before=_loaded)

    def test_detail(self, snap_compare):
        assert snap_compare(sample_app(), press=["slash", *"m5.xlarge", "enter", "enter", "k"], terminal_size=SMALL,
                            run_before=_loaded)

    def test_generation(self, snap_compare):
        assert snap_compare(sample_app(), press=["g", "enter"], terminal_size=SMALL, run_before=_loaded)

    def test_generation_signals(self, snap_compare):
        # the worse canary: its signals beside live's, the verdict in words
        assert snap_compare(sample_app(), press=["G", "k", "k", "k", "enter"], terminal_size=SMALL,
                            run_before=_loaded)


class TestMediumTerminal:
    def test_generation(self, snap_compare):
        assert snap_compare(sample_app(), press=["G", "k", "k", "k", "enter"], terminal_size=(120, 35),
                            run_before=_loaded)

    def test_typed_phrase(self, snap_compare):
        from fleettui.ui.dialogs.confirm import ConfirmPlanDialog

        assert snap_compare(sample_app(), terminal_size=(120, 35),
                            run_before=_push(lambda app: ConfirmPlanDialog(_plan("decommission"))))
