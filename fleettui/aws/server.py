"""moto's server embedded in this process on 127.0.0.1: the emulated AWS of ``--demo`` and of the tests."""
from __future__ import annotations

import logging
import socket
import urllib.request

DUMMY_KEY = "testing"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fill_moto_gaps() -> None:
    """Make the emulator launch hosts the way EC2 does, where moto 5.2 falls short (in-process only):
    an instance profile is attached to *every* instance of a RunInstances call (moto: the first only), and the
    launch template's IamInstanceProfile is applied when the call names none (moto: ignored). Without this,
    every host fleettui launches in the demo would show instance-profile drift that real AWS never shows."""
    from moto.ec2.models.instances import InstanceBackend

    if getattr(InstanceBackend, "_fleettui_profiles", False):
        return
    original = InstanceBackend.run_instances

    def run_instances(self, image_id, count, user_data, security_group_names, **kwargs):
        reservation = original(self, image_id, count, user_data, security_group_names, **kwargs)
        name, arn = kwargs.get("iam_instance_profile_name"), kwargs.get("iam_instance_profile_arn")
        first_done = bool(name or arn)          # moto's response layer associates the first instance itself
        if not (name or arn) and kwargs.get("launch_template"):
            profile = self._get_template_from_args(kwargs["launch_template"]).data.get("IamInstanceProfile") or {}
            name, arn = profile.get("Name"), profile.get("Arn")
        if name or arn:
            for k, inst in enumerate(reservation.instances):
                if not (first_done and k == 0):
                    self.associate_iam_instance_profile(instance_id=inst.id, iam_instance_profile_name=name,
                                                        iam_instance_profile_arn=arn)
        return reservation

    InstanceBackend.run_instances = run_instances
    InstanceBackend._fleettui_profiles = True


class EmbeddedAws:
    """``EmbeddedAws(port=0)`` starts moto's ThreadedMotoServer on a free (or the given) loopback port."""

    def __init__(self, port: int = 0):
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)   # request logs would corrupt the TUI
        _fill_moto_gaps()
        self.port = port or _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._running = True

    def reset(self) -> None:
        """Forget every emulated resource (moto's reset API)."""
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._server.stop()

    def __enter__(self) -> "EmbeddedAws":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def boto3_client(service: str, region: str, endpoint_url: str):
    """A sync client on the emulator (seeding and test fixtures only; the app itself uses aiobotocore)."""
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=endpoint_url,
                        aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_KEY)
