"""Onboarding: `fleettui init` (discover the services of an account, read-only, and write their config) and
`fleettui doctor` (check a config against the account, one line per thing to fix)."""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from rich.text import Text

from fleettui.cli.common import UsageError, err, open_context, out
from fleettui.errors import AwsError, ConfigError
from fleettui.format import printable


def add_parsers(add) -> None:
    init = add("init", "discover the services of an AWS account (read-only) and write their config")
    init.add_argument("--endpoint-url", dest="endpoint_url", metavar="URL",
                      help="send every AWS call to this endpoint, like the AWS CLI's (e.g. `fleettui demo serve`'s); "
                           "written to the config")
    init.add_argument("--write", metavar="PATH",
                      help="where to write the config (default: config.toml in the user config dir, see --help)")
    init.add_argument("--yes", "-y", action="store_true",
                      help="accept every proposed service without asking (for scripts; with --write PATH)")
    init.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    init.add_argument("--json", action="store_true",
                      help="print the proposal as JSON (services, what could not be read, the fleet each would see, "
                           "the config text); writes only with --write")
    init.set_defaults(handler=cmd_init)

    doctor = add("doctor", "check the config against the account: one line per thing to fix")
    doctor.add_argument("--json", action="store_true", help="the problems as JSON")
    doctor.add_argument("--service", action="append", metavar="NAME", help="only this service (repeatable)")
    doctor.set_defaults(handler=cmd_doctor)


# ------------------------------------------------------------------------------------------------------ init

def _is_loopback(url: str | None) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(url or "").hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _aws_for_init(args):
    """The AWS to read, from the command line: --profile, --region…, --endpoint-url (validated like the config's)."""
    from fleettui.config import AwsConfig
    from fleettui.config.checks import _REGION_RE, _REGIONS, _endpoint, _Invalid, _show

    if args.demo:
        raise UsageError("init --demo: the embedded demo AWS ends with this command; run `fleettui demo serve` and "
                         "`fleettui init --endpoint-url URL` against it")
    if args.config:
        raise UsageError("init writes a config: name it with --write PATH (--config names the config other commands "
                         "read)")
    for r in args.regions or ():
        if not _REGION_RE.match(r):
            raise ConfigError(f"--region {_show(r)} is not a region name (allowed: {_REGIONS})")
    if args.endpoint_url is not None:
        try:
            _endpoint(args.endpoint_url)
        except _Invalid as e:
            raise ConfigError(f"--endpoint-url: {e}") from None
    profile = args.profile or os.environ.get("AWS_PROFILE") or None
    return AwsConfig(profile=profile, regions=tuple(dict.fromkeys(args.regions or ())), endpoint_url=args.endpoint_url)


def _written_profile(args) -> str | None:
    """The profile the config names: the one given with --profile (else, as without a config, $AWS_PROFILE or the
    SDK's default chain at run time)."""
    return args.profile


def _home_region(aws) -> str:
    """Where to ask account-wide questions (regions, identity): the first --region, else the environment's or the
    profile's region, else us-east-1."""
    if aws.regions:
        return aws.regions[0]
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(var):
            return os.environ[var]
    if aws.profile and not _is_loopback(aws.endpoint_url):
        import botocore.session
        from botocore.exceptions import ProfileNotFound

        try:
            region = botocore.session.Session(profile=aws.profile).get_config_variable("region")
        except ProfileNotFound as e:
            raise ConfigError(f"--profile {aws.profile!r}: {e}") from None
        if region:
            return region
    return "us-east-1"


def _config_of(proposal, services, aws, profile: str | None, text_only: bool = False):
    """(the config text for ``services``, the validated Config) — what would be written, read back as fleettui reads
    it."""
    import tomllib

    from fleettui.config import parse_config
    from fleettui.domain.proposal_toml import config_text

    text = config_text(proposal, services, profile=profile, endpoint_url=aws.endpoint_url,
                       written_on=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                       emulator=_is_loopback(aws.endpoint_url))
    if text_only or not any(s.enabled for s in services):
        return text, None
    return text, parse_config(tomllib.loads(text), None)


async def _preview(gw, config, names: list[str] | None = None):
    """The fleet each service would see: what `fleettui status` reads with that config (without CloudWatch)."""
    from fleettui.aws.inventory import fetch_snapshot

    return await fetch_snapshot(gw, config, services=names)


def _run(aws, body):
    import asyncio

    from fleettui.aws.gateway import Gateway

    async def go():
        async with Gateway(aws, read_only=True) as gw:     # init never changes anything
            return await body(gw)

    return asyncio.run(go())


