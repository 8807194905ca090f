"""`fleettui doctor`, the pure part: a config and the fleet it sees -> what to fix, one line each.

What the inventory already says about a service (a listener that does not exist, a launch template missing in one of
its regions or without the declared version, traffic sent to a target group without hosts) is one problem each;
besides: a region where the selector takes no host, hosts two services both take, generations behind the listener's
region that are in no target group it forwards to, a target group whose generation tag names another version than
its hosts run, generations named by AMI name beside others named by the version tag (images without the tag), and,
for ``kind = "asg"``, generations whose hosts are in no generation group.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Mapping

from fleettui.config import Config, ServiceConfig
from fleettui.domain.model import Service, Snapshot


@dataclass(frozen=True)
class Problem:
    service: str | None       # None: the config or the account as a whole
    check: str                # "aws", "selector", "overlap", "listener", "generation_tag", "version_tag", "kind", "iam", "inventory"
    message: str


def _selector(cfg: ServiceConfig) -> str:
    return ", ".join(f"{k}={v}" for k, v in cfg.selector)


def service_problems(svc: Service, cfg: ServiceConfig, tg_tags: Mapping[str, Mapping[str, str]],
                     tg_names: Mapping[str, str] | None = None) -> list[Problem]:
    """What to fix for one service. ``tg_tags``: target group ARN -> its tags (those the listener forwards to)."""
    out = [Problem(svc.name, "inventory", w) for w in svc.warnings if not _retention_hint(w)]
    hosts = svc.instances
    by_region = Counter(i.region for i in hosts)
    groups = {g.group.region for g in svc.generations if g.group is not None}
    for region in cfg.regions:
        if not by_region[region] and region not in groups:
            out.append(Problem(svc.name, "selector",
                               f"selector {_selector(cfg)} takes no host in {region} (remove {region} from its regions, "
                               "or fix the selector)"))
    if svc.traffic is not None and cfg.listener_region:
        outside = [(g.version, n) for g in svc.generations if not g.target_group_arns
                   for n in [sum(1 for i in g.instances if i.region == cfg.listener_region)] if n]
        if outside:
            hosts_n = sum(n for _, n in outside)
            out.append(Problem(svc.name, "listener",
                               f"{_list([v for v, _ in outside], 'generation')} ({hosts_n} host"
                               f"{'s' if hosts_n != 1 else ''} in {cfg.listener_region}) "
                               f"{'is' if len(outside) == 1 else 'are'} in no target group its load balancer forwards "
                               "to (register the hosts, or fix the selector or version_tag)"))
        hosts_version: dict[str, Counter] = defaultdict(Counter)
        for g in svc.generations:
            for i in g.instances:
                for arn in i.target_groups:
                    hosts_version[arn][g.version] += 1
        for arn in svc.traffic.target_groups:
            tagged = tg_tags.get(arn, {}).get(cfg.generation_tag)
            run = hosts_version.get(arn)
            if tagged and run and tagged not in run:
                name = (tg_names or {}).get(arn, arn.split("/")[-2] if "/" in arn else arn)
                actual = run.most_common(1)[0][0]
                out.append(Problem(svc.name, "generation_tag",
                                   f"target group {name} says {cfg.generation_tag} = {tagged}, but its hosts run "
                                   f"{actual} (check version_tag = \"{cfg.version_tag}\": the images' tag naming their "
                                   "version)"))
    by_tag = [g for g in svc.generations if g.instances and g.image.name and g.version not in (g.image.name, g.image.id)]
    by_name = [g for g in svc.generations if g.instances and g.version in (g.image.name, g.image.id)]
    if by_tag and by_name:
        out.append(Problem(svc.name, "version_tag",
                           f"the images of {', '.join(g.version for g in by_name[:3])} carry no tag {cfg.version_tag}, "
                           f"those of {', '.join(g.version for g in by_tag[:3])} do: tag them (a generation is named "
                           "by its AMI name without it)"))
    if cfg.kind == "asg":
        loose = [g.version for g in svc.generations if g.instances and g.group is None]
        if loose:
            out.append(Problem(svc.name, "kind",
                               f"the hosts of {_list(loose, 'generation')} are in no Auto Scaling group tagged "
                               f"{_selector(cfg)} and {cfg.generation_tag} = <version> (kind = \"asg\": one group per "
                               "generation)"))
    return out


def _list(items: list[str], word: str, most: int = 4) -> str:
    shown = ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")
    return f"{word}{'s' if len(items) != 1 else ''} {shown}"


def _retention_hint(warning: str) -> bool:
    """keep_warm / keep suggestions of the inventory: what to do on the fleet, not in the config."""
    return "is beyond keep_warm" in warning or "is beyond keep =" in warning


def overlaps(snap: Snapshot) -> list[Problem]:
    owners: dict[str, list[str]] = defaultdict(list)
    for svc in snap.services:
        for i in svc.instances:
            owners[i.id].append(svc.name)
    shared: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for iid, names in owners.items():
        if len(names) > 1:
            shared[tuple(sorted(names))].append(iid)
    return [Problem(None, "overlap", f"{len(ids)} host{'s' if len(ids) != 1 else ''} ({', '.join(sorted(ids)[:3])}"
                                     f"{'…' if len(ids) > 3 else ''}) are taken by {' and '.join(names)}: make their "
                                     "selectors exclusive")
            for names, ids in sorted(shared.items())]


def config_problems(config: Config, snap: Snapshot, tg_tags: Mapping[str, Mapping[str, str]],
                    tg_names: Mapping[str, str] | None = None) -> list[Problem]:
    out = [Problem(None, "aws", str(e)) for e in snap.errors]
    for svc in snap.services:
        out += service_problems(svc, config.service(svc.name), tg_tags, tg_names)
    return out + overlaps(snap)
