"""TOML config text for a seeded emulator fleet (the same keys as config.example.toml): the ``[aws]`` and
``[defaults]`` header and one ``[[service]]`` table per service. Scenarios compose their config from these."""
from __future__ import annotations

import json


def toml_str(v: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(v)


def toml_array(vs) -> str:
    return "[" + ", ".join(toml_str(v) if isinstance(v, str) else str(v) for v in vs) + "]"


def service_toml(name: str, regions, launch_template: str | None, *, listener_arn: str | None = None,
                 required_tags=("Owner", "CostCenter"), shift_steps=None, instance_roles=None, alarms=None,
                 comment: str = "", extra: tuple[str, ...] = ()) -> str:
    lines = ([f"# {comment}"] if comment else []) + [
        "[[service]]",
        f"name = {toml_str(name)}",
        f"regions = {toml_array(regions)}",
        f"selector = {{ Service = {toml_str(name)} }}",
        'version_tag = "Version"',
    ]
    if launch_template:
        lines += [f"launch_template = {toml_str(launch_template)}", 'launch_template_version = "$Default"']
    if listener_arn:
        lines += [f"listener_arn = {toml_str(listener_arn)}", 'generation_tag = "fleettui:version"']
    lines.append(f"required_tags = {toml_array(required_tags)}")
    if instance_roles is not None:
        lines.append(f"instance_roles = {toml_array(instance_roles)}")
    if shift_steps:
        lines.append(f"shift_steps = {toml_array(shift_steps)}")
    if alarms:
        lines.append(f"alarms = {toml_array(alarms)}")
    lines += extra
    return "\n".join(lines) + "\n"


def header(endpoint_url: str, regions, title: str) -> str:
    return f"""# {title}
# Emulated AWS (moto) at {endpoint_url}: any credentials work there.
[aws]
profile = "demo"
regions = {toml_array(regions)}
endpoint_url = {toml_str(endpoint_url)}

[defaults]
warn_age = "14d"
max_age = "30d"
refresh_seconds = 10
read_only = false
min_healthy_percent = 75
latency_stat = "Average"     # the emulator computes no percentiles (real AWS: "p99")
"""
