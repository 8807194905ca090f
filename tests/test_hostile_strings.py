"""Strings from AWS and from the operator are text: never Rich/Textual markup, never terminal control.

Hostile values go where each can really come from: an image's Version tag (and its target group's
``fleettui:version`` tag) on the emulated AWS carries ``[/]``, ``[red]`` and ``[link=…]`` (moto's XML cannot carry
an ESC), the operator's ``--reason`` carries markup, ESC and other C0/C1 characters (it is stored only in our
journal), and a Snapshot built without AWS (tests/test_ui_snapshots.py) carries ESC in a version and in tags.
Each screen and command must show the literal text, escape the control characters, and not crash.

Also the CLI output contract for scripts (issue 10 item 7): piped output never shortens an id, a narrow
terminal wraps instead of cutting an id, `audit PLAN_ID` shows what each step did, and the typed confirmation is
a phrase an operator understands.
"""
from __future__ import annotations

import io
import json
import re

from faults import instances, journal_events, listener_weights
from fleettui.cli import main
from fleettui.cli.common import CliConsole
from fleettui.format import printable

HOSTILE = "1.6.0[/][red]x[link=https://evil.invalid]y"
REASON = "errors on [/api/v1] [bold]\x1b[31mred\x07\x00 \x1b]8;;https://evil.invalid\x1b\\click\x9b2J"
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")     # anything but the newline


def assert_plain(text: str) -> None:
    assert not CONTROL.search(text), repr(CONTROL.search(text).group())
    assert "internal error" not in text and "Traceback" not in text and "MarkupError" not in text, text


def make_hostile(demo) -> None:
    """web's 1.6.0 image (and its target group) now say the version is HOSTILE, as a careless bake would."""
    ec2, elb = demo.client("ec2"), demo.client("elbv2")
    ami = next(i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]
               if {"Key": "Version", "Value": "1.6.0"} in i.get("Tags", ()))
    ec2.create_tags(Resources=[ami], Tags=[{"Key": "Version", "Value": HOSTILE}])
    tg = next(g["TargetGroupArn"] for g in elb.describe_target_groups()["TargetGroups"]
              if g["TargetGroupName"] == "web-1-6-0")
    elb.add_tags(ResourceArns=[tg], Tags=[{"Key": "fleettui:version", "Value": HOSTILE}])


# ------------------------------------------------------------------------------------------------ the helper
def test_printable_escapes_control_characters_and_keeps_everything_else():
    assert printable("a\x1b[31mb\x07c\x00\x7f\x9b\td\ne\u202e") == "a\\x1b[31mb\\x07c\\x00\\x7f\\x9b\\td\\ne\\u202e"
    kept = "1.6.0[/] [red]x[link=https://e]y/é✓→ —"
    assert printable(kept) == kept
    assert printable(None) == "None"


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_status_and_every_plan_show_a_hostile_version_literally(demo, capsys):
    make_hostile(demo)
    cfg = ["--config", str(demo.config_path)]
    cases = [(["status"], True), (["plan", "rollback", "web"], True), (["plan", "shift", "web", "--to", HOSTILE,
                                                                        "--weight", "50"], True),
             (["plan", "decommission", "web", HOSTILE], True),   # refused (it takes traffic), plan still shown
             (["plan", "replace", "web", "--drifted"], False), (["plan", "launch", "web"], False)]
    for args, shows_it in cases:
        capsys.readouterr()
        code = main([*args, *cfg])
        out, err = capsys.readouterr()
        assert code in (0, 2), (args, code, out, err)
        assert_plain(out + err)
        if shows_it:
            assert HOSTILE in out, (args, out)
    # nothing was changed by any of it
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 90, "web-1-6-0": 10}


def test_cli_hostile_reason_in_audit_and_audit_id(demo, capsys, isolated_home):
    make_hostile(demo)
    assert main(["rollback", "web", "--config", str(demo.config_path), "--yes", "--reason", REASON]) == 0
    created = next(e for e in journal_events(isolated_home) if e["event"] == "plan_created")
    assert created["reason"] == REASON                      # the journal keeps what the operator typed
    pid = created["plan_id"]
    capsys.readouterr()
    cfg = ["--config", str(demo.config_path)]        # the journal of this endpoint (each endpoint has its own)
    assert main(["audit", *cfg]) == 0
    out, err = capsys.readouterr()
    assert_plain(out + err)
    assert printable(REASON) in out and pid in out
    assert main(["audit", pid, *cfg]) == 0
    out, err = capsys.readouterr()
    assert_plain(out + err)
    assert printable(REASON) in out and HOSTILE in out
    assert main(["audit", pid, "--json", *cfg]) == 0               # JSON keeps the exact value
    assert json.loads(capsys.readouterr().out)[0]["reason"] == REASON


