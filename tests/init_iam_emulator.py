"""The demo fleet on a moto server of its own, in this separate process, with IAM authentication on, for
tests/test_init_iam.py: `fleettui init` and `fleettui doctor` run as IAM users holding only fleettui's policies.

Run as ``python tests/init_iam_emulator.py CONFIG_PATH`` (moto's authentication switch is process-global: never in the
test session's own emulator). Like tests/iam_emulator.py: seed the demo (authentication off), write its config, create
the users, switch authentication on, print one JSON line (endpoint, keys, listener ARNs), serve until stdin closes.
moto checks each request's *action* against the caller's policies, not resources or conditions: every Resource is
widened to "*" (the resources are checked by reading, in tests/test_iam_policy.py and tests/test_init_iam.py).

Users: ``init`` (`fleettui iam policy --init`), ``init-no-elb`` (the same without
elasticloadbalancing:DescribeLoadBalancers), ``operator`` and ``reader`` (the demo config's operator and read-only
policies), ``admin`` (everything: the test's own reads).
"""
from __future__ import annotations

import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def widened_for_moto(doc: dict) -> dict:
    return {**doc, "Statement": [{**st, "Resource": "*"} for st in doc["Statement"]]}


def without(doc: dict, action: str) -> dict:
    statements = []
    for st in doc["Statement"]:
        actions = [a for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]) if a != action]
        if actions:
            statements.append({**st, "Action": actions})
    return {**doc, "Statement": statements}


def main(config_path: str) -> None:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    from fleettui.aws.policy import generate, init_policy
    from fleettui.config import load_config
    from fleettui.emulator.scenarios.demo import demo_config_text, seed_demo_fleet
    from fleettui.emulator.server import EmbeddedAws, boto3_client

    server = EmbeddedAws()
    try:
        fleet = seed_demo_fleet(server.endpoint_url)
        path = pathlib.Path(config_path)
        path.write_text(demo_config_text(fleet, server.endpoint_url), encoding="utf-8")
        config = load_config(path)
        init = init_policy().document
        policies = {"init": init, "init-no-elb": without(init, "elasticloadbalancing:DescribeLoadBalancers"),
                    "operator": generate(config, operator=True).document,
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
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        print(json.dumps({"endpoint_url": server.endpoint_url, "keys": keys, "listener_arns": fleet.listener_arns}),
              flush=True)
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1])