def cmd_init(args) -> int:
    from fleettui.aws.discovery import scan_account
    from fleettui.domain.discovery import propose

    aws = _aws_for_init(args)
    interactive = not (args.yes or args.json)
    if interactive and not sys.stdin.isatty():
        raise UsageError("init: stdin is not a terminal: pass --yes --write PATH to accept every proposed service, "
                         "or --json to print the proposal")
    # where it goes, and whether it may: asked before anything is read (not after the operator chose services)
    path = _destination(args, interactive) if (args.write or not args.json) else None
    home = _home_region(aws)
    console = err if args.json else out
    if not args.json:
        where = ", ".join(aws.regions) if aws.regions else "every enabled region"
        console.print(Text(f"reading {printable(aws.endpoint_url or 'AWS')} ({printable(where)}), read-only…",
                           style="dim"))

    async def discover(gw):
        scan = await scan_account(gw, list(aws.regions) or None, home)
        proposal = propose(scan)
        enabled = [s for s in proposal.services if s.enabled]
        snap = None
        if enabled:
            _, config = _config_of(proposal, enabled, aws, _written_profile(args))
            snap = await _preview(gw, config)
        return proposal, snap

    proposal, snap = _run(aws, discover)
    scan = proposal.scan
    failed = [u for u in scan.unreadable if u.what == "ec2:DescribeInstances"]
    if len(failed) == len(scan.regions):       # not one region could be read: no account to speak of
        raise AwsError(f"could not read the account: {failed[0].error}")
    _print_unreadable(scan)
    for e in snap.errors if snap is not None else ():
        err.print(Text(f"preview: {printable(str(e))}", style="yellow"), soft_wrap=True)
    if args.json:
        return _init_json(args, aws, proposal, snap, path)
    if not proposal.services:
        _say_nothing(proposal)
        return 1
    if interactive:
        accepted = _interactive(proposal, snap, aws, _written_profile(args))
    else:
        _show_all(proposal, snap)
        accepted = [s for s in proposal.services if s.enabled]
        for s in proposal.services:
            if not s.enabled:
                console.print(Text(f"{printable(s.name)}: written commented out ({printable(s.why_no_selector)})",
                                   style="yellow"))
    if not any(s.enabled for s in accepted):
        out.print(Text("no service accepted: nothing written", style="yellow"))
        return 1
    return _write(args, aws, proposal, accepted, interactive, path)


def _print_unreadable(scan) -> None:
    """One line per read that failed, with the regions it failed in (in the order they were asked for)."""
    order = {r: i for i, r in enumerate(scan.regions)}
    by_what: dict[str, list] = {}
    for u in sorted(scan.unreadable, key=lambda u: order.get(u.region or "", -1)):
        by_what.setdefault(u.what, []).append(u)
    for what, items in by_what.items():
        regions = list(dict.fromkeys(u.region for u in items if u.region))
        where = f" in {', '.join(regions)}" if regions else ""
        err.print(Text(f"could not read {printable(what)}{printable(where)}: {printable(items[0].error)}",
                       style="yellow"), soft_wrap=True)


def _say_nothing(proposal) -> None:
    scan = proposal.scan
    hosts = len(proposal.hosts)
    text = (f"no fleet found in {', '.join(scan.regions)}" + (f" ({hosts} hosts read)" if hosts else " (no host)")
            + ": nothing to manage; nothing written")
    out.print(Text(printable(text)))
    for what in proposal.left_out:
        out.print(Text(f"  not proposed: {printable(what)}", style="dim"))


def _service_dict(svc) -> dict:
    return {"name": svc.name, "enabled": svc.enabled, "kind": svc.kind, "regions": list(svc.regions),
            "selector": svc.selector, "version_tag": svc.version_tag,
            "version_source": f"image tag {svc.version_tag}" if svc.version_tag else "AMI name",
            "launch_template": svc.launch_template, "listener_arn": svc.listener_arn,
            "generation_tag": svc.generation_tag, "target_group_prefix": svc.target_group_prefix,
            "required_tags": list(svc.required_tags),
            "instance_roles": None if svc.instance_roles is None else list(svc.instance_roles),
            "hosts": [{"region": r, "id": i} for r, i in svc.hosts], "versions": list(svc.versions),
            "origin": svc.origin, "notes": svc.notes,
            "undecided": [{"key": c.key, "value": c.value, "why": c.why} for c in svc.comments]}


def _init_json(args, aws, proposal, snap, path: Path | None) -> int:
    from fleettui.domain.export import snapshot_to_dict

    enabled = [s for s in proposal.services if s.enabled]
    text, _ = _config_of(proposal, proposal.services, aws, _written_profile(args), text_only=True)
    doc = {"account": proposal.scan.account, "caller_arn": proposal.scan.caller_arn,
           "regions": list(proposal.scan.regions), "endpoint_url": aws.endpoint_url,
           "services": [_service_dict(s) for s in proposal.services], "left_out": proposal.left_out,
           "unreadable": [{"region": u.region, "what": u.what, "error": u.error} for u in proposal.scan.unreadable],
           "status": snapshot_to_dict(snap) if snap is not None else None, "config": text, "written": None}
    code = 0 if enabled else 1
    if path is not None and enabled:
        _write_file(path, text)
        doc["written"] = str(path)
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return code