def test_cli_renderers_on_a_terminal_emit_no_markup_link_or_control():
    """On a terminal Rich writes styles; data must still not become a style, a hyperlink or a control sequence."""
    from fleettui.cli.verbs import render_plan
    from fleettui.domain.plan import Plan, Step

    step = Step("s1", "set_weights", "us-east-1", f"set weights: {HOSTILE} 10→0%\x1b[2J")
    plan = Plan(id="p-20261130-000000-abcdef", verb="rollback", service="web", summary=f"roll back {HOSTILE}",
                steps=(step,), weights_before={HOSTILE: 10}, weights_after={HOSTILE: 0},
                warnings=(f"[bold]{HOSTILE}\x07",), refusal=f"[/] refused \x1b]8;;x\x1b\\")
    console = CliConsole(file=io.StringIO(), force_terminal=True, width=100, color_system="truecolor")
    render_plan(plan, console)
    written = console.file.getvalue()
    assert "\x1b]8;" not in written                          # no hyperlink
    plain = re.sub(r"\x1b\[[0-9;]*m", "", written)           # the styles Rich itself wrote
    assert_plain(plain)
    assert HOSTILE in plain and "\\x1b[2J" in plain and "[/] refused \\x1b]8;;x\\x1b\\" in plain


def test_cli_failure_report_escapes_the_aws_error(monkeypatch):
    from fleettui.actions.executor import Outcome
    from fleettui.cli import verbs
    from fleettui.domain.plan import Plan, Step

    console = CliConsole(file=io.StringIO())
    monkeypatch.setattr(verbs, "out", console)
    step = Step("s1", "terminate", "us-east-1", "terminate 1 hosts")
    plan = Plan(id="p-1", verb="replace", service="web", summary="s", steps=(step,))
    assert verbs.report(Outcome(plan, "failed", step, "AccessDenied: [/] \x1b[31mno\x07"), False) == 1
    text = console.file.getvalue()
    assert_plain(text)
    assert "AccessDenied: [/] \\x1b[31mno\\x07" in text


def test_cli_error_line_escapes_what_the_operator_typed(capsys):
    assert main(["audit", "p-\x1b[2J\x07[/]"]) == 2
    err = capsys.readouterr().err
    assert_plain(err)
    assert "no plan p-\\x1b[2J\\x07[/] in the journal" in err and len(err.splitlines()) == 1


# ------------------------------------------------------------------------------------------------ output for scripts
ELLIPSIS = "…"


def test_piped_output_prints_whole_rows_whatever_columns_says(demo, capsys, monkeypatch, isolated_home):
    monkeypatch.setenv("COLUMNS", "60")
    cfg = ["--config", str(demo.config_path)]
    assert main(["rollback", "web", *cfg, "--yes", "--reason", "INC-1234 " + "very long reason " * 8]) == 0
    pid = next(e for e in journal_events(isolated_home)
               if e["event"] == "plan_created")["plan_id"]
    for args in (["status", *cfg], ["plan", "replace", "web", "--drifted", *cfg], ["audit", *cfg], ["audit", pid, *cfg]):
        capsys.readouterr()
        assert main(args) == 0, args
        out = capsys.readouterr().out
        assert ELLIPSIS not in out, (args, out)
        if args[0] == "audit":
            line = next(ln for ln in out.splitlines() if pid in ln)
            assert "very long reason " * 8 in line or args[1] == pid    # one row: no wrapping inside a cell
    # every id of the replace plan is on the line of its step
    capsys.readouterr()
    main(["plan", "replace", "web", "--drifted", *cfg])
    out = capsys.readouterr().out
    web_ids = {i["InstanceId"] for i in instances(demo, Service="web")}
    shown = set(re.findall(r"\bi-[0-9a-f]{17}\b", out))      # not the tail of an ami-… (the plan shows images)
    assert shown and shown <= web_ids


def test_narrow_terminal_wraps_instead_of_cutting_ids(demo, capsys, monkeypatch, isolated_home):
    from fleettui.cli import journal, status, verbs

    console = CliConsole(file=io.StringIO(), force_terminal=True, width=60, color_system=None)
    for module in (journal, status, verbs):
        monkeypatch.setattr(module, "out", console)
    cfg = ["--config", str(demo.config_path)]
    assert main(["rollback", "web", *cfg, "--yes", "--reason", "pager"]) == 0
    pid = next(e for e in journal_events(isolated_home)
               if e["event"] == "plan_created")["plan_id"]
    assert main(["audit", *cfg]) == 0 and main(["audit", pid, *cfg]) == 0 and main(["status", *cfg]) == 0
    text = console.file.getvalue()
    assert pid in text
    for version in ("1.4.0", "1.5.0", "1.6.0", "2.2.0", "2.3.0", "3.1.0"):
        assert re.search(rf"(?m)^{re.escape(version)} ", text), version
    assert "ami-" in text and not re.search(r"ami-[0-9a-f]{0,16}" + ELLIPSIS, text)


