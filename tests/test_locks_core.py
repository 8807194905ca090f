"""The service locks (TagLock on an AWS tag, DynamoLock in the team table) and the team journal's outbox: fast tests
for mutation testing (README "Test strength").

On a bare moto (tests/bare_aws.py): the lock tag lives on one listener (or a launch template), the team table is a
new empty table per test; the code talks to them through the real gateway; the tests read AWS back with boto3 and
assert exact values and exact refusal messages.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bare_aws import REGION, bare  # noqa: F401  (bare: fixture)
from fleettui.clock import VirtualClock
from fleettui.store.taglock import LockValue, Malformed, when


# ------------------------------------------------------------------------------------------------ pure parts

def test_when_says_the_date_and_how_far_it_is():
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ahead, behind = now + timedelta(minutes=10, seconds=20), now - timedelta(minutes=7, seconds=10)
    assert when(ahead) == f"{ahead:%Y-%m-%d %H:%M:%S} UTC (in 10 min)"
    assert when(behind) == f"{behind:%Y-%m-%d %H:%M:%S} UTC (expired 7 min ago)"
    other_zone = ahead.astimezone(timezone(timedelta(hours=2)))
    assert when(other_zone) == f"{ahead:%Y-%m-%d %H:%M:%S} UTC (in 10 min)"
    hour = now + timedelta(minutes=59, seconds=20)
    assert when(hour) == f"{hour:%Y-%m-%d %H:%M:%S} UTC (in 59 min)"


def test_when_says_utc_whatever_the_machines_time_zone(monkeypatch):
    import time as clock

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    clock.tzset()
    try:
        t = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
        assert when(t).startswith("2030-01-01 12:00:00 UTC (in ")
    finally:
        monkeypatch.undo()
        clock.tzset()


@pytest.mark.parametrize("text, expected", [
    (None, None),
    ("", None),
    ("arn:a|p-1|2026-11-30T12:00:00+00:00", LockValue("arn:a", "p-1", datetime(2026, 11, 30, 12, tzinfo=timezone.utc))),
    ("arn:a|p-1|2026-11-30T12:00:00Z", LockValue("arn:a", "p-1", datetime(2026, 11, 30, 12, tzinfo=timezone.utc))),
    ("garbage", Malformed("garbage", "not owner|plan|expiry")),
    ("a|b|c|d", Malformed("a|b|c|d", "not owner|plan|expiry")),
    ("arn:a||2026-11-30T12:00:00Z", Malformed("arn:a||2026-11-30T12:00:00Z", "not owner|plan|expiry")),
    ("arn:a|p-1|soon", Malformed("arn:a|p-1|soon", "expiry 'soon' is not a time")),
    ("arn:a|p-1|2026-11-30T12:00:00", Malformed("arn:a|p-1|2026-11-30T12:00:00",
                                                "expiry '2026-11-30T12:00:00' has no time zone")),
])
def test_a_lock_tag_is_read_exactly_or_reported_as_malformed(text, expected):
    assert LockValue.decode(text) == expected


def test_a_lock_value_encodes_to_the_seconds_and_knows_if_it_is_live():
    t = datetime(2026, 11, 30, 12, 0, 5, 999, tzinfo=timezone.utc)
    assert LockValue("arn:a", "p-1", t).encode() == "arn:a|p-1|2026-11-30T12:00:05+00:00"
    assert LockValue("a", "p", t).live(t - timedelta(seconds=30))
    assert not LockValue("a", "p", t).live(t) and not LockValue("a", "p", t).live(t + timedelta(seconds=1))
    assert Malformed("x" * 200, "why").describe() == f"a malformed lock tag {'x' * 120!r} (why)"
    assert Malformed("x", "why").plan_id is None


# ------------------------------------------------------------------------------------------------ TagLock

from fleettui.aws.gateway import Gateway  # noqa: E402
from fleettui.config import ServiceConfig  # noqa: E402
from fleettui.errors import FleetError  # noqa: E402
from fleettui.store import Holder, LockHeld, LockLost  # noqa: E402
from fleettui.store.taglock import LOCK_TAG, LOCK_TTL, TagLock  # noqa: E402

ME, BOB = "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"


def web(**kw) -> ServiceConfig:
    return ServiceConfig(name="web", regions=(REGION,), selector=(("Service", "web"),), **kw)


def tag_of(bare, listener: str) -> str | None:
    tags = bare.client("elbv2").describe_tags(ResourceArns=[listener])["TagDescriptions"][0]["Tags"]
    return {t["Key"]: t["Value"] for t in tags}.get(LOCK_TAG)


def put_tag(bare, listener: str, value: str) -> None:
    bare.client("elbv2").add_tags(ResourceArns=[listener], Tags=[{"Key": LOCK_TAG, "Value": value}])


def bobs(minutes: float = 10, plan: str = "p-bob") -> tuple[str, LockValue]:
    v = LockValue(BOB, plan, datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=minutes))
    return v.encode(), v


def tag_lock(gw, listener, plan="p-me", **kw) -> TagLock:
    return TagLock(gw, web(listener_arn=listener), ME, plan, settle=0, **kw)


async def then_close(lock, op: str, *args):
    """``await lock.<op>(*args)``, then close the lock's write gateway (what its owner does when the plan ends)."""
    try:
        return await getattr(lock, op)(*args)
    finally:
        await lock.close()


def test_taglock_takes_a_free_lock_with_owner_plan_and_expiry_and_releases_it(bare):
    listener, _ = bare.listener()
    before = datetime.now(timezone.utc).replace(microsecond=0)

    async def go(gw):
        lock = tag_lock(gw, listener)
        await lock.acquire()
        taken = tag_of(bare, listener)
        holder = await lock.holder()
        await lock.release()
        return taken, holder

    taken, holder = bare.run(go)
    after = datetime.now(timezone.utc)
    owner, plan, expiry = taken.split("|")
    assert (owner, plan) == (ME, "p-me")
    assert before + LOCK_TTL <= datetime.fromisoformat(expiry) <= after + LOCK_TTL
    assert holder == Holder(taken, "p-me", LockValue.decode(taken).describe())
    assert tag_of(bare, listener) is None


