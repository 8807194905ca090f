"""Drift and age rules. Each rule returns findings with expected vs actual; all pure."""
from __future__ import annotations

from typing import Iterable

from fleettui.domain.model import DAY, ERROR, WARN, Finding, Image, LaunchTemplateVersion

NOT_SET = "(none)"


def _fmt_set(values: Iterable[str]) -> str:
    return ",".join(sorted(values)) or NOT_SET


def drift_findings(
    *,
    instance_type: str,
    image_id: str,
    security_group_ids: frozenset[str],
    iam_instance_profile: str | None,
    subnet_id: str | None,
    tags: dict[str, str],
    launched_from: LaunchTemplateVersion | None,
    launch_template_version: str | None,
    expected_lt_version: int | None,
    declared_template: str | None,
    image: Image,
    required_tags: tuple[str, ...],
) -> list[Finding]:
    """Everything that makes this host differ from what its launch template and config say it should be.

    ``launched_from`` is the launch template version the host was launched from (None if unknown or not
    from the service's template); ``expected_lt_version`` is the version its generation should run
    (the declared version when it produces the generation's image, else the newest that does).
    """
    out: list[Finding] = []
    if declared_template and launched_from is None:
        actual = launch_template_version and f"v{launch_template_version} (another template)"
        out.append(Finding("drift:launch_template", ERROR, declared_template, actual or NOT_SET,
                           "not launched from the service's launch template (hand-built host)"))
    if launched_from is not None:
        lt = launched_from
        if lt.image_id and lt.image_id != image_id:
            out.append(Finding("drift:image", ERROR, lt.image_id, image_id,
                               f"image differs from launch template v{lt.version}"))
        if expected_lt_version is not None and lt.version != expected_lt_version:
            out.append(Finding("drift:launch_template_version", WARN, f"v{expected_lt_version}", f"v{lt.version}",
                               f"launched from v{lt.version}, its generation is declared at v{expected_lt_version}"))
        if lt.instance_type and lt.instance_type != instance_type:
            out.append(Finding("drift:instance_type", ERROR, lt.instance_type, instance_type,
                               "instance type outside the launch template"))
        if lt.security_group_ids and lt.security_group_ids != security_group_ids:
            out.append(Finding("drift:security_groups", ERROR, _fmt_set(lt.security_group_ids),
                               _fmt_set(security_group_ids), "security groups outside the launch template"))
        if lt.iam_instance_profile and lt.iam_instance_profile != iam_instance_profile:
            out.append(Finding("drift:iam_instance_profile", ERROR, lt.iam_instance_profile,
                               iam_instance_profile or NOT_SET, "IAM instance profile outside the launch template"))
        if lt.subnet_id and lt.subnet_id != subnet_id:
            out.append(Finding("drift:subnet", ERROR, lt.subnet_id, subnet_id or NOT_SET,
                               "subnet outside the launch template"))
    missing = [t for t in required_tags if not tags.get(t)]
    if missing:
        out.append(Finding("drift:tags", WARN, _fmt_set(required_tags), _fmt_set(set(required_tags) - set(missing)),
                           "missing required tag(s): " + ", ".join(missing)))
    if image.state != "available":
        out.append(Finding("drift:image_deregistered", ERROR, "available", image.state,
                           f"image {image.id} is {image.state}: host cannot be reproduced (snowflake)"))
    elif image.deprecated:
        when = image.deprecation_time.date().isoformat() if image.deprecation_time else "?"
        out.append(Finding("drift:image_deprecated", WARN, "not deprecated", f"deprecated {when}",
                           f"image {image.id} is deprecated"))
    return out


def age_findings(age_s: float, warn_age_s: float, max_age_s: float) -> list[Finding]:
    days = age_s / DAY
    if age_s >= max_age_s:
        return [Finding("age:max", ERROR, f"< {max_age_s / DAY:g}d", f"{days:.1f}d",
                        f"older than max_age ({max_age_s / DAY:g}d): replace")]
    if age_s >= warn_age_s:
        return [Finding("age:warn", WARN, f"< {warn_age_s / DAY:g}d", f"{days:.1f}d",
                        f"older than warn_age ({warn_age_s / DAY:g}d)")]
    return []