def test_audit_id_shows_each_steps_text_region_and_the_instances_it_touched(demo, capsys, isolated_home):
    cfg = ["--config", str(demo.config_path)]
    assert main(["decommission", "api", "2.2.0", *cfg, "--yes", "--region", "eu-west-1"]) == 0
    events = journal_events(isolated_home)
    created = next(e for e in events if e["event"] == "plan_created")
    terminated = {i["InstanceId"] for i in instances(demo, "eu-west-1", states=("shutting-down", "terminated"),
                                                     Service="api")}
    assert len(terminated) == 8
    capsys.readouterr()
    assert main(["audit", created["plan_id"], *cfg]) == 0
    out = capsys.readouterr().out
    for st in created["plan"]["steps"]:
        row = next(ln for ln in out.splitlines() if ln.startswith(st["id"] + " "))
        assert st["region"] in row and st["description"] in row and "done" in row, row
    touched = {e["step"]: e["detail"] for e in events if e["event"] == "step_succeeded" and e.get("detail")}
    term_step = next(s["id"] for s in created["plan"]["steps"] if s["kind"] in ("terminate", "asg_terminate"))
    assert set(touched[term_step]["terminated"]) == terminated
    row = next(ln for ln in out.splitlines() if ln.startswith(term_step + " "))
    assert set(re.findall(r"i-[0-9a-f]{17}", row)) == terminated


# ------------------------------------------------------------------------------------------------ confirmations
def test_typed_confirmation_names_service_and_generation(monkeypatch):
    from test_ui_snapshots import sample_config, sample_snapshot

    from fleettui.actions import guardrails
    from fleettui.actions.verbs.decommission import plan_decommission
    from fleettui.actions.verbs.shift import plan_shift
    from fleettui.cli import verbs

    snap, cfg = sample_snapshot(), sample_config().service("web")
    decom = guardrails.check(plan_decommission(snap, cfg, "1.4.0"), snap, cfg, read_only=False)
    assert decom.confirm_phrase == "web 1.4.0"
    # 1.6.0 has 2 healthy hosts of 3: half the traffic on it drops healthy capacity
    shift = guardrails.check(plan_shift(snap, cfg, {"1.5.0": 50, "1.6.0": 50}), snap, cfg, read_only=False)
    assert shift.capacity_min < 100 and shift.confirm_phrase == "web 1.6.0"
    assert "healthy capacity" in shift.confirm_reason and f"{shift.capacity_min}%" in shift.confirm_reason

    console = CliConsole(file=io.StringIO())
    monkeypatch.setattr(verbs, "out", console)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["web 1.4.0", "1.4.0"])
    monkeypatch.setattr("builtins.input", lambda *_: next(answers))
    assert verbs.confirm(decom, yes=False) is True
    assert verbs.confirm(decom, yes=False) is False          # the version alone is not the phrase
    asked = console.file.getvalue()
    assert "Type web 1.4.0 to confirm" in asked and "destroys generation 1.4.0 of web" in asked
    assert "terminates 15 host(s)" in asked


# ------------------------------------------------------------------------------------------------ TUI
def _strip_texts(widget) -> str:
    from textual.geometry import Region

    strips = widget.render_lines(Region(0, 0, widget.outer_size.width, widget.outer_size.height))
    return "\n".join(s.text for s in strips)


def _screen_text(app) -> str:
    """Every line of every visible widget of the screen in front, as painted."""
    return "\n".join(_strip_texts(w) for w in app.screen.query("*") if w.display and w.outer_size.area)