def test_taglock_refuses_a_lock_another_live_plan_holds_naming_it(bare):
    listener, _ = bare.listener()
    raw, value = bobs(10)
    put_tag(bare, listener, raw)
    with pytest.raises(LockHeld) as e:
        bare.run(lambda gw: tag_lock(gw, listener).acquire())
    assert str(e.value) == (f"web is locked by {BOB} (plan p-bob) until {when(value.expires)}: wait for it, resume "
                            "or abandon that plan, or clear a stale lock with `fleettui unlock web`")
    assert tag_of(bare, listener) == raw


def test_taglock_refuses_a_malformed_lock_tag(bare):
    listener, _ = bare.listener()
    put_tag(bare, listener, "garbage")
    with pytest.raises(LockHeld) as e:
        bare.run(lambda gw: tag_lock(gw, listener).acquire())
    assert str(e.value) == ("web's lock tag fleettui:lock is a malformed lock tag 'garbage' (not owner|plan|expiry): "
                            "clear it with `fleettui unlock web`")
    assert tag_of(bare, listener) == "garbage"


@pytest.mark.parametrize("theirs", ["expired", "ours"])
def test_taglock_takes_over_an_expired_lock_and_retakes_its_own(bare, theirs):
    listener, _ = bare.listener()
    raw, _v = bobs(-1) if theirs == "expired" else bobs(5, plan="p-me")
    put_tag(bare, listener, raw)
    bare.run(lambda gw: tag_lock(gw, listener).acquire())
    now = tag_of(bare, listener)
    assert now.startswith(f"{ME}|p-me|") and LockValue.decode(now).expires > datetime.now(timezone.utc) + timedelta(
        minutes=14)


def test_taglock_gives_way_when_another_operator_wrote_after_it(bare):
    """Bob's write lands between our write and our confirming read: we give way, his lock stays."""
    listener, _ = bare.listener()
    raw, value = bobs(15)
    reads = []

    async def go(gw):
        def bob_writes(model, **_):
            reads.append(model.name)
            if model.name == "DescribeTags" and len(reads) == 2:
                put_tag(bare, listener, raw)
        (await gw.client("elbv2", REGION)).meta.events.register("before-call", bob_writes)
        await tag_lock(gw, listener).acquire()

    with pytest.raises(LockHeld) as e:
        bare.run(go)
    assert str(e.value) == f"web was just locked by {BOB} (plan p-bob) until {when(value.expires)}"
    assert tag_of(bare, listener) == raw


def test_taglock_writes_again_when_its_lock_vanished_before_it_was_confirmed(bare):
    listener, _ = bare.listener()
    reads = []

    async def go(gw):
        def vanish(model, **_):
            reads.append(model.name)
            if len(reads) == 2:
                bare.client("elbv2").remove_tags(ResourceArns=[listener], TagKeys=[LOCK_TAG])
        (await gw.client("elbv2", REGION)).meta.events.register("before-call", vanish)
        await tag_lock(gw, listener).acquire()

    bare.run(go)
    # read, write, confirm (gone) | read, write, confirm, confirm
    assert reads == ["DescribeTags"] * 5
    assert tag_of(bare, listener).startswith(f"{ME}|p-me|")


def test_taglock_refresh_renews_only_its_own_lock(bare):
    listener, _ = bare.listener()
    old = LockValue(ME, "p-me", datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1)).encode()
    put_tag(bare, listener, old)
    bare.run(lambda gw: then_close(tag_lock(gw, listener), "refresh"))
    renewed = LockValue.decode(tag_of(bare, listener))
    assert (renewed.owner, renewed.plan_id) == (ME, "p-me")
    assert renewed.expires > datetime.now(timezone.utc) + timedelta(minutes=14)


def test_taglock_refresh_of_a_lock_taken_over_or_removed_is_lost(bare):
    listener, _ = bare.listener()
    raw, value = bobs(10)
    put_tag(bare, listener, raw)
    with pytest.raises(LockLost) as e:
        bare.run(lambda gw: then_close(tag_lock(gw, listener), "refresh"))
    assert str(e.value) == f"web's lock is now held by {BOB} (plan p-bob) until {when(value.expires)}"
    assert tag_of(bare, listener) == raw
    bare.client("elbv2").remove_tags(ResourceArns=[listener], TagKeys=[LOCK_TAG])
    with pytest.raises(LockLost) as e:
        bare.run(lambda gw: then_close(tag_lock(gw, listener), "refresh"))
    assert str(e.value) == "web's lock was removed (by `fleettui unlock`?)"
    assert tag_of(bare, listener) is None


def test_taglock_refresh_that_loses_to_a_write_in_between_is_lost(bare):
    listener, _ = bare.listener()
    put_tag(bare, listener, LockValue(ME, "p-me", datetime.now(timezone.utc) + timedelta(minutes=1)).encode())
    raw, value = bobs(15)
    reads = []

    async def go(gw):
        def bob_writes(model, **_):
            reads.append(model.name)
            if len(reads) == 2:
                put_tag(bare, listener, raw)
        (await gw.client("elbv2", REGION)).meta.events.register("before-call", bob_writes)
        await then_close(tag_lock(gw, listener), "refresh")

    with pytest.raises(LockLost) as e:
        bare.run(go)
    assert str(e.value) == f"web's lock is now held by {BOB} (plan p-bob) until {when(value.expires)}"


def test_taglock_release_leaves_another_plans_lock_alone(bare):
    listener, _ = bare.listener()
    raw, _v = bobs(10)
    put_tag(bare, listener, raw)
    bare.run(lambda gw: tag_lock(gw, listener).release())
    assert tag_of(bare, listener) == raw


def test_taglock_holder_and_clear_only_what_the_operator_saw(bare):
    listener, _ = bare.listener()

    async def holder(gw):
        return await tag_lock(gw, listener).holder()

    assert bare.run(holder) is None
    put_tag(bare, listener, "garbage")
    seen = bare.run(holder)
    assert seen == Holder("garbage", None, "a malformed lock tag 'garbage' (not owner|plan|expiry)")
    raw, value = bobs(10)
    put_tag(bare, listener, raw)
    with pytest.raises(LockHeld) as e:
        bare.run(lambda gw: tag_lock(gw, listener).clear(seen))
    assert str(e.value) == "web's lock changed while you were deciding: run `fleettui unlock web` again"
    assert tag_of(bare, listener) == raw
    seen = bare.run(holder)
    assert seen == Holder(raw, "p-bob", value.describe())
    bare.run(lambda gw: tag_lock(gw, listener).clear(seen))
    assert tag_of(bare, listener) is None


