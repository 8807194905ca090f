"""A proposal of `fleettui init` as the commented TOML config it writes (the keys of config.example.toml). Pure.

Every value init decided is a key; every value it could not decide is a commented line ``# key = value`` followed by
why and what to put there; a service without a selector is written entirely commented out. Everything taken from AWS
(tag keys and values, names) is escaped: in a value as a TOML string, in a comment through ``printable`` (a newline
in a tag value must not end the comment).
"""
from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable

from fleettui.domain.discovery import Proposal, ServiceProposal
from fleettui.format import printable

WIDTH = 116


def toml_str(v: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's; DEL, which JSON leaves as it is, TOML wants escaped."""
    return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else toml_str(k)


def toml_array(vs: Iterable[str]) -> str:
    return "[" + ", ".join(toml_str(v) for v in vs) + "]"


def toml_table(d: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{toml_key(k)} = {toml_str(v)}" for k, v in d.items()) + " }"


def _comment(text: str, indent: str = "") -> list[str]:
    wrapped = textwrap.wrap(printable(text), WIDTH - 3 - len(indent), break_on_hyphens=False, break_long_words=False)
    return [f"#{indent} {line}" for line in wrapped] or ["#"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def service_lines(svc: ServiceProposal) -> list[str]:
    regions = sorted({r for r, _ in svc.hosts}) or list(svc.regions)
    head = (f"{svc.name}: {_plural(len(svc.hosts), 'host')} in {', '.join(regions)}; {svc.origin}"
            + (f"; generations {', '.join(svc.versions)}" if svc.versions else ""))
    lines = _comment(head)
    lines += [line for note in svc.notes for line in _comment(f"note: {note}")]
    body = ["[[service]]", f"name = {toml_str(svc.name)}", f"regions = {toml_array(svc.regions)}"]
    if svc.selector is not None:
        body.append(f"selector = {toml_table(svc.selector)}")
    if svc.kind != "hosts":
        body.append(f"kind = {toml_str(svc.kind)}")
    if svc.version_tag:
        body.append(f"version_tag = {toml_str(svc.version_tag)}")
    if svc.launch_template:
        body.append(f"launch_template = {toml_str(svc.launch_template)}")
    if svc.listener_arn:
        body.append(f"listener_arn = {toml_str(svc.listener_arn)}")
    if svc.generation_tag:
        body.append(f"generation_tag = {toml_str(svc.generation_tag)}")
    if svc.target_group_prefix:
        body.append(f"target_group_prefix = {toml_str(svc.target_group_prefix)}")
    if svc.required_tags:
        body.append(f"required_tags = {toml_array(svc.required_tags)}")
    if svc.instance_roles is not None:
        body.append(f"instance_roles = {toml_array(svc.instance_roles)}")
    undecided = []
    for c in svc.comments:
        undecided.append(f"# {c.key} = {printable(c.value) if c.value else chr(34) + '…' + chr(34)}")
        undecided += _comment(c.why, "  ")
    if svc.selector is None:
        why = _comment(f"not enabled: {svc.why_no_selector}; set a selector and remove the leading # of the lines "
                       "below")
        return lines + why + [f"# {line}" for line in body] + undecided
    return lines + body + undecided


def config_text(proposal: Proposal, services: list[ServiceProposal], *, profile: str | None,
                endpoint_url: str | None, written_on: str, emulator: bool = False) -> str:
    """The config file for ``services`` (those accepted, in that order)."""
    scan = proposal.scan
    regions = list(dict.fromkeys(r for s in services for r in s.regions))
    lines = _comment(f"fleettui config written by `fleettui init` on {written_on} from account {scan.account or '?'} "
                     f"(read: {', '.join(scan.regions)}).")
    lines += _comment("Check it against the account with `fleettui doctor`; every key is documented in "
                      "config.example.toml. A line `# key = value` is a value init could not decide: the lines under "
                      "it say why and what to put there.")
    for what in proposal.left_out:
        lines += _comment(f"not proposed: {what}")
    order = {r: i for i, r in enumerate(scan.regions)}
    for u in sorted(scan.unreadable, key=lambda u: (u.what, order.get(u.region or "", -1))):
        lines += _comment(f"could not read {u.what}{' in ' + u.region if u.region else ''}: {u.error}")
    lines += ["", "[aws]"]
    if profile:
        lines.append(f"profile = {toml_str(profile)}")
    lines.append(f"regions = {toml_array(regions)}")
    if endpoint_url:
        lines.append(f"endpoint_url = {toml_str(endpoint_url)}")
    lines += ["", "[defaults]"]
    lines += _comment("Start read-only: nothing can change AWS until this is false (attach the operator policy first: "
                      "`fleettui iam policy --operator --json`).")
    lines.append("read_only = true")
    if emulator:
        lines.append('latency_stat = "Average"     # an emulator (moto) computes no percentiles (real AWS: "p99")')
    for svc in services:
        lines += ["", *service_lines(svc)]
    return "\n".join(lines) + "\n"
