"""New hosts carry the tags they must (launch and replace), replace leaves out what a relaunch cannot fix, the
demo's baked 1.7.0 launches, launch templates resolve per region by name, and --region is checked. Against moto;
the tags are read back from the real new instances with boto3."""
import re
from datetime import datetime, timezone

import pytest

from fleettui.actions.executor import PLAN_TAG
from fleettui.actions.planning import PlanError
from fleettui.actions.verbs import VERBS, Decommission, Launch, Replace, Selection
from fleettui.actions.verbs.launch import decommissioned
from fleettui.cli import main
from fleettui.emulator.config_writer import service_toml
from fleettui.emulator.seeder import Seeder

from faults import FaultProxy, instances, listener_weights, write_config

OWNER, COST = "team-storefront", "cc-1042"




def tags(inst: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in inst.get("Tags") or ()}


def launched_by(demo, plan_id: str, region: str = "us-east-1") -> list[dict]:
    return instances(demo, region, **{PLAN_TAG: plan_id})


def with_web_lines(demo, tmp_path, *lines: str):
    """The demo config with ``lines`` added to the web service (it ends with its shift_steps line)."""
    text = demo.config_path.read_text(encoding="utf-8")
    anchor = "shift_steps = [10, 25, 50, 100]\n"
    assert text.count(anchor) == 1
    path = tmp_path / "web-tags.toml"
    path.write_text(text.replace(anchor, anchor + "".join(f"{line}\n" for line in lines)), encoding="utf-8")
    from fleettui.config import load_config

    return load_config(path)


def test_seeded_web_drift_is_as_documented(demo):
    """1.7.0 baked as the template's default changes no finding: 1.4.0 only its deprecated image, 1.5.0 one
    drift of each kind on four hosts, 1.6.0 none."""
    snap = demo.act(lambda a: a.snapshot(["web"]))
    web = snap.service("web")
    assert [g.version for g in web.generations] == ["1.4.0", "1.5.0", "1.6.0"]
    drift = {i.id: {f.kind for f in i.findings if f.is_drift} for i in web.instances}
    assert all(drift[i] == {"drift:image_deprecated"} for i in demo.fleet.generations["web"]["1.4.0"])
    assert all(not drift[i] for i in demo.fleet.generations["web"]["1.6.0"])
    odd = {i: k for i, k in drift.items() if i in demo.fleet.generations["web"]["1.5.0"] and k}
    assert odd == {demo.fleet.drift[k]: {f"drift:{k}"} for k in ("instance_type", "security_groups", "image", "tags")}


def test_replacements_carry_required_tags_of_the_host_or_the_generation(demo):
    f = demo.fleet
    other = f.drift["instance_type"]        # a drifted host with its own Owner: its replacement keeps it
    demo.client("ec2").create_tags(Resources=[other], Tags=[{"Key": "Owner", "Value": "team-other"}])

    async def body(a):
        plan = await a.plan(Replace("web", drifted=True, generation="1.5.0"))
        assert plan.refusal is None, plan.refusal
        return plan, await a.execute(plan, "drift"), await a.snapshot(["web"])

    plan, outcome, after = demo.act(body)
    assert outcome.ok, outcome.error
    new = launched_by(demo, plan.id)
    assert len(new) == 4
    owners = sorted(tags(i)["Owner"] for i in new)
    assert owners == sorted([OWNER] * 3 + ["team-other"])    # the host missing Owner gets the generation's
    for inst in new:
        t = tags(inst)
        assert t["CostCenter"] == COST and t["Service"] == "web" and t["Environment"] == "demo"
        assert t["fleettui:version"] == "1.5.0"
        assert t["Name"] == f"web-1-5-0-{inst['InstanceId'][-4:]}"
    gen = after.service("web").generation("1.5.0")
    assert gen.total == 15 and not [f for i in gen.instances for f in i.findings if f.is_drift]