def test_taglock_on_a_launch_template_when_there_is_no_listener(bare):
    ec2 = bare.client("ec2")
    name = f"web-lt-{datetime.now(timezone.utc):%H%M%S%f}"
    lt = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"InstanceType": "t3.micro"})
    lt_id = lt["LaunchTemplate"]["LaunchTemplateId"]

    def tags():
        return {t["Key"]: t["Value"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [lt_id]}])
                ["Tags"]}

    async def go(gw):
        lock = TagLock(gw, web(launch_template=name), ME, "p-me", settle=0)
        await lock.acquire()
        held = tags().get(LOCK_TAG)
        await lock.refresh()
        await lock.release()
        return held

    held = bare.run(go)
    assert held.startswith(f"{ME}|p-me|")
    assert LOCK_TAG not in tags()


def test_taglock_needs_something_to_hold_the_lock(bare):
    with pytest.raises(FleetError) as e:
        bare.run(lambda gw: TagLock(gw, web(), ME, "p-me", settle=0).acquire())
    assert str(e.value) == "web has neither listener_arn nor launch_template to hold a lock"
    with pytest.raises(FleetError) as e:
        bare.run(lambda gw: TagLock(gw, web(launch_template="no-such-lt"), ME, "p-me", settle=0).acquire())
    assert str(e.value) == "launch template no-such-lt not found in us-east-1: nothing to hold the lock"


def test_taglock_waits_longer_between_confirming_reads_on_real_aws(bare):
    async def settle(gw):
        return TagLock(gw, web(), ME, "p").settle
    assert bare.run(settle) == 0.2
    from fleettui.config import AwsConfig

    async def real():
        async with Gateway(AwsConfig(regions=(REGION,))) as gw:
            return TagLock(gw, web(), ME, "p").settle, TagLock(gw, web(), ME, "p", settle=0.5).settle
    import asyncio
    assert asyncio.run(real()) == (1.0, 0.5)


# ------------------------------------------------------------------------------------------------ DynamoLock

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402

from fleettui.aws.dynamodb import decode, encode  # noqa: E402
from fleettui.config import TeamConfig  # noqa: E402
from fleettui.domain.history import EventKind, Scope  # noqa: E402
from fleettui.domain.plan import Plan, Step  # noqa: E402
from fleettui.errors import AwsError  # noqa: E402
from fleettui.store import StoreError  # noqa: E402
from fleettui.store.dynamo import (  # noqa: E402
    MAX_BODY, DynamoLock, TeamJournal, TeamStatus, describe_lock, lock_live, team_lock_factory, team_status,
)
from fleettui.store.local import JsonlJournal  # noqa: E402

KEY = {"pk": "lock#web", "sk": "lock"}


def lock_item(bare, table: str) -> dict | None:
    got = bare.client("dynamodb").get_item(TableName=table, Key=encode(KEY), ConsistentRead=True).get("Item")
    return decode(got) if got else None


def put_lock(bare, table: str, *, plan: str = "p-bob", owner: str = BOB, expires_in: int = 600, **extra) -> dict:
    exp = int(time.time()) + expires_in
    item = {**KEY, "service": "web", "owner": owner, "plan_id": plan, "what": "shift web",
            "taken_at": "2026-11-30T12:00:00.000+00:00", "expires_at": exp,
            "expires": datetime.fromtimestamp(exp, timezone.utc).isoformat(timespec="seconds"), **extra}
    bare.client("dynamodb").put_item(TableName=table, Item=encode(item))
    return item


def dyn_lock(gw, table: str, plan: str = "p-me", **kw) -> DynamoLock:
    return DynamoLock(gw, web(), ME, plan, team=TeamConfig(table, REGION), what="shift web", **kw)


def test_dynamolock_takes_a_free_lock_with_every_field_and_releases_it(bare):
    table = bare.table()
    before = datetime.now(timezone.utc)

    async def go(gw):
        lock = dyn_lock(gw, table)
        await lock.acquire()
        item = lock_item(bare, table)
        holder = await lock.holder()
        await lock.release()
        assert lock._fast is None                 # its write gateway closed
        return item, holder

    item, holder = bare.run(go)
    after = datetime.now(timezone.utc)
    assert sorted(item) == ["expires", "expires_at", "owner", "pk", "plan_id", "service", "sk", "taken_at", "what"]
    assert {k: item[k] for k in ("pk", "sk", "service", "owner", "plan_id", "what")} == {
        **KEY, "service": "web", "owner": ME, "plan_id": "p-me", "what": "shift web"}
    assert before <= datetime.fromisoformat(item["taken_at"]) <= after
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", item["taken_at"])
    expires = datetime.fromisoformat(item["expires"])
    assert item["expires_at"] == int(expires.timestamp()) and item["expires"] == expires.isoformat(timespec="seconds")
    assert int((before + LOCK_TTL).timestamp()) <= item["expires_at"] <= (after + LOCK_TTL).timestamp()
    token = json.dumps(encode(item), sort_keys=True, separators=(",", ":"))      # the item exactly as read
    assert holder == Holder(token, "p-me", f"{ME} (shift web, plan p-me) until {when(expires)}")
    assert lock_item(bare, table) is None


def test_dynamolock_refuses_a_lock_another_live_plan_holds_naming_it(bare):
    table = bare.table()
    theirs = put_lock(bare, table)
    with pytest.raises(LockHeld) as e:
        bare.run(lambda gw: dyn_lock(gw, table).acquire())
    until = when(datetime.fromtimestamp(theirs["expires_at"], timezone.utc))
    assert str(e.value) == (f"web is locked by {BOB} (shift web, plan p-bob) until {until}: wait for it, or clear a "
                            "stale lock with `fleettui unlock web`")
    assert lock_item(bare, table) == theirs


@pytest.mark.parametrize("theirs", ["expired", "ours"])
def test_dynamolock_takes_over_an_expired_lock_and_retakes_its_own(bare, theirs):
    table = bare.table()
    put_lock(bare, table, expires_in=-2) if theirs == "expired" else put_lock(bare, table, plan="p-me", owner=ME)
    bare.run(lambda gw: then_close(dyn_lock(gw, table), "acquire"))
    item = lock_item(bare, table)
    assert (item["owner"], item["plan_id"]) == (ME, "p-me") and item["taken_at"] != "2026-11-30T12:00:00.000+00:00"
    assert item["expires_at"] > time.time() + 14 * 60


