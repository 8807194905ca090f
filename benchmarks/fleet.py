"""The benchmark fleet (benchmarks/bench.py and its smoke tests): a large plain fleet seeded into the embedded
moto server, and its config. Seeded with the emulator's seeder (same in-process requirement as the demo)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fleettui.emulator.config_writer import header, service_toml
from fleettui.emulator.seeder import Seeder, aware, backdate, slug, tagspec

BATCH = 300                    # instances per RunInstances call


@dataclass(frozen=True)
class ScaleFleet:
    regions: tuple[str, ...]
    services: dict[str, tuple[str, ...]]             # service -> regions
    counts: dict[tuple[str, str], int]               # (service, version) -> hosts, over all regions

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def seed_scale_fleet(endpoint_url: str, n_instances: int,
                     regions: tuple[str, ...] = ("us-east-1", "eu-west-1", "ap-southeast-2"),
                     services: int | tuple[str, ...] = 5, now: datetime | None = None) -> ScaleFleet:
    """A large plain fleet for benchmarks: ``n_instances`` hosts spread evenly over ``regions`` and ``services``
    (a count -> svc0, svc1, ... or names), two generations each (1.0.0: a third, aged 31-38 d; 1.1.0: the rest,
    aged 1-6 d), launched from per-region launch templates, no load balancers. RunInstances in batches of
    ``BATCH``; same in-process requirement as the demo fleet. Roughly 2-3 ms per host."""
    names = tuple(f"svc{k}" for k in range(services)) if isinstance(services, int) else tuple(services)
    s = Seeder(endpoint_url, aware(now))
    counts: dict[tuple[str, str], int] = {}
    shares = _split(n_instances, len(regions) * len(names))
    for r, region in enumerate(regions):
        s.check_in_process(region)
        ec2 = s.c("ec2", region)
        for k, name in enumerate(names):
            old = s.image(region, name, "1.0.0", 60)
            new = s.image(region, name, "1.1.0", 10)
            s.launch_template(region, f"{name}-lt", [old, new], "m5.large", [], None, default=2)
            share = shares[r * len(names) + k]
            for version, ami, ltv, n, ages in (("1.0.0", old, 1, share // 3, [31, 33, 35, 38]),
                                               ("1.1.0", new, 2, share - share // 3, [1, 2, 4, 6])):
                owner = f"team-{name}"
                tags = {"Service": name, "Owner": owner, "CostCenter": "cc-9000", "Environment": "bench",
                        "Name": f"{name}-{slug(version)}"}
                done = 0
                while done < n:
                    batch = min(BATCH, n - done)
                    subnet = s.subnets(region)[(done // BATCH) % len(s.subnets(region))]
                    resp = ec2.run_instances(
                        LaunchTemplate={"LaunchTemplateName": f"{name}-lt", "Version": str(ltv)}, ImageId=ami,
                        MinCount=batch, MaxCount=batch, SubnetId=subnet, TagSpecifications=tagspec("instance", tags))
                    ids = [i["InstanceId"] for i in resp["Instances"]]
                    backdate(region, ids, [s.now - timedelta(days=ages[j % len(ages)]) for j in range(len(ids))])
                    done += batch
                counts[(name, version)] = counts.get((name, version), 0) + n
    s.finish()
    return ScaleFleet(regions=tuple(regions), services={n: tuple(regions) for n in names}, counts=counts)


def _split(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


def scale_config_text(fleet: ScaleFleet, endpoint_url: str) -> str:
    """The TOML config for a benchmark fleet from :func:`seed_scale_fleet`."""
    services = [service_toml(name, regions, f"{name}-lt") for name, regions in fleet.services.items()]
    return "\n".join([header(endpoint_url, fleet.regions, f"fleettui benchmark fleet: {fleet.total} hosts"),
                      *services])
