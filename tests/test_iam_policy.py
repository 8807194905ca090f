"""Every AWS operation the code can call is in the operator policy; the read-only policy has no mutation."""
import json
import pathlib
import re

import botocore.session
from botocore import xform_name

from fleettui.aws.gateway import MUTATING_ALLOWLIST, is_read_operation

ROOT = pathlib.Path(__file__).resolve().parents[1]
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "ec2": "ec2", "autoscaling": "autoscaling", "sts": "sts",
              "cloudwatch": "cloudwatch"}
CALL = re.compile(r'\.(call|paginate|wait)\(\s*"(\w+)",\s*[^,]+,\s*"(\w+)"')


def _actions(policy: str) -> set[str]:
    doc = json.loads((ROOT / "iam" / policy).read_text())
    out = set()
    for st in doc["Statement"]:
        acts = st["Action"]
        out.update([acts] if isinstance(acts, str) else acts)
    return out


def _operations_in_code() -> set[str]:
    session = botocore.session.get_session()
    found = set()
    for path in (ROOT / "fleettui").rglob("*.py"):
        for kind, service, name in CALL.findall(path.read_text(encoding="utf-8")):
            model = session.get_service_model(service)
            if kind == "wait":
                op = session.get_waiter_model(service).get_waiter(
                    "".join(p.capitalize() for p in name.split("_"))).operation
            else:
                op = {xform_name(o): o for o in model.operation_names}[name]
            found.add(f"{IAM_PREFIX[service]}:{op}")
    assert len(found) > 15, found  # the scan itself works
    return found


def test_every_called_operation_is_in_the_operator_policy():
    missing = _operations_in_code() - _actions("fleettui-operator.json")
    assert missing == set()


def test_every_allowlisted_mutation_is_in_the_operator_policy():
    allowed = {f"{IAM_PREFIX[s]}:{op}" for s, op in MUTATING_ALLOWLIST}
    assert allowed - _actions("fleettui-operator.json") == set()


def test_read_only_policy_allows_no_mutation():
    mutating = [a for a in _actions("fleettui-readonly.json")
                if not is_read_operation(a.split(":")[1]) and a != "sts:GetCallerIdentity"]
    assert mutating == []
    assert {a for a in _operations_in_code() if is_read_operation(a.split(":")[1])} <= _actions(
        "fleettui-readonly.json")