def test_dynamolock_on_a_table_it_cannot_use_takes_nothing_and_says_why(bare):
    with pytest.raises(AwsError) as e:
        bare.run(lambda gw: dyn_lock(gw, "no-such-table").acquire())
    assert e.value.code == "ResourceNotFoundException"
    assert str(e.value).startswith("the team table no-such-table (us-east-1) could not be used: dynamodb:put_item in "
                                   "us-east-1 failed: ResourceNotFoundException")
    assert str(e.value).endswith("; the lock on web was not taken and nothing was changed")


def test_dynamolock_whose_write_failed_takes_back_what_may_be_its_own(bare):
    """A lock write AWS answered with an error (here: the item is too large) may still have been ours from an
    earlier attempt: the lock deletes its own item (plan_id = ours) before it stops."""
    table = bare.table()
    put_lock(bare, table, plan="p-me", owner=ME)

    async def go(gw):
        lock = DynamoLock(gw, web(), ME, "p-me", team=TeamConfig(table, REGION), what="x" * 500_000)
        await lock.acquire()

    with pytest.raises(AwsError) as e:
        bare.run(go)
    assert e.value.code == "ValidationException"
    assert lock_item(bare, table) is None


def test_dynamolock_whose_write_failed_never_takes_back_another_operators_lock(bare):
    table = bare.table()
    theirs = put_lock(bare, table)

    async def go(gw):
        lock = DynamoLock(gw, web(), ME, "p-me", team=TeamConfig(table, REGION), what="x" * 500_000)
        await lock.acquire()

    with pytest.raises(AwsError) as e:
        bare.run(go)
    assert e.value.code == "ValidationException"
    assert lock_item(bare, table) == theirs


def test_dynamolock_refresh_renews_only_its_own_lock(bare):
    table = bare.table()
    put_lock(bare, table, plan="p-me", owner=ME, expires_in=60)
    bare.run(lambda gw: then_close(dyn_lock(gw, table, ttl=timedelta(hours=1)), "refresh"))
    item = lock_item(bare, table)
    assert item["expires_at"] >= int(time.time()) + 3600 - 5
    assert item["expires"] == datetime.fromtimestamp(item["expires_at"], timezone.utc).isoformat(timespec="seconds")
    assert (item["owner"], item["plan_id"], item["taken_at"]) == (ME, "p-me", "2026-11-30T12:00:00.000+00:00")


def test_dynamolock_refresh_of_a_lock_taken_over_or_removed_is_lost(bare):
    table = bare.table()
    theirs = put_lock(bare, table)
    with pytest.raises(LockLost) as e:
        bare.run(lambda gw: then_close(dyn_lock(gw, table), "refresh"))
    assert str(e.value) == f"web's lock is now held by {describe_lock(theirs)}"
    assert lock_item(bare, table) == theirs
    bare.client("dynamodb").delete_item(TableName=table, Key=encode(KEY))
    with pytest.raises(LockLost) as e:
        bare.run(lambda gw: then_close(dyn_lock(gw, table), "refresh"))
    assert str(e.value) == "web's lock was removed (by `fleettui unlock`?)"
    assert lock_item(bare, table) is None


def test_dynamolock_release_refuses_another_plans_lock_and_accepts_one_already_gone(bare):
    table = bare.table()
    theirs = put_lock(bare, table)
    with pytest.raises(LockHeld) as e:
        bare.run(lambda gw: dyn_lock(gw, table).release())
    assert str(e.value) == f"web's lock is not ours to release: held by {describe_lock(theirs)}"
    assert lock_item(bare, table) == theirs
    bare.client("dynamodb").delete_item(TableName=table, Key=encode(KEY))
    bare.run(lambda gw: dyn_lock(gw, table).release())
    assert lock_item(bare, table) is None


def test_dynamolock_clear_removes_only_the_lock_the_operator_saw(bare):
    table = bare.table()
    put_lock(bare, table)

    async def holder(gw):
        return await dyn_lock(gw, table).holder()

    seen = bare.run(holder)
    assert json.loads(seen.token) == encode(lock_item(bare, table)) and seen.plan_id == "p-bob"
    retaken = put_lock(bare, table, taken_at="2026-11-30T12:05:00.000+00:00")
    with pytest.raises(LockHeld) as e:
        bare.run(lambda gw: dyn_lock(gw, table).clear(seen))
    assert str(e.value) == "web's lock changed while you were deciding: run `fleettui unlock web` again"
    assert lock_item(bare, table) == retaken
    seen = bare.run(holder)
    bare.run(lambda gw: dyn_lock(gw, table).clear(seen))
    assert lock_item(bare, table) is None
    assert bare.run(holder) is None


def test_lock_items_are_described_and_judged_live_exactly():
    exp = int(datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp())
    t = datetime.fromtimestamp(exp, timezone.utc)
    assert describe_lock({"owner": "o", "plan_id": "p", "expires_at": exp, "what": "shift web"}) == \
        f"o (shift web, plan p) until {when(t)}"
    assert describe_lock({"owner": "o", "plan_id": "p", "expires_at": exp, "what": ""}) == f"o (plan p) until {when(t)}"
    # issue 23: an item without owner or expiry is said to be malformed (it blocks: the take condition needs a
    # past expiry), never "? (plan ?) until 1970 (expired 29944633 min ago)"
    assert describe_lock({"expires_at": exp}) == f"a malformed lock item (no owner or plan): expires_at {exp}"
    assert describe_lock({}) == "a malformed lock item (no expiry: it never expires by itself): no fields"
    assert [lock_live(i, now=100) for i in (None, {}, {"expires_at": 99}, {"expires_at": 100}, {"expires_at": 101})] \
        == [False, True, False, True, True]
    assert lock_live({}, now=0) and lock_live({"expires_at": 1}, now=0)
    assert lock_live({"expires_at": 1060}, now=1000) and not lock_live({"expires_at": 999}, now=1000)