def test_launch_of_the_baked_1_7_0_end_to_end(demo, tmp_path, capsys):
    """`fleettui launch web` launches the demo's baked 1.7.0 (the template's default): 15 hosts, weight 0, each
    with the declared tags (config wins), the required ones, the generation tag and the generation's naming."""
    cfg = with_web_lines(demo, tmp_path, 'tags = { Owner = "team-web-declared", Tier = "frontend" }')
    assert main(["launch", "web", "--config", str(cfg.path), "--yes", "--reason", "rollout"]) == 0, capsys.readouterr()
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 90, "web-1-6-0": 10, "web-1-7-0": 0}
    w17 = demo.fleet.images[("web", "1.7.0", "us-east-1")]
    new = [i for i in instances(demo, Service="web") if i["ImageId"] == w17]
    assert len(new) == 15
    for inst in new:
        t = tags(inst)
        assert (t["Owner"], t["Tier"], t["CostCenter"], t["Environment"]) == ("team-web-declared", "frontend",
                                                                              COST, "demo")
        assert t["fleettui:version"] == "1.7.0" and t["aws:ec2launchtemplate:version"] == "4"
        assert re.fullmatch(r"web-1-7-0-[0-9a-f]{4}", t["Name"]) and t["Name"].endswith(inst["InstanceId"][-4:])
    snap = demo.act(lambda a: a.snapshot(["web"]))
    gen = snap.service("web").generation("1.7.0")
    assert gen.total == 15 and not [f for i in gen.instances for f in i.findings if f.is_drift]


def test_a_host_that_would_miss_a_required_tag_refuses_the_plan(demo):
    ec2 = demo.client("ec2")
    g15 = demo.fleet.generations["web"]["1.5.0"]
    ec2.delete_tags(Resources=g15, Tags=[{"Key": "Owner"}])          # nobody left to copy Owner from

    with pytest.raises(PlanError, match=r"miss required tag\(s\) Owner: .*tags = \{ Owner"):
        demo.act(lambda a: a.plan(Launch("web", count=1)))
    with pytest.raises(PlanError, match=r"replacement of i-\w+ would miss required tag\(s\) Owner"):
        demo.act(lambda a: a.plan(Replace("web", hosts=(g15[0],))))
    before = {i["InstanceId"] for i in instances(demo, Service="web")}
    assert len(before) == 33


def test_default_replace_leaves_out_hosts_a_relaunch_cannot_fix(demo):
    """R with nothing marked: the 15 idle 1.4.0 hosts whose only drift is their deprecated image (which web-lt v1
    would launch again) are left out, and the plan says so; named explicitly they are replaced."""
    async def body(a):
        snap = await a.snapshot(["web"])
        intent = VERBS["replace"].intent_for(Selection(snap.service("web")))
        return await a.plan(intent, snap), await a.plan(Replace("web", hosts=tuple(demo.fleet.generations["web"]["1.4.0"][:1])), snap)

    default, named = demo.act(body)
    f = demo.fleet
    assert set(default.hosts_affected) == {f.drift[k] for k in ("instance_type", "security_groups", "image", "tags")}
    (note,) = [w for w in default.warnings if w.startswith("left out")]
    assert "left out 15 drifted host(s)" in note and "15 of 1.4.0" in note and "deprecated" in note
    assert "web-lt v1" in note
    assert named.hosts_affected == (f.generations["web"]["1.4.0"][0],)


def test_nothing_fixable_to_replace_says_why(demo):
    async def body(a):
        return await a.plan(Replace("web", drifted=True, generation="1.4.0"))

    with pytest.raises(PlanError, match=r"nothing to replace in web: left out 15 drifted host\(s\)"):
        demo.act(body)


def test_launch_right_after_decommission_says_so(demo):
    async def body(a):
        outcome = await a.execute(await a.plan(Decommission("web", "1.4.0")), "old")
        assert outcome.ok, outcome.error
        plan = await a.plan(Launch("web", lt_version=1, count=1))
        return plan, a.journal.records()

    plan, records = demo.act(body)
    assert plan.refusal is None
    (warning,) = [w for w in plan.warnings if "decommissioned" in w]
    assert warning.startswith("web 1.4.0 was decommissioned ") and ": old)" in warning
    (decom,) = [r for r in records.values() if r.plan.verb == "decommission"]
    said = decommissioned(records.values(), "web", "1.4.0")
    assert said.startswith("web 1.4.0 was decommissioned ") and f"(plan {decom.plan.id} by " in said
    assert decommissioned(records.values(), "web", "1.5.0") is None
    later = datetime(2999, 1, 1, tzinfo=timezone.utc)
    assert decommissioned(records.values(), "web", "1.4.0", now=later) is None