def _summary(svc) -> list[Text]:
    """The proposal of one service, as the operator checks it."""
    def row(label: str, value: str, style: str = "") -> Text:
        return Text.assemble(("  " + label.ljust(16), "dim"), (printable(value), style))

    hosts = len(svc.hosts)
    lines = [Text.assemble((printable(svc.name), "bold"),
                           f"  {svc.kind} · {printable(', '.join(svc.regions))} · {hosts} host{'s' if hosts != 1 else ''}"
                           f" · {printable(svc.origin)}")]
    if svc.selector is not None:
        lines.append(row("selector", ", ".join(f"{k} = {v}" for k, v in svc.selector.items())))
    lines.append(row("versions", f"image tag {svc.version_tag}" if svc.version_tag else "AMI names"))
    if svc.generation_tag:
        lines.append(row("generation tag", svc.generation_tag))
    if svc.launch_template:
        lines.append(row("launch template", svc.launch_template))
    if svc.listener_arn:
        lines.append(row("listener", svc.listener_arn))
    if svc.required_tags:
        lines.append(row("required tags", ", ".join(svc.required_tags)))
    if svc.instance_roles is not None:
        lines.append(row("instance roles", ", ".join(svc.instance_roles) or "none"))
    for c in svc.comments:
        lines.append(Text.assemble(("  ? " + printable(c.key) + ": ", "yellow"), (printable(c.why), "yellow")))
    for n in svc.notes:
        lines.append(Text(f"  note: {printable(n)}", style="dim"))
    return lines


def _show_service(svc, snap, console=None) -> None:
    from fleettui.report import service_table

    console = console or out
    for line in _summary(svc):
        console.print(line)
    shown = snap.service(svc.name) if snap is not None and svc.enabled else None
    if shown is None:
        console.print(Text("  (not previewed: no selector)" if not svc.enabled else "  (not previewed)", style="dim"))
    else:
        console.print(service_table(shown, console.width), crop=False)
        for w in shown.warnings:
            console.print(Text(f"  ! {printable(w)}", style="yellow"))
    console.print()


def _show_all(proposal, snap) -> None:
    for svc in proposal.services:
        _show_service(svc, snap)
    for what in proposal.left_out:
        out.print(Text(f"not proposed: {printable(what)}", style="dim"), soft_wrap=True)


def _parse_selector(text: str) -> dict[str, str] | None:
    pairs = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip().strip('"')
        if not eq or not key or not value:
            return None
        pairs[key] = value
    return pairs or None


def _interactive(proposal, snap, aws, profile: str | None) -> list:
    """Per service: accept, rename, edit its selector (then see its fleet again), or skip."""
    from dataclasses import replace

    from fleettui.domain.discovery import NAME_RE

    accepted = []
    services = proposal.services
    total = len(services)
    for n, svc in enumerate(services, 1):
        out.print(Text(f"— {n}/{total} " + "—" * 40, style="dim"))
        _show_service(svc, snap)
        while True:
            choices = "[a]ccept, [r]ename, [e]dit selector, [s]kip" if svc.enabled else "[e]dit selector, [s]kip"
            default = "a" if svc.enabled else "s"
            answer = out.input(f"{svc.name}: {choices}? ({default}) ").strip().lower() or default
            if answer in ("a", "accept") and svc.enabled:
                accepted.append(svc)
                break
            if answer in ("s", "skip"):
                out.print(Text(f"skipped {printable(svc.name)}", style="dim"))
                break
            if answer in ("r", "rename") and svc.enabled:
                name = out.input("new name: ").strip()
                taken = {s.name for s in services if s is not svc}
                if not NAME_RE.match(name):
                    out.print(Text(f"{printable(name)} is not a service name (allowed: lowercase letters, digits, "
                                   '"-" and "_", starting with a letter or digit)', style="red"))
                elif name in taken:
                    out.print(Text(f"{printable(name)} is taken by another service", style="red"))
                else:
                    old, svc.name = svc.name, name
                    out.print(Text(f"renamed {printable(old)} to {printable(name)}"))
                    if svc.owned_by and svc.owned_by != name:
                        out.print(Text(f"  ! its target groups carry fleettui:service = {printable(svc.owned_by)}: "
                                       f"named {printable(name)}, fleettui does not count them as its own (retag "
                                       "them, or keep the name):", style="yellow"))
                        snap = _repreview(proposal, svc, snap, aws, profile, old)
                        _show_service(svc, snap)
                continue
            if answer in ("e", "edit"):
                current = ", ".join(f"{k}={v}" for k, v in (svc.selector or {}).items())
                text = out.input(f"selector (Key=value, …){' [' + current + ']' if current else ''}: ").strip()
                selector = _parse_selector(text) if text else svc.selector
                if selector is None:
                    out.print(Text("a selector is Key=value pairs separated by commas, e.g. Service=web, Env=prod",
                                   style="red"))
                    continue
                for problem in proposal.selector_problems(svc, selector):
                    out.print(Text(f"  ! {printable(problem)}", style="yellow"))
                svc.selector = selector
                snap = _repreview(proposal, svc, snap, aws, profile)
                _show_service(svc, snap)
                continue
            out.print(Text(f"{printable(answer)}: not one of the choices", style="red"))
    return accepted