def test_team_lock_factory_makes_dynamo_locks_on_its_table(bare):
    team = TeamConfig("fleettui", "eu-west-1")
    factory = team_lock_factory(team)
    assert factory.team is team

    async def go(gw):
        lock = factory(gw, web(), ME, "p-me", what="shift web")
        return type(lock), lock.gw is gw, lock.team, lock.owner, lock.plan_id, lock.what, lock.ttl, lock.key
    assert bare.run(go) == (DynamoLock, True, team, ME, "p-me", "shift web", LOCK_TTL, KEY)

    async def plain(gw):
        return factory(gw, web(), ME, "p-me").what
    assert bare.run(plain) == ""


# ------------------------------------------------------------------------------------------------ TeamJournal

ACCOUNT = "123456789012"


def team_journal(bare, tmp_path, table: str) -> TeamJournal:
    # every event a millisecond after the last, whatever the machine's speed
    tj = TeamJournal(JsonlJournal(tmp_path / "journal.jsonl", clock=VirtualClock(tick=0.001)), bare.aws,
                     TeamConfig(table, REGION))
    tj.bind(Scope(account=ACCOUNT, endpoint=bare.endpoint_url))
    tj.operator = ME
    return tj


def a_plan(pid: str = "p-1") -> Plan:
    return Plan(id=pid, verb="shift", service="web", summary="shift web: 1.6.0 0→100%", steps=(
        Step("s1", "set_weights", REGION, "set weights"),))


def write_plan(tj: TeamJournal, pid: str = "p-1") -> list[dict]:
    return [tj.append(EventKind.PLAN_CREATED, pid, service="web", verb="shift", who=ME, reason="canary ok",
                      region=REGION, plan=a_plan(pid).to_dict()),
            tj.append(EventKind.STEP_STARTED, pid, step="s1", kind="set_weights", region=REGION),
            tj.append(EventKind.STEP_FAILED, pid, step="s1", error="throttled", request_ids=[]),
            tj.append(EventKind.PLAN_FINISHED, pid, status="failed", failed_step="s1")]


def audit_items(bare, table: str) -> list[dict]:
    out = bare.client("dynamodb").scan(TableName=table)["Items"]
    return sorted((decode(i) for i in out), key=lambda i: i["sk"])


def test_team_journal_writes_ahead_locally_queues_and_flushes_every_event_with_its_fields(bare, tmp_path):
    table = bare.table()
    tj = team_journal(bare, tmp_path, table)
    records = write_plan(tj)
    assert list(tj.events()) == records                     # the local journal: the write-ahead record
    assert tj.pending() == 4 and audit_items(bare, table) == []
    assert bare.run(tj.flush) == 0
    assert tj.pending() == 0 and tj.last_error is None and tj.outbox.read_text() == ""
    items = audit_items(bare, table)
    common = {"pk": "audit#web", "plan_id": "p-1", "service": "web", "operator": ME, "account": ACCOUNT,
              "endpoint": bare.endpoint_url, "verb": "shift", "summary": "shift web: 1.6.0 0→100%",
              "reason": "canary ok"}
    for item, record in zip(items, records):
        assert re.fullmatch(rf"{re.escape(record['ts'])}#p-1#{os.getpid()}-\d{{6}}", item["sk"])
        assert item.pop("sk") and item.pop("body") == json.dumps(record, separators=(",", ":"), default=str)
    assert items == [
        {**common, "ts": records[0]["ts"], "seq": records[0]["seq"], "event": "plan_created"},
        {**common, "ts": records[1]["ts"], "seq": records[1]["seq"], "event": "step_started", "step": "s1"},
        {**common, "ts": records[2]["ts"], "seq": records[2]["seq"], "event": "step_failed", "step": "s1", "error": "throttled"},
        {**common, "ts": records[3]["ts"], "seq": records[3]["seq"], "event": "plan_finished", "status": "failed", "outcome": "failed"},
    ]
    assert tj.where == f"{tmp_path / 'journal.jsonl'} + team table {table} (us-east-1)"


def test_team_journal_names_the_plan_of_an_event_from_the_local_journal(bare, tmp_path):
    """A TeamJournal opened after the plan was created (a resume) still gives every item its verb, summary and
    reason, from the plan_created in the local journal; an event's own service wins."""
    table = bare.table()
    write_plan(team_journal(bare, tmp_path, table))
    tj = team_journal(bare, tmp_path, table)
    tj.operator = None
    tj.append(EventKind.STEP_STARTED, "p-1", step="s1", kind="set_weights", region=REGION)
    tj.append(EventKind.WARNING, "p-unknown", message="?", who=BOB)
    tj.append(EventKind.LOCK_CLEARED, "p-2", service="api", reason="stale")
    assert bare.run(tj.flush) == 0
    items = {i["plan_id"]: i for i in audit_items(bare, table) if i["event"] in ("step_started", "warning",
                                                                                   "lock_cleared")}
    assert (items["p-1"]["verb"], items["p-1"]["summary"], items["p-1"]["reason"], items["p-1"]["operator"]) == (
        "shift", "shift web: 1.6.0 0→100%", "canary ok", "unknown")
    assert (items["p-unknown"]["pk"], items["p-unknown"]["operator"], "verb" in items["p-unknown"]) == (
        "audit#-", BOB, False)
    assert (items["p-2"]["pk"], items["p-2"]["service"], items["p-2"]["reason"]) == ("audit#api", "api", "stale")


def test_a_flush_sets_aside_what_the_table_refuses_and_sends_the_rest(bare, tmp_path):
    """Issue 23 item 3: an item the table refuses as such (an empty key: ValidationException) and lines that are not
    items (torn, foreign) are set aside in the unsent file, each with why; what comes after them is sent."""
    table = bare.table()
    tj = team_journal(bare, tmp_path, table)
    write_plan(tj)
    bad = {"pk": "audit#web", "sk": " ", "event": "torn", "body": "x" * 500_000}     # over DynamoDB's item size
    with open(tj.outbox, "a") as fh:
        fh.write("{not json\n" + json.dumps(bad) + "\n" + json.dumps({"pk": 1}) + "\n")
    tj.append(EventKind.WARNING, "p-1", message="after")
    assert tj.pending() == 6
    assert bare.run(tj.flush) == 0 and tj.last_error is None
    assert [i["event"] for i in audit_items(bare, table)] == ["plan_created", "step_started", "step_failed",
                                                              "plan_finished", "warning"]
    assert tj.outbox.read_text() == ""
    unsent = tj.unsent()
    assert [u["line"] for u in unsent] == ["{not json", json.dumps(bad, separators=(",", ":")), '{"pk": 1}']
    assert unsent[0]["error"].startswith("line 5 of the outbox is not an event (a torn or foreign line")
    assert unsent[1]["error"].startswith("dynamodb:put_item in us-east-1 failed: ValidationException")


