"""`fleettui init`, the pure part: an account as read (:class:`Scan`, AWS response dicts) -> proposed services.

1. **Fleets.** Hosts are joined when one thing holds them together: a target group, an Auto Scaling group, a launch
   template (by name: templates are regional, a fleet in two regions has one per region), or a listener rule that
   forwards to several target groups (its generations). Hosts held by none of these (hand-built) are joined by
   their tags. Fleets whose tags are the same (the same service in two regions, each with its own template) are one.
2. **Selector.** The smallest set of tags that every host of the fleet carries and no other host in its regions
   does, preferring service-like keys (``Service``, ``App``) over roles and over owner/environment keys. Tags of other
   tools are never candidates (:func:`tool_of`: CloudFormation, Elastic Beanstalk, Auto Scaling, Kubernetes, Terraform
   markers, ``Name``), nor version-like keys (a host's ``Version`` changes with every generation).
3. **Versions.** An image tag that differs between the fleet's images and is named like a version (``Version``,
   ``AppVersion``, ``release``…), else the AMI name (with a commented line saying so). ``Name`` never is one.
4. **Generation tag.** A tag of its target groups (or its own Auto Scaling groups) whose value is the version their
   hosts run; ``kind = "asg"`` when the fleet is two or more groups, each carrying it and the selector.
5. **Listener, launch template, required tags, instance roles**, each decided from what the account shows, or
   left as a commented line that says why and what to put there (:class:`Comment`). A fleet behind listeners in
   several regions becomes one service per region (a service follows one listener).

No I/O: the AWS reads are :mod:`fleettui.aws.discovery`; the TOML text is :mod:`fleettui.domain.proposal_toml`.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable, Mapping

from fleettui.domain.build import SERVICE_TAG
from fleettui.domain.traffic import Forward, forwards_of_listener, forwards_of_rules

# ------------------------------------------------------------------------------------------------------ the scan


@dataclass
class RegionScan:
    """What was read in one region (AWS response items, unmodified)."""

    region: str
    instances: list[dict[str, Any]] = field(default_factory=list)        # DescribeInstances items (live states)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)      # image id -> DescribeImages item
    launch_templates: list[dict[str, Any]] = field(default_factory=list)  # DescribeLaunchTemplates items
    lt_versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # template id -> version items
    groups: list[dict[str, Any]] = field(default_factory=list)           # DescribeAutoScalingGroups items
    load_balancers: list[dict[str, Any]] = field(default_factory=list)
    listeners: list[dict[str, Any]] = field(default_factory=list)        # every listener of those load balancers
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # listener ARN -> DescribeRules items
    target_groups: list[dict[str, Any]] = field(default_factory=list)
    target_group_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    targets: dict[str, dict[str, str]] = field(default_factory=dict)     # target group ARN -> {instance id: state}

    @staticmethod
    def group_template(group: Mapping[str, Any]) -> dict[str, Any]:
        """The launch template specification of an Auto Scaling group (plain or in a mixed instances policy)."""
        return dict(group.get("LaunchTemplate") or (group.get("MixedInstancesPolicy") or {}).get(
            "LaunchTemplate", {}).get("LaunchTemplateSpecification") or {})

    def template_names(self) -> dict[str, str]:
        return {t["LaunchTemplateId"]: t["LaunchTemplateName"] for t in self.launch_templates}

    def default_version(self, template_name: str) -> dict[str, Any] | None:
        lt_id = next((t["LaunchTemplateId"] for t in self.launch_templates if t["LaunchTemplateName"] == template_name),
                     None)
        return next((v for v in self.lt_versions.get(lt_id or "", ()) if v.get("DefaultVersion")), None)

    def default_profiles(self) -> set[str]:
        """The instance profile names the default version of a template names."""
        out = set()
        for versions in self.lt_versions.values():
            for v in versions:
                name = _profile_name((v.get("LaunchTemplateData") or {}).get("IamInstanceProfile"))
                if v.get("DefaultVersion") and name:
                    out.add(name)
        return out

    def forwards(self) -> list[Forward]:
        out: list[Forward] = []
        for listener in self.listeners:
            out += forwards_of_listener(listener)
            out += forwards_of_rules(listener["ListenerArn"], self.rules.get(listener["ListenerArn"], ()))
        return out


@dataclass(frozen=True)
class Unreadable:
    """A read that failed (access denied, a region that did not answer): listed, never fatal."""

    region: str | None
    what: str          # "elbv2:DescribeLoadBalancers"
    error: str


@dataclass
class Scan:
    regions: tuple[str, ...]
    account: str | None = None
    caller_arn: str | None = None
    region_scans: tuple[RegionScan, ...] = ()
    profile_roles: dict[str, list[str]] = field(default_factory=dict)   # instance profile name -> role names
    unreadable: tuple[Unreadable, ...] = ()


def _profile_name(spec: Mapping[str, Any] | None) -> str | None:
    if not spec:
        return None
    return spec.get("Name") or (spec.get("Arn") or "").rsplit("/", 1)[-1] or None


def _tags(items: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or ()}


# ------------------------------------------------------------------------------------------- tags and their kinds

_VERSIONISH = re.compile(r"version|release|build|commit|revision|git.?sha|^sha$|^rev$|^ver$", re.I)
_SERVICE_KEYS = {"service", "app", "application", "fleet", "servicename", "appname", "applicationname"}
_ROLE_KEYS = {"role", "component", "tier", "function", "workload", "layer", "cluster"}
_CONTEXT_KEYS = {"environment", "env", "stage", "owner", "team", "costcenter", "project", "department",
                 "businessunit", "product", "contact", "account", "createdby", "creator"}
_MANAGED_BY = {"managedby", "provisioner", "provisionedby", "createdby", "iac", "tool"}
_TOOL_PREFIXES = (("aws:cloudformation:", "CloudFormation"), ("aws:autoscaling:", "Auto Scaling"),
                  ("aws:ec2launchtemplate:", "EC2 launch template"), ("aws:elasticmapreduce:", "EMR"),
                  ("aws:", "AWS"), ("elasticbeanstalk:", "Elastic Beanstalk"), ("fleettui:", "fleettui"),
                  ("kubernetes.io/", "Kubernetes"), ("k8s.io/", "Kubernetes"), ("eks:", "EKS"),
                  ("karpenter.sh/", "Karpenter"), ("tf:", "Terraform"), ("terraform:", "Terraform"))


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def tool_of(key: str, value: str = "") -> str | None:
    """The tool a tag belongs to (None: the fleet's own tag). ``Name`` is set per host or per resource by consoles
    and Terraform modules: it names things, it does not select them."""
    for prefix, tool in _TOOL_PREFIXES:
        if key.lower().startswith(prefix):
            return tool
    if key == "Name" or key.lower() == "name":
        return "Name"
    n = _norm(key)
    if "terraform" in n or n.startswith("tf") and n[2:] in ("workspace", "module", "state", "stack", "repo"):
        return "Terraform"
    if n in _MANAGED_BY:
        return "Terraform" if "terraform" in value.lower() else "managed-by"
    return None


def versionish(key: str) -> bool:
    return bool(_VERSIONISH.search(key))


def _rank(key: str) -> int:
    """Preference of a selector key: 0 service-like, 1 role-like, 2 other, 3 owner/environment-like."""
    n = _norm(key)
    return 0 if n in _SERVICE_KEYS else 1 if n in _ROLE_KEYS else 3 if n in _CONTEXT_KEYS else 2


def selector_candidate(key: str, value: str) -> bool:
    """Whether a tag may select a fleet: its own (not another tool's, not Name), not a version, a plain value (EC2
    tag filters read ``*`` and ``?`` as wildcards)."""
    return (tool_of(key, value) is None and not versionish(key) and bool(value.strip())
            and not any(c in value for c in "*?"))


# ----------------------------------------------------------------------------------------------------- hosts


@dataclass(frozen=True)
class Host:
    region: str
    id: str
    tags: Mapping[str, str]
    image_id: str | None
    lt_name: str | None
    asg: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.region, self.id)


def _is_kubernetes_node(tags: Mapping[str, str]) -> bool:
    return any(tool_of(k) in ("Kubernetes", "EKS", "Karpenter") for k in tags)


def hosts_of(scan: Scan) -> tuple[list[Host], list[Host]]:
    """(the hosts fleettui could manage, Kubernetes nodes: managed by their cluster, left out)."""
    hosts, nodes = [], []
    for rs in scan.region_scans:
        names = rs.template_names()
        for inst in rs.instances:
            tags = _tags(inst.get("Tags"))
            lt_name = names.get(tags.get("aws:ec2launchtemplate:id", ""))
            h = Host(region=rs.region, id=inst["InstanceId"], tags=tags, image_id=inst.get("ImageId"),
                     lt_name=lt_name, asg=tags.get("aws:autoscaling:groupName"))
            (nodes if _is_kubernetes_node(tags) else hosts).append(h)
    return hosts, nodes


def matching(hosts: Iterable[Host], selector: Mapping[str, str], regions: Iterable[str]) -> list[Host]:
    """The hosts a selector takes in ``regions`` (as the inventory's DescribeInstances filters do: exact values)."""
    regions = set(regions)
    return [h for h in hosts if h.region in regions and all(h.tags.get(k) == v for k, v in selector.items())]


def choose_selector(fleet: list[Mapping[str, str]], others: list[Mapping[str, str]], max_keys: int = 3,
                    other_names: list[str] | None = None) -> tuple[dict[str, str] | None, str]:
    """The smallest tag set every host of ``fleet`` carries and no host of ``others`` does (ties: the preferred keys,
    :func:`_rank`), and (None, why in words) when there is none. ``other_names`` name the others in that reason."""
    if not fleet:
        return None, "it has no hosts"
    common = {k: v for k, v in fleet[0].items()
              if selector_candidate(k, v) and all(t.get(k) == v for t in fleet[1:])}
    if not common:
        return None, "its hosts share no tag of their own (only Name, version tags or tags of other tools)"
    keys = sorted(common, key=lambda k: (_rank(k), k))
    # the other hosts each candidate tag also takes: a set intersection per combination
    takes = {k: {i for i, t in enumerate(others) if t.get(k) == common[k]} for k in keys}
    for size in range(1, min(max_keys, len(keys)) + 1):
        fits = [c for c in combinations(keys, size) if not set.intersection(*(takes[k] for k in c))]
        if fits:
            best = min(fits, key=lambda c: (sum(_rank(k) for k in c), [keys.index(k) for k in c]))
            return {k: common[k] for k in sorted(best, key=keys.index)}, ""
    shared = set.intersection(*takes.values())
    if not shared:
        return dict(common), ""
    names = sorted((other_names or [])[i] for i in shared) if other_names else []
    return None, (f"every tag its hosts share ({_show_tags(common)}) is also on {len(shared)} other "
                  f"host{'s' if len(shared) != 1 else ''}" + (f" ({', '.join(names[:3])}{'…' if len(names) > 3 else ''})"
                                                               if names else ""))


def _show_tags(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in tags.items())


# ---------------------------------------------------------------------------------------------------- fleets


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def add(self, x) -> None:
        self.parent.setdefault(x, x)

    def find(self, x):
        self.add(x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


@dataclass
class _Fleet:
    hosts: list[Host] = field(default_factory=list)
    groups: list[tuple[str, dict[str, Any]]] = field(default_factory=list)     # (region, group item)
    target_groups: set[str] = field(default_factory=set)                         # ARNs
    templates: Counter = field(default_factory=Counter)                          # template name -> hosts + groups

    @property
    def regions(self) -> list[str]:
        return sorted({h.region for h in self.hosts} | {r for r, _ in self.groups})


def identity(hosts: list[Host]) -> frozenset[tuple[str, str]]:
    """The tags of their own (selector candidates) that all ``hosts`` carry with the same value."""
    if not hosts:
        return frozenset()
    first = {(k, v) for k, v in hosts[0].tags.items() if selector_candidate(k, v)}
    return frozenset(first.intersection(*({(k, v) for k, v in h.tags.items()} for h in hosts[1:])))


def fleets_of(scan: Scan, hosts: list[Host]) -> tuple[list[_Fleet], list[Host]]:
    """The fleets of the account (see the module docstring), and the hosts that belong to none (no tag of their own,
    nothing that holds them together)."""
    uf = _UnionFind()
    by_key = {h.key: h for h in hosts}
    for h in hosts:
        node = ("i", *h.key)
        uf.add(node)
        if h.asg:
            uf.union(node, ("asg", h.region, h.asg))
        if h.lt_name:
            uf.union(node, ("lt", h.lt_name))
    groups: dict[tuple, tuple[str, dict]] = {}
    for rs in scan.region_scans:
        names = rs.template_names()
        for arn, targets in rs.targets.items():
            for iid in targets:
                if (rs.region, iid) in by_key:
                    uf.union(("i", rs.region, iid), ("tg", arn))
        for g in rs.groups:
            node = ("asg", rs.region, g["AutoScalingGroupName"])
            groups[node] = (rs.region, g)
            uf.add(node)
            spec = RegionScan.group_template(g)
            name = spec.get("LaunchTemplateName") or names.get(spec.get("LaunchTemplateId", ""))
            if name:
                uf.union(node, ("lt", name))
            for inst in g.get("Instances") or ():
                if (rs.region, inst["InstanceId"]) in by_key:
                    uf.union(node, ("i", rs.region, inst["InstanceId"]))
            for arn in g.get("TargetGroupARNs") or ():
                uf.union(node, ("tg", arn))
        for fwd in rs.forwards():
            arns = fwd.target_groups
            for arn in arns[1:]:
                uf.union(("tg", arns[0]), ("tg", arn))

    components: dict[Any, list[Any]] = defaultdict(list)
    for node in list(uf.parent):
        components[uf.find(node)].append(node)
    fleets: list[_Fleet] = []
    loose: dict[frozenset, list[Host]] = defaultdict(list)
    left_out: list[Host] = []
    for nodes in components.values():
        members = [by_key[(n[1], n[2])] for n in nodes if n[0] == "i"]
        if not members:
            continue           # a template, target group or group with no host: not a fleet
        if len(nodes) == 1:    # a host nothing holds to another: joined with others by its tags
            ident = identity(members)
            (loose[ident] if ident else left_out).extend(members)
            continue
        f = _Fleet(hosts=members, groups=[groups[n] for n in nodes if n in groups],
                   target_groups={n[1] for n in nodes if n[0] == "tg"})
        f.templates.update(h.lt_name for h in members if h.lt_name)
        f.templates.update(n[1] for n in nodes if n[0] == "lt" and not any(h.lt_name == n[1] for h in members))
        fleets.append(f)
    for ident, members in loose.items():
        fleets.append(_Fleet(hosts=members))
    # the same tags of their own: one fleet (a service in two regions with a template each, hand-built hosts of it)
    merged: dict[frozenset, _Fleet] = {}
    out: list[_Fleet] = []
    for f in fleets:
        ident = identity(f.hosts)
        if ident and ident in merged:
            into = merged[ident]
            into.hosts += f.hosts
            into.groups += f.groups
            into.target_groups |= f.target_groups
            into.templates.update(f.templates)
            continue
        if ident:
            merged[ident] = f
        out.append(f)
    return out, left_out


# ----------------------------------------------------------------------------------------------- the proposal


@dataclass(frozen=True)
class Comment:
    """A value init could not decide: written as a commented line ``# key = value``, with why under it."""

    key: str
    value: str | None       # a TOML value to start from (None: none to suggest)
    why: str                # why it was not decided, and what to put there


@dataclass
class ServiceProposal:
    name: str
    regions: tuple[str, ...]
    selector: dict[str, str] | None            # None: no tag set separates it (written commented out)
    kind: str = "hosts"
    version_tag: str | None = None             # None: versions are the AMI names (see comments)
    launch_template: str | None = None
    listener_arn: str | None = None
    generation_tag: str | None = None          # None: the default ("fleettui:version")
    target_group_prefix: str | None = None     # None: the default ("<name>-")
    required_tags: tuple[str, ...] = ()
    instance_roles: tuple[str, ...] | None = None
    hosts: tuple[tuple[str, str], ...] = ()    # (region, instance id) of the fleet as found
    versions: tuple[str, ...] = ()             # its generations as found, oldest image first
    origin: str = ""                           # what holds it together, in words
    why_no_selector: str = ""
    owned_by: str | None = None                # the name its target groups' fleettui:service tag gives it
    comments: list[Comment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.selector is not None


@dataclass
class Proposal:
    scan: Scan
    services: list[ServiceProposal]
    left_out: list[str] = field(default_factory=list)     # what was found but not proposed, and why
    hosts: list[Host] = field(default_factory=list)       # every host read (edited selectors are checked on them)

    def selector_problems(self, svc: ServiceProposal, selector: Mapping[str, str]) -> list[str]:
        """What a selector would take that is not the fleet's, and what of the fleet it would miss."""
        took = matching(self.hosts, selector, svc.regions)
        mine = set(svc.hosts)
        owner = {h: s.name for s in self.services if s is not svc for h in s.hosts}
        extra = [h for h in took if h.key not in mine]
        missed = len(mine - {h.key for h in took})
        out = []
        if extra:
            others = Counter(owner.get(h.key, "no proposed service") for h in extra)
            out.append(f"it also takes {len(extra)} other host{'s' if len(extra) != 1 else ''} ("
                       + ", ".join(f"{n} of {o}" for o, n in others.most_common()) + ")")
        if missed:
            out.append(f"it misses {missed} of the {len(mine)} hosts found for {svc.name}")
        return out


_LT_SUFFIXES = ("-launch-template", "_launch_template", "-launchtemplate", "-template", "_template", "-lt", "_lt",
                "-tpl")
_LB_SUFFIXES = ("-alb", "-nlb", "-elb", "-lb", "_alb", "_lb")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def service_name(text: str) -> str:
    """A config service name (lowercase letters, digits, "-" and "_", starting with a letter or digit) from ``text``."""
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    name = re.sub(r"-{2,}", "-", name)[:63].strip("-_")
    return name if NAME_RE.match(name) else ""


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    low = name.lower()
    for s in suffixes:
        if low.endswith(s) and len(name) > len(s):
            return name[:-len(s)]
    return name


def _slug(version: str) -> str:
    """A version as fleettui names target groups and Auto Scaling groups after it (fleettui.actions.planning)."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", version).strip("-")


def _version_key(images: list[Mapping[str, Any]]) -> tuple[str | None, str, list[str]]:
    """(the image tag naming the version or None, why in words, other tags that differ between the images)."""
    if not images:
        return None, "its images could not be read (deregistered, or not shared with this account)", []
    tagsets = [_tags(i.get("Tags")) for i in images]
    shared = set(tagsets[0]).intersection(*tagsets[1:])
    shared = {k for k in shared if tool_of(k) is None and not re.search(r"source|base|parent", k, re.I)}
    builds = len({i.get("Name") or i.get("ImageId") for i in images})
    differ = sorted(k for k in shared if len({t[k] for t in tagsets}) > 1)
    other = [k for k in differ if not versionish(k)]

    def rank(k: str) -> tuple[int, str]:
        return (0 if k == "Version" else 1 if "version" in k.lower() else 2, k)

    named = sorted((k for k in (differ if builds > 1 else shared) if versionish(k)), key=rank)
    if named:
        return named[0], ("it differs between its images" if builds > 1 else "its image carries it"), other
    present = sorted({k for t in tagsets for k in t if versionish(k) and tool_of(k) is None}, key=rank)
    if present and builds > 1:
        why = f"the tag {present[0]} is not on every image or has one value for all of them"
    else:
        why = "its images carry no tag naming a version"
    return None, why, other


def _majority(values: Iterable[str | None]) -> str | None:
    c = Counter(v for v in values if v is not None)
    return c.most_common(1)[0][0] if c else None


def _listener_words(listener: Mapping[str, Any]) -> str:
    arn = listener["ListenerArn"]
    lb = arn.split(":listener/", 1)[-1].split("/")[1]
    return f"{lb} {listener.get('Protocol', '?')}:{listener.get('Port', '?')}"


class _Context:
    """What the proposal of every fleet needs to look up in the scan."""

    def __init__(self, scan: Scan, hosts: list[Host]):
        self.scan = scan
        self.hosts = hosts
        self.images: dict[str, dict[str, Any]] = {}
        self.tgs: dict[str, dict[str, Any]] = {}
        self.tg_tags: dict[str, dict[str, str]] = {}
        self.targets: dict[str, dict[str, str]] = {}
        self.listeners: dict[str, dict[str, Any]] = {}
        self.forwards: list[Forward] = []
        self.templates: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)   # name -> region -> item
        self.by_region = {rs.region: rs for rs in scan.region_scans}
        for rs in scan.region_scans:
            self.images.update(rs.images)
            self.tgs.update({g["TargetGroupArn"]: g for g in rs.target_groups})
            self.tg_tags.update(rs.target_group_tags)
            self.targets.update(rs.targets)
            self.listeners.update({li["ListenerArn"]: li for li in rs.listeners})
            self.forwards += rs.forwards()
            for t in rs.launch_templates:
                self.templates[t["LaunchTemplateName"]][rs.region] = t

    def pinned_image(self, region: str, group: Mapping[str, Any]) -> str | None:
        rs = self.by_region[region]
        spec = RegionScan.group_template(group)
        lt_id = spec.get("LaunchTemplateId") or next(
            (i for i, n in rs.template_names().items() if n == spec.get("LaunchTemplateName")), None)
        version = str(spec.get("Version") or "$Default")
        for v in rs.lt_versions.get(lt_id or "", ()):
            if str(v.get("VersionNumber")) == version or (version == "$Default" and v.get("DefaultVersion")):
                return (v.get("LaunchTemplateData") or {}).get("ImageId")
        return None


def propose(scan: Scan) -> Proposal:
    """The services of the account, each with every value init could decide and a comment for each it could not."""
    hosts, nodes = hosts_of(scan)
    ctx = _Context(scan, hosts)
    fleets, untagged = fleets_of(scan, hosts)
    left_out = []
    if nodes:
        left_out.append(f"{len(nodes)} Kubernetes node{'s' if len(nodes) != 1 else ''} (managed by their cluster, "
                        f"not by fleettui): {', '.join(h.id for h in nodes[:3])}{'…' if len(nodes) > 3 else ''}")
    if untagged:
        left_out.append(f"{len(untagged)} host{'s' if len(untagged) != 1 else ''} with no tag of their own and in no "
                        f"target group, Auto Scaling group or launch template: "
                        f"{', '.join(h.id for h in untagged[:3])}{'…' if len(untagged) > 3 else ''} (tag them, e.g. "
                        "Service = \"…\", and run init again)")
    services: list[ServiceProposal] = []
    for f in fleets:
        services += _propose_fleet(ctx, f)
    # names are unique; the most hosts keep the plain name
    taken: set[str] = set()
    for svc in sorted(services, key=lambda s: -len(s.hosts)):
        base, n = svc.name, 2
        while svc.name in taken:
            svc.name, n = f"{base}-{n}", n + 1
        taken.add(svc.name)
    services.sort(key=lambda s: (not s.enabled, -len(s.hosts), s.name))
    return Proposal(scan=scan, services=services, left_out=left_out, hosts=hosts)


def _propose_fleet(ctx: _Context, f: _Fleet) -> list[ServiceProposal]:
    notes: list[str] = []
    comments: list[Comment] = []
    mine = {h.key for h in f.hosts}
    regions = f.regions
    others = [h for h in ctx.hosts if h.region in regions and h.key not in mine]
    selector, why_not = choose_selector([h.tags for h in f.hosts], [h.tags for h in others],
                                        other_names=[h.id for h in others])

    # its launch template: the one its hosts (or groups) were launched from, else one named after it
    name = _name_of(selector, f.templates.most_common(1)[0][0] if f.templates else None, None, f.groups)
    matched = None
    if not f.templates:
        candidates = sorted({n for n, per_region in ctx.templates.items() if set(per_region) & set(regions)
                             and service_name(_strip_suffix(n, _LT_SUFFIXES)) == name})
        if len(candidates) == 1:
            matched = candidates[0]
            notes.append(f"its hosts were not launched from a launch template; {matched} is named after it: new "
                         "hosts come from it")
        else:
            comments.append(Comment("launch_template", None,
                                    "its hosts were not launched from a launch template"
                                    + (f" and several are named like it ({', '.join(candidates)})" if candidates else "")
                                    + ": name the template new hosts come from (without it, replace and launch are "
                                      "off)"))

    # versions: an image tag, else the AMI name (the images of its hosts, of its groups' and templates' versions)
    image_ids = {h.image_id for h in f.hosts if h.image_id}
    image_ids |= {i for i in (ctx.pinned_image(r, g) for r, g in f.groups) if i}
    for template_name in [*f.templates, *([matched] if matched else [])]:
        for region in regions:
            dv = ctx.by_region[region].default_version(template_name) if region in ctx.by_region else None
            if dv and (dv.get("LaunchTemplateData") or {}).get("ImageId"):
                image_ids.add(dv["LaunchTemplateData"]["ImageId"])
    images = [ctx.images[i] for i in sorted(image_ids) if i in ctx.images]
    version_tag, why_version, other_differing = _version_key(images)

    def version_of(image_id: str | None) -> str | None:
        if not image_id:
            return None
        img = ctx.images.get(image_id)
        if img is None:
            return image_id
        return (_tags(img.get("Tags")).get(version_tag) if version_tag else None) or img.get("Name") or image_id

    host_version = {h.key: version_of(h.image_id) for h in f.hosts}
    created = {v: ctx.images.get(h.image_id or "", {}).get("CreationDate") or "" for h in f.hosts
               for v in [host_version[h.key]] if v}
    versions = tuple(sorted({v for v in host_version.values() if v}, key=lambda v: (created.get(v, ""), v)))

    # of several templates: the one the newest generation was launched from
    template = matched
    if f.templates:
        newest = Counter((versions.index(host_version[h.key]) if host_version[h.key] in versions else -1, h.lt_name)
                         for h in f.hosts if h.lt_name)
        template = max(newest, key=lambda k: (k[0], newest[k]))[1] if newest else f.templates.most_common(1)[0][0]
        used = sorted({h.lt_name for h in f.hosts if h.lt_name} - {template})
        if used:
            notes.append(f"some hosts were launched from {', '.join(used)}; new hosts come from {template} (the "
                         "newest generation's)")
    if template:
        missing = [r for r in regions if r not in ctx.templates.get(template, {})]
        if missing:
            notes.append(f"launch template {template} is not in {', '.join(missing)}: launches there are refused until "
                         "a template of that name exists there")

    # what holds it together, and its traffic
    fleet_tgs = set(f.target_groups)
    tg_version = {arn: _majority(host_version.get((_arn_region(arn), iid)) for iid in ctx.targets.get(arn, {}))
                  for arn in fleet_tgs}
    group_version: dict[tuple[str, str], str | None] = {}
    for region, g in f.groups:
        members = [host_version.get((region, i["InstanceId"])) for i in g.get("Instances") or ()]
        group_version[(region, g["AutoScalingGroupName"])] = _majority(members) or version_of(
            ctx.pinned_image(region, g))

    def tag_naming_version(tagged: list[tuple[Mapping[str, str], str | None]]) -> str | None:
        known = [(t, v) for t, v in tagged if v]
        if not known:
            return None
        keys = set(known[0][0]).intersection(*(t for t, _ in known[1:]))
        fits = [k for k in keys if all(t[k] == v for t, v in known) and not k.lower().startswith("aws:")]
        return min(fits, key=lambda k: (k != "fleettui:version", not versionish(k), k)) if fits else None

    tg_key = tag_naming_version([(ctx.tg_tags.get(a, {}), tg_version[a]) for a in fleet_tgs])
    group_key = tag_naming_version([(_tags(g.get("Tags")), group_version[(r, g["AutoScalingGroupName"])])
                                    for r, g in f.groups])

    # listeners: per region, the one whose default action sends the fleet's target groups the most traffic
    by_listener: dict[str, list[Forward]] = defaultdict(list)
    for fwd in ctx.forwards:
        if set(fwd.target_groups) & fleet_tgs and re.search(r":listener/(app|net)/", fwd.listener_arn):
            by_listener[fwd.listener_arn].append(fwd)
    best: dict[str, tuple[tuple, str]] = {}
    for arn, fwds in by_listener.items():
        default = next((x for x in fwds if x.is_default), None)
        score = (default is not None and sum(w for a, w in default.groups if a in fleet_tgs) > 0,
                 default is not None, sum(1 for a in (default.target_groups if default else ()) if a in fleet_tgs),
                 _arn_region(arn) == (regions[0] if regions else ""), arn)
        region = _arn_region(arn)
        if region not in best or score > best[region][0]:
            best[region] = (score, arn)
    listeners = {region: arn for region, (_, arn) in best.items()}

    name = _name_of(selector, template, listeners, f.groups)
    # target groups fleettui created carry the name of their service: the inventory counts them for that name only
    owners = {_arn_region(a): ctx.tg_tags.get(a, {}).get(SERVICE_TAG) for a in fleet_tgs}
    owned = {o for o in owners.values() if o}
    if len(owned) == 1 and service_name(next(iter(owned))) == next(iter(owned)):
        if name != next(iter(owned)):
            name = next(iter(owned))
            notes.append(f"named {name} after its target groups' tag {SERVICE_TAG} (with another name fleettui would "
                         "not count them as its own)")

    # instance roles: those of the default version's instance profile
    roles: tuple[str, ...] | None = None
    if template:
        region = next((r for r in regions if r in ctx.templates.get(template, {})), None)
        dv = ctx.by_region[region].default_version(template) if region else None
        if dv is not None:
            profile = _profile_name((dv.get("LaunchTemplateData") or {}).get("IamInstanceProfile"))
            if profile is None:
                roles = ()
            elif profile in ctx.scan.profile_roles:
                roles = tuple(ctx.scan.profile_roles[profile])
            else:
                comments.append(Comment("instance_roles", None,
                                        f"the role(s) of instance profile {profile} (launch template {template}) could "
                                        "not be read: list them, for `fleettui iam policy --operator` to pass only "
                                        "those"))

    # generation tag and kind
    all_grouped = bool(f.groups) and all(h.asg for h in f.hosts)
    groups_carry = selector is not None and all(
        all(_tags(g.get("Tags")).get(k) == v for k, v in selector.items()) for _, g in f.groups)
    kind = "hosts"
    generation_tag = tg_key
    if len(f.groups) >= 2 and group_key and all_grouped and groups_carry and (tg_key in (None, group_key)):
        kind, generation_tag = "asg", group_key
    elif len(f.groups) >= 2 and len({v for v in group_version.values() if v}) >= 2:
        lacks = [] if group_key else [f"a tag naming their version (e.g. {generation_tag or 'fleettui:version'})"]
        lacks += [] if groups_carry else ["the selector tags"]
        why = [f"they lack {' and '.join(lacks)}: tag them (propagated at launch)"] if lacks else []
        if not all_grouped:
            why.append("some of its hosts are in no group")
        if group_key and tg_key and tg_key != group_key:
            why.append(f"its target groups name their version by {tg_key} and its groups by {group_key}: use one tag")
        shown = ", ".join(g["AutoScalingGroupName"] for _, g in f.groups[:4]) + ("…" if len(f.groups) > 4 else "")
        comments.append(Comment("kind", '"asg"', f"its Auto Scaling groups ({shown}) look like one per generation, but "
                                                 f"{'; '.join(why)}; then it can be managed as generations"))
    if generation_tag is None and fleet_tgs and listeners:
        comments.append(Comment("generation_tag", '"fleettui:version"',
                                "no tag of its target groups names their version: fleettui matches them by the "
                                "version their hosts run, and tags the groups it creates with this key"))

    # target group naming: fleettui names the groups it creates <prefix><version>
    prefix = None
    named = [(ctx.tgs[a]["TargetGroupName"], tg_version[a]) for a in fleet_tgs if a in ctx.tgs and tg_version[a]]
    prefixes = {n[:-len(_slug(v))] if _slug(v) and n.endswith(_slug(v)) else None for n, v in named}
    if named and None not in prefixes and len(prefixes) == 1:
        found = prefixes.pop()
        if found and found != f"{name}-":
            prefix = found
    elif named:
        notes.append(f"its target groups ({', '.join(sorted(n for n, _ in named)[:3])}) are not named "
                     f"<prefix><version>: fleettui names the ones it creates {name}-<version>")

    # required tags: the keys of its own most of its hosts carry
    counts = Counter(k for h in f.hosts for k, v in h.tags.items()
                     if tool_of(k, v) is None and not versionish(k) and k not in (selector or {})
                     and k != generation_tag)
    required = tuple(sorted(k for k, n in counts.items() if 2 * n > len(f.hosts)))

    # tags of other tools: recognised, never used
    tools: dict[str, set[str]] = defaultdict(set)
    for h in f.hosts:
        for k, v in h.tags.items():
            tool = tool_of(k, v)
            if tool in ("CloudFormation", "Elastic Beanstalk", "Terraform", "Auto Scaling", "managed-by"):
                tools[tool].add(k)
    names = {h.tags.get("Name") for h in f.hosts}
    if len(names) == 1 and None not in names:       # one Name for the whole fleet (a Terraform module's): a tempting selector
        tools["Name"].add("Name")
    if tools:
        notes.append("not used as selector or version: " + "; ".join(
            tool if keys == {tool} else f"{tool} ({', '.join(sorted(keys)[:3])})" for tool, keys in sorted(tools.items())))
    if version_tag is None:
        hint = f" (these tags differ between its images: {', '.join(other_differing[:3])})" if other_differing else ""
        comments.append(Comment("version_tag", '"Version"',
                                f"{why_version}: its generations are named by AMI name{hint}; set the image tag that "
                                "names the version, if your images carry one"))

    def origin(in_regions: list[str]) -> str:
        parts = []
        shown = [a for r, a in sorted(listeners.items()) if r in in_regions]
        if shown:
            parts.append("listener " + ", ".join(_listener_words(ctx.listeners[a]) for a in shown))
        groups = [g["AutoScalingGroupName"] for r, g in f.groups if r in in_regions]
        if groups:
            parts.append(f"Auto Scaling group{'s' if len(groups) > 1 else ''} {', '.join(groups[:4])}"
                         + ("…" if len(groups) > 4 else ""))
        if template:
            parts.append(f"launch template {template}")
        return "; ".join(parts) or "hand-built hosts, joined by their tags"

    base = ServiceProposal(
        name=name, regions=tuple(regions), selector=selector, kind=kind, version_tag=version_tag,
        launch_template=template, generation_tag=generation_tag, target_group_prefix=prefix, required_tags=required,
        instance_roles=roles, versions=versions, origin=origin(regions),
        why_no_selector=why_not, comments=comments, notes=notes,
        owned_by=name if len(owned) == 1 and name in owned else None)
    if selector is None:
        base.comments.insert(0, Comment("selector", None, f"{why_not}: tag its hosts with a tag only they carry "
                                                          f"(e.g. Service = \"{name}\") and set it here"))

    # one service per listener region (a service follows one listener)
    if len(listeners) <= 1:
        base.listener_arn = next(iter(listeners.values()), None)
        base.hosts = tuple(sorted(mine))
        _rule_only_note(ctx, base, by_listener, fleet_tgs)
        return [base]
    out = []
    for region in regions:
        svc = ServiceProposal(**{**base.__dict__, "comments": list(base.comments), "notes": list(base.notes)})
        svc.name = f"{name}-{region}" if owners.get(region) != name else name
        svc.regions = (region,)
        svc.origin = origin([region])
        svc.listener_arn = listeners.get(region)
        svc.hosts = tuple(sorted(k for k in mine if k[0] == region))
        svc.versions = tuple(v for v in versions if any(host_version[k] == v for k in svc.hosts))
        svc.notes.insert(0, f"{name} has a listener in each of {', '.join(sorted(listeners))}: one service per region "
                            "(a service follows one listener)")
        if svc.listener_arn is None:
            svc.notes.append(f"no listener in {region}: its hosts take no traffic through fleettui's weights")
        _rule_only_note(ctx, svc, by_listener, fleet_tgs)
        if svc.hosts:
            out.append(svc)
    return out


def _name_of(selector: Mapping[str, str] | None, template: str | None, listeners: Mapping[str, str] | None,
             groups: list[tuple[str, Mapping[str, Any]]]) -> str:
    """A service's name: its service-like selector value, else its template's name, its role-like selector value, its
    load balancer's or first group's name."""
    sel = selector or {}
    for candidate in (
            next((v for k, v in sel.items() if _rank(k) == 0), ""),
            _strip_suffix(template, _LT_SUFFIXES) if template else "",
            next((v for k, v in sel.items() if _rank(k) == 1), ""),
            _strip_suffix(next(iter(listeners.values())).split(":listener/", 1)[-1].split("/")[1], _LB_SUFFIXES)
            if listeners else "",
            re.sub(r"[-_]v?\d+([-_.]\d+)*$", "", groups[0][1]["AutoScalingGroupName"]) if groups else "",
            next(iter(sel.values()), "")):
        name = service_name(candidate)
        if name:
            return name
    return "service"


def _rule_only_note(ctx: _Context, svc: ServiceProposal, by_listener: dict[str, list[Forward]],
                    fleet_tgs: set[str]) -> None:
    if svc.listener_arn is None:
        return
    fwds = by_listener.get(svc.listener_arn, [])
    default = next((x for x in fwds if x.is_default), None)
    if default is None or not any(w for a, w in default.groups if a in fleet_tgs):
        svc.notes.append(f"listener {_listener_words(ctx.listeners[svc.listener_arn])} sends it traffic only through "
                         "rules: fleettui's weights and roles follow the listener's default action, the rules are "
                         "shown beside them")


def _arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""