def _repreview(proposal, svc, snap, aws, profile: str | None, old_name: str | None = None):
    """The fleet ``svc`` sees now (after its selector or name changed), swapped into the preview."""
    from dataclasses import replace

    _, config = _config_of(proposal, [svc], aws, profile)
    fresh = _run(aws, lambda gw: _preview(gw, config))
    mine = fresh.service(svc.name)
    if snap is None:
        return fresh
    others = tuple(s for s in snap.services if s.name not in (svc.name, old_name))
    return replace(snap, services=others + ((mine,) if mine is not None else ()))


def _destination(args, interactive: bool) -> Path:
    from fleettui import paths

    path = Path(args.write).expanduser() if args.write else paths.config_dir() / "config.toml"
    if path.is_dir():
        raise ConfigError(f"--write {path}: is a directory (allowed: a file path)")
    if path.exists() and not args.force:
        if not interactive:
            raise ConfigError(f"{path} exists: pass --force to overwrite it, or --write another path")
        answer = out.input(f"{path} exists: overwrite it with what you accept next? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise ConfigError(f"{path} exists and was kept: nothing read, nothing written (--write another path)")
    return path


def _write_file(path: Path, text: str) -> None:
    """Whole or not at all: a temporary file beside it, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write ({e.strerror or e})") from None


def _write(args, aws, proposal, accepted, interactive: bool, path: Path) -> int:
    from fleettui import paths
    from fleettui.config import load_config

    enabled = [s for s in accepted if s.enabled]
    if interactive:
        names = ", ".join(s.name for s in enabled)
        answer = out.input(f"write {len(enabled)} service{'s' if len(enabled) != 1 else ''} ({names}) to {path}? "
                           "[Y/n] ").strip().lower()
        if answer not in ("", "y", "yes"):
            out.print("nothing written")
            return 1
    text, _ = _config_of(proposal, accepted, aws, _written_profile(args))
    _write_file(path, text)
    load_config(path)          # what was written is what fleettui reads (parsed above already: a bug otherwise)
    default = path.resolve() == (paths.config_dir() / "config.toml").resolve()
    flag = "" if default else f" --config {path}"
    out.print(Text.assemble("wrote ", (str(path), "bold"), f": {len(enabled)} service{'s' if len(enabled) != 1 else ''}"
                            f" ({printable(', '.join(s.name for s in enabled))}), read-only to start"))
    out.print(Text(f"next: `fleettui{flag} doctor` checks it against the account; `fleettui{flag}` opens the dashboard"))
    return 0


# ---------------------------------------------------------------------------------------------------- doctor

def cmd_doctor(args) -> int:
    import asyncio

    from fleettui.aws.doctor import check

    ctx = open_context(args, progress=None if args.json else err.print)
    try:
        for name in args.service or ():
            ctx.config.service(name)            # unknown service: ConfigError (exit 2)

        async def run():
            async with ctx.gateway() as gw:
                return await check(gw, ctx.config, services=args.service, gateway=ctx.gateway)

        report = asyncio.run(run())
    finally:
        ctx.close()
    if args.json:
        json.dump({"config": str(ctx.config.path), "account": report.account,
                   "services": list(report.services), "ok": not report.problems,
                   "problems": [{"service": p.service, "check": p.check, "message": p.message}
                                for p in report.problems],
                   "info": report.info}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 1 if report.problems else 0
    for p in report.problems:
        out.print(Text.assemble((f"{printable(p.service)}: " if p.service else "", "bold"), printable(p.message)))
    for line in report.info:
        out.print(Text(printable(line), style="dim"))
    n = len(report.services)
    where = f"{n} service{'s' if n != 1 else ''} checked against account {report.account or '?'}"
    if report.problems:
        out.print(Text(f"{len(report.problems)} thing{'s' if len(report.problems) != 1 else ''} to fix ({where})",
                       style="yellow"))
        return 1
    out.print(Text(f"nothing to fix: {where}", style="green"))
    return 0