def test_a_flush_to_a_missing_table_sends_nothing_and_a_read_only_one_tries_nothing(bare, tmp_path):
    # a name of its own each time: moto keeps its tables for the process, and mutmut runs the tests twice in one
    # (its stats run, then its clean run), so a fixed name exists already the second time
    table = f"fleettui-not-yet-{__import__('uuid').uuid4().hex[:8]}"
    tj = team_journal(bare, tmp_path, table)
    write_plan(tj)
    assert bare.run(tj.flush) == 4
    assert tj.last_error.startswith("dynamodb:put_item in us-east-1 failed: ResourceNotFoundException")
    bare.client("dynamodb").create_table(TableName=table, **__import__("bare_aws").TABLE_SPEC)
    assert bare.run(tj.flush, read_only=True) == 4
    assert audit_items(bare, table) == []
    assert bare.run(tj.flush) == 0 and tj.last_error is None
    assert len(audit_items(bare, table)) == 4
    assert bare.run(tj.flush) == 0


def test_an_outbox_that_cannot_be_written_is_a_store_error_naming_the_event(bare, tmp_path):
    tj = team_journal(bare, tmp_path, "t")
    tj.outbox.mkdir(parents=True)
    with pytest.raises(StoreError) as e:
        tj.append(EventKind.STEP_STARTED, "p-1", step="s1")
    assert str(e.value) == f"the team outbox {tj.outbox} could not be written: Is a directory"
    assert (e.value.event, e.value.step) == ("step_started", "s1")
    with pytest.raises(StoreError) as e:
        tj.pending()
    assert str(e.value) == f"the team outbox {tj.outbox} cannot be read: Is a directory"


def test_the_team_history_reads_back_as_journal_events_and_plan_states(bare, tmp_path):
    table = bare.table()
    tj = team_journal(bare, tmp_path, table)
    records = write_plan(tj)
    huge = tj.append(EventKind.WARNING, "p-1", message="x" * (MAX_BODY + 1), step="s1")
    assert bare.run(tj.flush) == 0
    events = bare.run(lambda gw: tj.team_events(gw, ["web", "api"]))
    assert events[:4] == records
    # over-size: its body cut to fit, and saying so (issue 23: never an item without its body)
    assert events[4] == {**huge, "message": "x" * 200 + f"…({MAX_BODY + 1 - 200} more)", "cut": (
        f"the event was {len(json.dumps(huge, separators=(',', ':'))):,} characters: texts over 200 and lists over 50 "
        "items shortened")}
    states = bare.run(lambda gw: tj.team_records(gw, ["web"]))
    assert list(states) == ["p-1"] and states["p-1"].status == "failed" and states["p-1"].failed == {"s1": "throttled"}
    assert bare.run(lambda gw: tj.team_records(gw, ["web"], since=records[1]["ts"])) == {}   # no plan_created since
    since = bare.run(lambda gw: tj.team_items(gw, ["web"], since=records[2]["ts"]))
    assert [i["event"] for i in since] == ["step_failed", "plan_finished", "warning"]
    newest = bare.run(lambda gw: tj.team_items(gw, ["web"], newest=2))
    assert [i["event"] for i in newest] == ["plan_finished", "warning"]
    with pytest.raises(AwsError) as e:
        bare.run(lambda gw: team_journal(bare, tmp_path, "nope").team_items(gw, ["web"]))
    assert str(e.value).startswith("the team table nope (us-east-1) could not be used: dynamodb:query")
    assert e.value.code == "ResourceNotFoundException"


def test_team_status_shows_a_live_lock_and_the_last_change_that_succeeded(bare, tmp_path):
    table = bare.table()
    tj = team_journal(bare, tmp_path, table)
    write_plan(tj, "p-1")
    tj.append(EventKind.PLAN_CREATED, "p-2", who=ME, reason="", plan=a_plan("p-2").to_dict())
    tj.append(EventKind.PLAN_FINISHED, "p-2", status="succeeded")
    write_plan(tj, "p-3")
    bare.run(tj.flush)
    lock = put_lock(bare, table)
    team = TeamConfig(table, REGION)
    got = bare.run(lambda gw: team_status(gw, team, ["web", "api"]))
    assert list(got) == ["web", "api"] and got["api"] == TeamStatus(None, None)
    assert got["web"].lock.item == lock and (got["web"].last["plan_id"], got["web"].last["outcome"]) == ("p-2", "succeeded")
    # a newer success, then a newer one still as an older version wrote it (status, no outcome): the newest wins
    tj.append(EventKind.PLAN_CREATED, "p-4", who=ME, reason="", plan=a_plan("p-4").to_dict())
    tj.append(EventKind.PLAN_FINISHED, "p-4", status="succeeded")
    bare.run(tj.flush)
    assert bare.run(lambda gw: team_status(gw, team, ["web"]))["web"].last["plan_id"] == "p-4"
    old = {"pk": "audit#web", "sk": "9999-01-01T00:00:00.000Z#p-5#1-000001", "ts": "9999-01-01T00:00:00.000Z",
           "event": "plan_finished", "plan_id": "p-5", "service": "web", "status": "succeeded"}
    bare.client("dynamodb").put_item(TableName=table, Item=encode(old))
    assert bare.run(lambda gw: team_status(gw, team, ["web"]))["web"].last == old
    put_lock(bare, table, expires_in=-1)
    assert bare.run(lambda gw: team_status(gw, team, ["web"]))["web"].lock is None
    with pytest.raises(AwsError) as e:
        bare.run(lambda gw: team_status(gw, TeamConfig("nope", REGION), ["web"]))
    assert str(e.value).startswith("the team table nope (us-east-1) could not be used: dynamodb:")
    assert e.value.code == "ResourceNotFoundException"


def test_team_status_reads_only_the_newest_25_items(bare, tmp_path):
    table = bare.table()
    tj = team_journal(bare, tmp_path, table)
    tj.append(EventKind.PLAN_CREATED, "p-1", who=ME, reason="", plan=a_plan("p-1").to_dict())
    tj.append(EventKind.PLAN_FINISHED, "p-1", status="succeeded")
    for n in range(25):
        tj.append(EventKind.WARNING, "p-1", message=f"later {n}")
    bare.run(tj.flush)
    team = TeamConfig(table, REGION)
    assert bare.run(lambda gw: team_status(gw, team, ["web"]))["web"].last is None
    assert bare.run(lambda gw: team_status(gw, team, ["web"], recent=26))["web"].last["plan_id"] == "p-1"


