"""The demo fleet on a moto server of its own, in this separate process, with IAM authentication switched on.

Run by tests/test_iam_enforced.py as ``python tests/iam_emulator.py CONFIG_PATH``. moto's authentication switch is
process-global, so it is turned on here and never in the test session's own emulator. Seeding backdates through
moto's in-process backends, so it is done here too, before the switch:

1. start the emulator and seed the demo fleet (authentication off);
2. write the demo config to CONFIG_PATH and generate fleettui's policies from it (``fleettui iam policy``);
3. create the IAM users: ``operator`` (the operator policy), ``reader`` (the read-only policy), ``team`` (the
   operator policy of the same config with ``[team]``, written beside it as team.toml, the team table created),
   ``team-before-23`` (that policy with the team-table statement issue 23 replaced) and ``admin`` (everything: the
   test reads and prepares AWS state with it); moto is taught ``dynamodb:LeadingKeys`` (:func:`enforce_leading_keys`);
4. switch authentication on, print one JSON line (endpoint, keys, the fleet's ids), and serve until stdin closes.

moto checks the *action* of every request against the caller's policies, and neither resources (it matches a
statement's Resource against "*") nor the condition operators used here. The policies are therefore attached with
every Resource widened to "*": what is proven is that the generated action set is sufficient for every verb,
and that AWS refuses mutations the read-only policy does not grant. The resources and conditions are checked by
reading (tests/test_iam_policy.py, README "Permissions").
"""
from __future__ import annotations

import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def widened_for_moto(doc: dict) -> dict:
    return {**doc, "Statement": [{**st, "Resource": "*"} for st in doc["Statement"]]}


# the team-table statement of the operator policy before issue 23: every item write on both partitions
OLD_TEAM_STATEMENT = {"Sid": "FleettuiTeamTableItems", "Effect": "Allow",
                      "Action": ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                      "Resource": "*",
                      "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["lock#*", "audit#*"]}}}


def enforce_leading_keys() -> None:
    """Teach moto one condition of the team table's statements, as AWS evaluates it: ``dynamodb:LeadingKeys`` (the
    partition key of the item a request writes) under ``ForAllValues:StringLike``. moto checks a statement's
    condition only for the context keys it is given values for -- it is given none -- and takes an Allow statement
    whose condition fails for a Deny; here a request is judged statement by statement as IAM does (a condition that
    fails: the statement does not apply), so the audit's append-only statements are really enforced."""
    import re

    from moto.iam import access_control, policy_conditions
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    def string_like(expected, actual: str) -> bool:
        patterns = expected if isinstance(expected, list) else [expected]
        return any(re.fullmatch(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."), actual) for p in patterns)

    policy_conditions.CONDITION_OPERATIONS["ForAllValues:StringLike"] = string_like

    def leading_keys(request) -> dict[str, str]:
        if request._service != "dynamodb":
            return {}
        try:
            body = json.loads(request._body or "{}")
        except (ValueError, TypeError):
            return {}
        key = body.get("Key") or body.get("Item") or {}
        pk = (key.get("pk") or {}).get("S") if isinstance(key, dict) else None
        return {"dynamodb:LeadingKeys": pk} if isinstance(pk, str) else {}

    def statement_result(st: dict, action: str, resource: str, values: dict) -> PermissionResult:
        s = IAMPolicyStatement(st)
        concerned = (s._check_element_matches("Action", action) if "Action" in st
                     else not s._check_element_matches("NotAction", action))
        if not concerned or not s._check_conditions(values):
            return PermissionResult.NEUTRAL
        if st.get("Resource") and not s._check_element_matches("Resource", resource):
            return PermissionResult.NEUTRAL
        return PermissionResult.PERMITTED if st["Effect"] == "Allow" else PermissionResult.DENIED

    def check_action_permitted(self, resource: str) -> None:
        if self._action == "sts:GetCallerIdentity":
            return
        values = leading_keys(self)
        permitted = False
        for policy in self._access_key.collect_policies():
            doc = access_control.IAMPolicy(policy)._policy_json
            statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
            for st in statements:
                result = statement_result(st, self._action, resource, values)
                if result == PermissionResult.DENIED:
                    self._raise_access_denied()
                permitted = permitted or result == PermissionResult.PERMITTED
        if self._is_assuming_role_operation(resource):
            permitted = permitted and self._check_role_trust_relationship(resource)
        if not permitted:
            self._raise_access_denied()

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted


def main(config_path: str) -> None:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    from fleettui.aws.policy import generate
    from fleettui.config import load_config
    from fleettui.context import demo_team
    from fleettui.emulator import create_team_table
    from fleettui.emulator.scenarios.demo import demo_config_text, seed_demo_fleet
    from fleettui.emulator.server import EmbeddedAws, boto3_client

    server = EmbeddedAws()
    try:
        fleet = seed_demo_fleet(server.endpoint_url)
        create_team_table(server.endpoint_url, **demo_team())
        path = pathlib.Path(config_path)
        path.write_text(demo_config_text(fleet, server.endpoint_url), encoding="utf-8")
        team_path = path.with_name("team.toml")          # the same fleet in team mode (the demo's table)
        team_path.write_text(path.read_text(encoding="utf-8") + '\n[team]\ntable = "fleettui"\n', encoding="utf-8")
        config = load_config(path)
        team = generate(load_config(team_path), operator=True).document
        old_team = {**team, "Statement": [st for st in team["Statement"] if st["Sid"] not in (
            "FleettuiTeamLockItems", "FleettuiTeamAuditItems")] + [OLD_TEAM_STATEMENT]}
        policies = {"operator": generate(config, operator=True).document,
                    "reader": generate(config, operator=False).document,
                    "team": team, "team-before-23": old_team,
                    "admin": {"Version": "2012-10-17",
                              "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}
        iam = boto3_client("iam", "us-east-1", server.endpoint_url)
        keys = {}
        for user, doc in policies.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName=f"fleettui-{user}",
                                PolicyDocument=json.dumps(widened_for_moto(doc)))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        # from here on every request is authenticated and its action checked against the caller's policies
        enforce_leading_keys()
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        print(json.dumps({"endpoint_url": server.endpoint_url, "keys": keys, "policies": policies,
                          "team_config": str(team_path),
                          "listener_arns": fleet.listener_arns, "drift": fleet.drift,
                          "generations": fleet.generations, "asgs": fleet.asgs,
                          "images": [[*key, ami] for key, ami in fleet.images.items()]}), flush=True)
        sys.stdin.read()        # until the test closes our stdin
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1])
