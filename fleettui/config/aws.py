"""``[aws]``: profile, regions and endpoint; profile and regions fall back to the AWS environment variables."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleettui.config.checks import _REGION_RE, _REGIONS, Spec, _endpoint, _Reader, _regions, _show, _str


@dataclass(frozen=True)
class AwsConfig:
    profile: str | None = None
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None


SPEC: Spec = {"profile": _str, "regions": _regions, "endpoint_url": _endpoint}


def read(r: _Reader, data: dict, env: Mapping[str, str], sections: dict[str, Any]) -> AwsConfig:
    aws = r.table(data.get("aws", {}), "aws", SPEC, "[aws]")
    profile = aws.get("profile") or env.get("AWS_PROFILE") or None
    regions = aws.get("regions")
    if regions is None:
        var = next((v for v in ("AWS_REGION", "AWS_DEFAULT_REGION") if env.get(v)), None)
        if var and not _REGION_RE.match(env[var]):
            r.fail("aws.regions", f"not set, and ${var} {_show(env[var])} is not a region name (allowed: {_REGIONS})")
        regions = (env[var],) if var else ()
    return AwsConfig(profile=profile, regions=regions, endpoint_url=aws.get("endpoint_url"))