# ------------------------------------------------------------------------------------------------ writes that fail

from bare_aws import Bare  # noqa: E402
from faults import FaultProxy  # noqa: E402
from fleettui.aws.gateway import MutationRefused  # noqa: E402


@pytest.fixture(scope="module")
def proxy(aws_server):
    with FaultProxy(aws_server.endpoint_url) as p:
        yield p


@pytest.fixture
def faulty(bare, proxy) -> tuple[Bare, FaultProxy]:
    """The gateway goes through the fault proxy (the test's boto3 straight to moto)."""
    proxy.requests.clear()
    proxy._scripts.clear()
    return Bare(bare.endpoint_url, via=proxy.url), proxy


def test_taglock_writes_once_per_attempt_and_reads_again_before_writing_again(faulty):
    """A throttled lock write is not retried by botocore (it could land late, over a lock taken meanwhile): the
    lock reads again, then writes again -- and the write gateway is closed at the end."""
    bare, proxy = faulty
    listener, _ = bare.listener()
    proxy.script("elasticloadbalancing.AddTags", "throttle")

    async def go(gw):
        lock = tag_lock(gw, listener)
        await lock.acquire()
        await lock.close()

    bare.run(go)
    assert tag_of(bare, listener).startswith(f"{ME}|p-me|")
    # read, write (throttled), read (not ours), read, write, confirm, confirm
    assert (proxy.requests["elasticloadbalancing.AddTags"], proxy.requests["elasticloadbalancing.DescribeTags"]) == \
        (2, 5)


def test_taglock_gives_up_after_its_attempts_and_says_nothing_was_changed(faulty, monkeypatch):
    """Five throttled writes, each followed by a read after a backoff that doubles from ``settle`` up to 2 s (the
    sleeps are recorded, not waited), then LockHeld saying nothing was changed."""
    import asyncio

    sleeps = []
    real_sleep = asyncio.sleep

    async def sleep(delay, *a, **k):
        if delay:
            sleeps.append(delay)
        return await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    bare, proxy = faulty
    listener, _ = bare.listener()
    proxy.script("elasticloadbalancing.AddTags", *["throttle"] * 5)
    with pytest.raises(LockHeld) as e:
        bare.run(lambda gw: TagLock(gw, web(listener_arn=listener), ME, "p-me", settle=0.5).acquire())
    assert sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert str(e.value) == ("could not take web's lock after 5 attempts (AWS kept throttling or losing the writes): "
                            "nothing was changed, try again")
    assert proxy.requests["elasticloadbalancing.AddTags"] == 5 and tag_of(bare, listener) is None


def test_taglock_stops_at_a_write_aws_refuses_for_good(bare):
    """A lock write refused with a code that is not a throttle (AccessDenied, answered by a botocore before-call
    hook on the write gateway's client): no retry, the error as it is, the write gateway closed."""
    from botocore.awsrequest import AWSResponse

    listener, _ = bare.listener()
    writes = []

    def denied(model, **_):
        writes.append(model.name)
        return AWSResponse("http://denied", 403, {}, None), {
            "Error": {"Code": "AccessDenied", "Message": "not allowed"}, "ResponseMetadata": {"RequestId": "r-1"}}

    async def go(gw):
        lock = tag_lock(gw, listener)
        (await (await lock._gateway_once()).client("elbv2", REGION)).meta.events.register("before-call", denied)
        try:
            await lock.acquire()
        finally:
            writes.append(lock._once is None)

    with pytest.raises(AwsError) as e:
        bare.run(go)
    assert str(e.value) == "access denied for elbv2:add_tags in us-east-1: not allowed"
    assert writes == ["AddTags", True] and tag_of(bare, listener) is None


def test_taglock_in_read_only_mode_writes_nothing(bare):
    listener, _ = bare.listener()
    with pytest.raises(MutationRefused):
        bare.run(lambda gw: tag_lock(gw, listener).acquire(), read_only=True)
    assert tag_of(bare, listener) is None


def test_taglock_refused_closes_its_write_gateway(bare):
    listener, _ = bare.listener()
    put_tag(bare, listener, bobs(10)[0])

    async def go(gw):
        lock = tag_lock(gw, listener)
        with pytest.raises(LockHeld):
            await lock.acquire()
        await lock._gateway_once()
        await lock.release()
        return lock._once
    assert bare.run(go) is None


def test_dynamolock_in_read_only_mode_writes_nothing(bare):
    table = bare.table()
    with pytest.raises(AwsError) as e:
        bare.run(lambda gw: dyn_lock(gw, table).acquire(), read_only=True)
    assert str(e.value) == (f"the team table {table} (us-east-1) could not be used: read-only mode: refused "
                            "dynamodb:PutItem (start without --read-only to act); the lock on web was not taken and "
                            "nothing was changed")
    assert e.value.code == ""                  # AWS did not answer: no code (the contract of AwsError.code)
    assert lock_item(bare, table) is None


def test_dynamolock_refused_by_a_lock_released_in_between_says_so(bare):
    table = bare.table()
    put_lock(bare, table)

    async def go(gw):
        def released(model, **_):
            if model.name == "GetItem":
                bare.client("dynamodb").delete_item(TableName=table, Key=encode(KEY))
        (await gw.client("dynamodb", REGION)).meta.events.register("before-call", released)
        await dyn_lock(gw, table).acquire()

    with pytest.raises(LockHeld) as e:
        bare.run(go)
    assert str(e.value) == ("web is locked by another operator's plan (its lock is already released: try again): "
                            "wait for it, or clear a stale lock with `fleettui unlock web`")


# ------------------------------------------------------------------------------------------------ TeamJournal details