# -- multi-region: a launch template by id exists in one region only ---------------------------------------------

def seed_multi(demo) -> dict[str, list[str]]:
    """Service `multi` in both regions, each with its own launch template `multi-lt` (regional ids), 2 hosts each."""
    s = Seeder(demo.endpoint_url, datetime.now(timezone.utc), {"multi": ("team-multi", "cc-7")})
    hosts = {}
    for region in ("us-east-1", "eu-west-1"):
        ami = s.image(region, "multi", "1.0.0", 5)
        s.launch_template(region, "multi-lt", [ami], "t3.small", [s.sg(region, "multi-sg")], None, default=1)
        hosts[region] = s.run(region, "multi", "1.0.0", 2, [3], lt="multi-lt", lt_version=1, image=ami)
    s.finish()
    return hosts


def multi_config(demo, tmp_path):
    from fleettui.config import load_config

    lt_id = demo.client("ec2").describe_launch_templates(LaunchTemplateNames=["multi-lt"])["LaunchTemplates"][0][
        "LaunchTemplateId"]
    path = tmp_path / "multi.toml"
    path.write_text(demo.config_path.read_text(encoding="utf-8") + "\n"
                    + service_toml("multi", ["us-east-1", "eu-west-1"], lt_id), encoding="utf-8")
    return load_config(path)


def test_template_by_id_is_resolved_per_region_by_name(demo, tmp_path):
    hosts = seed_multi(demo)
    cfg = multi_config(demo, tmp_path)
    every = tuple(hosts["us-east-1"] + hosts["eu-west-1"])

    async def body(a):
        snap = await a.snapshot(["multi"])
        plan = await a.plan(Replace("multi", hosts=every), snap)
        assert plan.refusal is None, plan.refusal
        return snap, plan, await a.execute(plan, "multi-region")

    snap, plan, outcome = demo.act(body, config=cfg)
    svc = snap.service("multi")
    assert not svc.warnings and not [f for i in svc.instances for f in i.findings]   # no false drift in eu-west-1
    launches = {s.region: s.params["launch_template"] for s in plan.steps if s.kind == "launch"}
    assert launches == {"us-east-1": "multi-lt", "eu-west-1": "multi-lt"}
    assert outcome.ok, outcome.error
    for region in ("us-east-1", "eu-west-1"):
        new = launched_by(demo, plan.id, region)
        assert len(new) == 2 and all(tags(i)["aws:ec2launchtemplate:version"] == "1" for i in new)
        assert all(tags(i)["Owner"] == "team-multi" for i in new)


def test_region_without_the_template_refuses_at_plan_time(demo, tmp_path):
    hosts = seed_multi(demo)
    cfg = multi_config(demo, tmp_path)
    demo.client("ec2", "eu-west-1").delete_launch_template(LaunchTemplateName="multi-lt")
    every = tuple(hosts["us-east-1"] + hosts["eu-west-1"])

    async def body(a):
        with pytest.raises(PlanError, match=r"launch template lt-\w+ not found in eu-west-1"):
            await a.plan(Replace("multi", hosts=every))
        return dict(a.gw.sent)

    sent = demo.act(body, config=cfg)
    assert all(op.split(".")[1].startswith(("Describe", "Get", "List")) for op in sent), sent
    assert {i["InstanceId"] for i in instances(demo, "eu-west-1", Service="multi")} == set(hosts["eu-west-1"])


# -- --region ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("region, says", [
    ("mars-1", '--region "mars-1" is not a region name'),
    ("eu-central-1", "--region eu-central-1: not in "),
])
def test_region_flag_typo_is_one_line_exit_2_and_no_request(demo, tmp_path, region, says, capsys):
    from fleettui.cli import main

    with FaultProxy(demo.endpoint_url) as proxy:
        cfg = write_config(demo, proxy.url, tmp_path / "proxied.toml")
        for args in (["status"], ["rollback", "web", "--dry-run"]):
            code = main([*args, "--config", str(cfg), "--region", region])
            out, err = capsys.readouterr()
            assert code == 2, (out, err)
            assert says in err and "(allowed: us-east-1, eu-west-1" in err and len(err.strip().splitlines()) == 1, err
        assert proxy.total() == 0, proxy.stats()
