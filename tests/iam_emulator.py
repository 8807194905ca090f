"""The demo fleet on a moto server of its own, in this separate process, with IAM authentication switched on.

Run by tests/test_iam_enforced.py as ``python tests/iam_emulator.py CONFIG_PATH``. moto's authentication switch is
process-global, so it is turned on here and never in the test session's own emulator. Seeding backdates through
moto's in-process backends, so it is done here too, before the switch:

1. start the emulator and seed the demo fleet (authentication off);
2. write the demo config to CONFIG_PATH and generate fleettui's policies from it (``fleettui iam policy``);
3. create three IAM users: ``operator`` (the operator policy), ``reader`` (the read-only policy) and ``admin``
   (everything: the test reads and prepares AWS state with it);
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


def main(config_path: str) -> None:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    from fleettui.aws.policy import generate
    from fleettui.config import load_config
    from fleettui.emulator.scenarios.demo import demo_config_text, seed_demo_fleet
    from fleettui.emulator.server import EmbeddedAws, boto3_client

    server = EmbeddedAws()
    try:
        fleet = seed_demo_fleet(server.endpoint_url)
        path = pathlib.Path(config_path)
        path.write_text(demo_config_text(fleet, server.endpoint_url), encoding="utf-8")
        config = load_config(path)
        policies = {"operator": generate(config, operator=True).document,
                    "reader": generate(config, operator=False).document,
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
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        print(json.dumps({"endpoint_url": server.endpoint_url, "keys": keys, "policies": policies,
                          "listener_arns": fleet.listener_arns, "drift": fleet.drift,
                          "generations": fleet.generations, "asgs": fleet.asgs,
                          "images": [[*key, ami] for key, ami in fleet.images.items()]}), flush=True)
        sys.stdin.read()        # until the test closes our stdin
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1])