def test_team_journal_items_keep_2000_characters_of_a_field_and_leave_out_empty_ones(bare, tmp_path):
    table = bare.table()
    tj = team_journal(bare, tmp_path, table)
    tj.append(EventKind.PLAN_CREATED, "p-1", who=ME, reason="r" * 2500, plan=a_plan().to_dict())
    tj.append(EventKind.STEP_FAILED, "p-1", step="s1", error="")
    tj.append(EventKind.PLAN_FINISHED, "p-1")
    bare.run(tj.flush)
    created, failed, finished = audit_items(bare, table)
    assert created["reason"] == "r" * 2000
    assert "error" not in failed and failed["step"] == "s1"
    assert finished["outcome"] == "" and "status" not in finished


def test_team_journal_learns_a_new_plan_after_reading_the_local_journal(bare, tmp_path):
    table = bare.table()
    write_plan(team_journal(bare, tmp_path, table), "p-1")
    tj = team_journal(bare, tmp_path, table)
    tj.append(EventKind.STEP_STARTED, "p-1", step="s1")                 # reads the local journal's plans
    tj.append(EventKind.PLAN_CREATED, "p-9", who=ME, reason="new", plan=Plan(
        id="p-9", verb="rollback", service="api", summary="rollback api", steps=()).to_dict())
    tj.append(EventKind.STEP_STARTED, "p-9", step="s1")
    bare.run(tj.flush)
    step = [i for i in audit_items(bare, table) if i["plan_id"] == "p-9" and i["event"] == "step_started"][0]
    assert (step["pk"], step["verb"], step["summary"], step["reason"]) == ("audit#api", "rollback", "rollback api",
                                                                           "new")


def test_team_journal_is_the_local_journal_for_reading(bare, tmp_path):
    tj = team_journal(bare, tmp_path, "t")
    assert tj.local.scope == Scope(account=ACCOUNT, endpoint=bare.endpoint_url)
    tj.warnings = ["w"]
    assert tj.local.warnings == ["w"] and tj.warnings == ["w"]
    (tmp_path / "journal.jsonl").write_text("torn\n")
    assert list(tj.events()) == [] and tj.warnings == [f"journal {tmp_path / 'journal.jsonl'}: skipped line 1: "
                                                       "not JSON (a torn or foreign line)"]


def test_a_body_of_exactly_max_body_is_kept(bare, tmp_path):
    table = bare.table()
    tj = team_journal(bare, tmp_path, table)
    first = tj.append(EventKind.WARNING, "p-1", message="")
    size = len(json.dumps(first, separators=(",", ":")))
    nxt = tj.local.path.stat().st_size           # the next event's seq: where it starts in the journal
    exact_size = len(json.dumps({**first, "seq": nxt}, separators=(",", ":")))
    exact = tj.append(EventKind.WARNING, "p-1", message="x" * (MAX_BODY - exact_size))
    assert len(json.dumps(exact, separators=(",", ":"))) == MAX_BODY
    bare.run(tj.flush)
    assert [len(i.get("body", "")) for i in audit_items(bare, table)] == [size, MAX_BODY]


def test_team_events_of_an_item_whose_body_is_not_json_are_skipped_naming_it_and_without_one_from_its_fields(
        bare, tmp_path):
    table = bare.table()
    tj = team_journal(bare, tmp_path, table)
    item = {"pk": "audit#web", "sk": "2026-11-30T12:00:00.000Z#p-1#1-000001", "ts": "2026-11-30T12:00:00.000Z",
            "event": "step_failed", "plan_id": "p-1", "service": "web", "step": "s1", "error": "boom",
            "operator": BOB, "body": "{torn"}
    bare.client("dynamodb").put_item(TableName=table, Item=encode(item))
    bare.client("dynamodb").put_item(TableName=table, Item=encode({**item, "sk": item["sk"] + "2", "body": "[1]"}))
    bare.client("dynamodb").put_item(TableName=table, Item=encode({k: v for k, v in item.items() if k != "body"}
                                                                  | {"sk": item["sk"] + "3"}))
    events = bare.run(lambda gw: tj.team_events(gw, ["web"]))
    fields = {"ts": "2026-11-30T12:00:00.000Z", "event": "step_failed", "plan_id": "p-1", "service": "web",
              "step": "s1", "error": "boom", "who": BOB}
    assert events == [fields]
    assert tj.team_warnings == [
        f"team table {table}: skipped item audit#web {item['sk']}: its body is not JSON (not written by fleettui)",
        f"team table {table}: skipped item audit#web {item['sk']}2: not a JSON object (list)"]


def test_team_journal_items_without_a_scope_name_no_account(bare, tmp_path):
    table = bare.table()
    tj = TeamJournal(JsonlJournal(tmp_path / "journal.jsonl"), bare.aws, TeamConfig(table, REGION))
    tj.append(EventKind.STEP_STARTED, "p-1", step="s1", service="web")
    assert bare.run(tj.flush) == 0
    (item,) = audit_items(bare, table)
    assert "account" not in item and "endpoint" not in item and item["operator"] == "unknown"
    assert os.stat(tj.outbox.with_suffix(".lock")).st_mode & 0o777 == 0o600


def test_team_items_of_several_services_merge_in_time_then_key_order(bare, tmp_path):
    table = bare.table()
    ddb = bare.client("dynamodb")
    for pk, sk, ts in (("audit#web", "T2#p-2#1-000002", "T2"), ("audit#api", "T2#p-1#1-000003", "T2"),
                       ("audit#web", "T1#p-9#1-000001", "T1"), ("audit#api", "T3#p-3#1-000004", "T3")):
        ddb.put_item(TableName=table, Item=encode({"pk": pk, "sk": sk, "ts": ts, "event": "warning"}))
    tj = team_journal(bare, tmp_path, table)
    items = bare.run(lambda gw: tj.team_items(gw, ["web", "api"]))
    assert [i["sk"] for i in items] == ["T1#p-9#1-000001", "T2#p-1#1-000003", "T2#p-2#1-000002", "T3#p-3#1-000004"]


def test_dynamolock_writes_at_most_4_times_then_says_the_table_could_not_be_used(faulty, monkeypatch):
    from faults import RetryClock

    RetryClock(monkeypatch, factor=100)
    bare, proxy = faulty
    table = bare.table()
    proxy.script("dynamodb.PutItem", *["throttle"] * 4)
    with pytest.raises(AwsError) as e:
        bare.run(lambda gw: dyn_lock(gw, table).acquire())
    assert e.value.code == "ThrottlingException" or e.value.code == "Throttling"
    assert proxy.requests["dynamodb.PutItem"] == 4 and lock_item(bare, table) is None