def test_tui_hostile_version_main_rollback_weights_detail_and_audit(demo, demo_ctx):
    from test_ui import SIZE, fast_actions, loaded, screen_with_id, section_lines, squash, until

    from fleettui.ui.app import make_app
    from fleettui.ui.data.view import Entry, Section
    from fleettui.ui.screens.detail import HostDetailScreen

    make_hostile(demo)
    assert main(["rollback", "api", "--config", str(demo.config_path), "--yes", "--reason", REASON]) == 0

    async def go():
        app = make_app(demo_ctx, auto_refresh=False, actions_factory=fast_actions(demo_ctx))
        async with app.run_test(size=SIZE) as pilot:
            await loaded(app, pilot)
            assert any(HOSTILE in line for line in section_lines(app))
            main_text = _screen_text(app)
            assert_plain(main_text)
            # B: the rollback plan names the hostile generation literally
            await pilot.press("B")
            dialog = await screen_with_id(app, pilot, "confirm")
            body = _screen_text(app)
            assert_plain(body)
            assert HOSTILE in squash(body)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.main)
            # W: the weights dialog, then its plan
            table = app.main.table
            table.cursor = next(i for i, r in enumerate(table.rows)
                                if isinstance(r, Section) and r.gen.version == HOSTILE)
            await pilot.press("W")
            weights = await screen_with_id(app, pilot, "weights")
            assert HOSTILE in _screen_text(app) and weights.version == HOSTILE
            await pilot.press("plus", "enter")
            dialog = await screen_with_id(app, pilot, "confirm")
            body = _screen_text(app)
            assert_plain(body)
            assert HOSTILE in squash(body)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.main)
            # host detail of a host of that generation
            table.cursor = next(i for i, r in enumerate(table.rows) if isinstance(r, Entry) and r.gen.version == HOSTILE)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, HostDetailScreen))
            await pilot.pause()
            detail = _screen_text(app)
            assert HOSTILE in detail
            assert_plain(detail)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.main)
            # :audit shows the reason as the operator typed it, control characters escaped
            await pilot.press("colon", *"audit", "enter")
            await screen_with_id(app, pilot, "audit")
            await pilot.pause()
            audit = _screen_text(app)
            assert_plain(audit)
            assert squash(printable(REASON)) in squash(audit)
        assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 90, "web-1-6-0": 10}

    import asyncio
    asyncio.run(go())


def _hostile_snapshot():
    """The sample fleet, with ESC/C0 and markup in web 1.6.0's Version tag and in a host's tags (no AWS)."""
    from test_ui_snapshots import ACCOUNT, NOW, sample_raw

    from fleettui.domain.build import build_snapshot

    raw = sample_raw()
    web = raw[0]
    for img in web.images.values():
        for tag in img["Tags"]:
            if tag["Value"] == "1.6.0":
                tag["Value"] = "1.6.0\x1b[31m[/]\x07"
    for tg in web.target_groups.values():
        if tg["tags"].get("fleettui:version") == "1.6.0":
            tg["tags"]["fleettui:version"] = "1.6.0\x1b[31m[/]\x07"
    host = web.instances[0]
    host["Tags"] += [{"Key": "[bold]evil\x1b[2J", "Value": "[link=https://evil.invalid]x\x1b]8;;y\x1b\\\x00"}]
    return host["InstanceId"], build_snapshot(raw, now=NOW, regions=("us-east-1", "eu-west-1"), profile="staging", account=ACCOUNT,
                          caller_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/operator/jane")


def test_tui_escapes_control_characters_from_versions_and_tags():
    from test_ui import squash, until
    from test_ui_snapshots import _loaded, sample_app, sample_config

    from fleettui.actions import guardrails
    from fleettui.actions.verbs.shift import plan_shift
    from fleettui.ui.dialogs.confirm import ConfirmPlanDialog
    from fleettui.ui.screens.detail import HostDetailScreen

    host_id, snap = _hostile_snapshot()
    version = "1.6.0\x1b[31m[/]\x07"
    assert snap.service("web").generation(version) is not None

    async def go():
        app = sample_app(snapshot=snap)
        async with app.run_test(size=(160, 45)) as pilot:
            await _loaded(pilot)
            text = _screen_text(app)
            assert_plain(text)
            assert printable(version) in text
            # the host with the hostile tags
            web = snap.service("web")
            gen = next(g for g in web.generations if any(i.id == host_id for i in g.instances))
            host = next(i for i in gen.instances if i.id == host_id)
            app.push_screen(HostDetailScreen(host, gen, web))
            await until(pilot, lambda: isinstance(app.screen, HostDetailScreen))
            await pilot.pause()
            detail = _screen_text(app)
            assert_plain(detail)
            assert squash("[bold]evil\\x1b[2J") in squash(detail)
            assert squash("[link=https://evil.invalid]x\\x1b]8;;y\\x1b\\\\x00") in squash(detail)
            app.pop_screen()
            # a plan on the hostile generation in the confirm dialog
            cfg = sample_config().service("web")
            plan = guardrails.check(plan_shift(snap, cfg, {"1.5.0": 85, version: 15}), snap, cfg, read_only=False)
            assert plan.runnable and plan.capacity_min < 100, plan.refusal
            app.push_screen(ConfirmPlanDialog(plan))
            await until(pilot, lambda: app.screen.id == "confirm")
            await pilot.pause()
            body = _screen_text(app)
            assert_plain(body)
            assert squash(printable(version)) in squash(body)
            assert f"Type web {printable(version)} to confirm" in body

    import asyncio
    asyncio.run(go())
