"""Typed access to EC2 through the gateway: instances, images, launch templates, tags."""
from __future__ import annotations

import asyncio
from typing import Any

from fleettui.aws.gateway import Gateway
from fleettui.errors import AwsError

LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
LT_NOT_FOUND = ("InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound",
                "InvalidLaunchTemplateId.Malformed")


def chunks(items: list[str], n: int) -> list[list[str]]:
    return [items[i:i + n] for i in range(0, len(items), n)]


def template_key(template: str, plural: bool = False) -> str:
    """The parameter that names a launch template: by id (lt-…) or by name."""
    key = "LaunchTemplateId" if template.startswith("lt-") else "LaunchTemplateName"
    return key.replace("Id", "Ids").replace("Name", "Names") if plural else key


INSTANCES_PAGE_SIZE = 1000     # DescribeInstances MaxResults (AWS's maximum); tests lower it to get many pages


class Ec2:
    def __init__(self, gw: Gateway, region: str):
        self.gw, self.region = gw, region

    async def instances(self, filters: list[dict], states: list[str] = LIVE_STATES) -> list[dict[str, Any]]:
        """Every instance matching ``filters`` in one of ``states`` (paginated, 1000 a page); each dict gets the
        key ``_region``."""
        filters = [*filters, {"Name": "instance-state-name", "Values": states}]
        out: list[dict[str, Any]] = []
        async for page in self.gw.paginate("ec2", self.region, "describe_instances", Filters=filters,
                                           PaginationConfig={"PageSize": INSTANCES_PAGE_SIZE}):
            for reservation in page.get("Reservations", ()):
                for inst in reservation.get("Instances", ()):
                    inst["_region"] = self.region
                    out.append(inst)
        return out

    async def tagged(self, tags: dict[str, str], states: list[str] = LIVE_STATES) -> list[dict[str, Any]]:
        return await self.instances([{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()], states)

    async def by_ids(self, ids: list[str], states: list[str] = LIVE_STATES) -> list[dict[str, Any]]:
        return await self.instances([{"Name": "instance-id", "Values": ids}], states)

    async def launch_template_versions(self, template: str, versions: list[str] | None = None) -> list[dict[str, Any]]:
        """The template's versions (all, or those named); [] when the template does not exist here."""
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {template_key(template): template}
        if versions:
            params["Versions"] = versions
        try:
            async for page in self.gw.paginate("ec2", self.region, "describe_launch_template_versions", **params):
                out.extend(page.get("LaunchTemplateVersions", ()))
        except AwsError as e:
            if e.code in LT_NOT_FOUND:
                return []
            raise
        return out

    async def launch_template(self, template: str) -> dict[str, Any] | None:
        """The DescribeLaunchTemplates item of ``template`` (name or id) here, None when it does not exist here."""
        try:
            resp = await self.gw.call("ec2", self.region, "describe_launch_templates", **{template_key(template, True): [template]})
        except AwsError as e:
            if e.code in LT_NOT_FOUND:
                return None
            raise
        items = resp.get("LaunchTemplates") or []
        return items[0] if items else None

    async def launch_template_id(self, template: str) -> str | None:
        item = await self.launch_template(template)
        return item["LaunchTemplateId"] if item else None

    async def images(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """image id -> DescribeImages item, deprecated ones included; missing (deregistered) ids are left out."""
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(sorted(ids), 100):
            try:
                resp = await self.gw.call("ec2", self.region, "describe_images", ImageIds=chunk, IncludeDeprecated=True)
            except AwsError as e:
                if e.code != "InvalidAMIID.NotFound":
                    raise
                if len(chunk) > 1:
                    # one missing id fails the whole call on real AWS: ask one by one
                    for image_id in chunk:
                        out.update(await self.images([image_id]))
                continue
            for img in resp.get("Images", ()):
                out[img["ImageId"]] = img
        return out

    async def run_instances(self, **params) -> dict[str, Any]:
        return await self.gw.call("ec2", self.region, "run_instances", **params)

    async def terminate(self, ids: list[str]) -> None:
        await self.gw.call("ec2", self.region, "terminate_instances", InstanceIds=ids)

    async def wait_running(self, ids: list[str], *, delay: float, timeout: float) -> None:
        await self.gw.wait("ec2", self.region, "instance_running", InstanceIds=ids, delay=delay, timeout=timeout)

    async def tags_of(self, resource_id: str, key: str | None = None) -> dict[str, str]:
        filters = [{"Name": "resource-id", "Values": [resource_id]}]
        if key:
            filters.append({"Name": "key", "Values": [key]})
        resp = await self.gw.call("ec2", self.region, "describe_tags", Filters=filters)
        return {t["Key"]: t["Value"] for t in resp.get("Tags", ())}

    async def create_tags(self, resource_id: str, tags: dict[str, str]) -> None:
        await self.gw.call("ec2", self.region, "create_tags", Resources=[resource_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


async def templates_by_region(gw: Gateway, template: str, regions: list[str] | tuple[str, ...]) -> dict[str, str | None]:
    """The launch template to use in each region, by name (None where there is none). Launch templates are
    regional: an id (lt-…) exists in one region only, so it is looked up (in ``regions``) for its name, and the
    template of that name is used in every region."""
    regions = list(dict.fromkeys(regions))
    name = template
    if template.startswith("lt-"):
        found = await asyncio.gather(*(Ec2(gw, r).launch_template(template) for r in regions))
        name = next((item["LaunchTemplateName"] for item in found if item), None)
        if name is None:
            return {r: None for r in regions}
    found = await asyncio.gather(*(Ec2(gw, r).launch_template(name) for r in regions))
    return {r: name if item else None for r, item in zip(regions, found)}
