"""moto's server embedded in this process on 127.0.0.1: the emulated AWS of ``--demo`` and of the tests.

moto keeps its emulated resources in process-global backends: every ``EmbeddedAws`` of one process serves the
same account state (two servers are two doors into one emulated AWS), and :meth:`EmbeddedAws.reset` empties it
for all of them. That is also what lets the seeder (``fleettui.emulator.seeder``) backdate resources through the
backend objects.
"""
from __future__ import annotations

import logging
import pickle
import urllib.request

DUMMY_KEY = "testing"
HOST = "127.0.0.1"
# The moto services fleettui uses: what save_state() keeps.
STATE_SERVICES = ("ec2", "elbv2", "autoscaling", "cloudwatch", "dynamodb", "iam", "sts")


def _backend_lock():
    from moto.core.base_backend import backend_lock

    return backend_lock


def _fill_moto_gaps() -> None:
    """Make the emulator behave like EC2 where moto 5.2 falls short (patches moto classes; in-process only).

    * An instance profile is attached to *every* instance of a RunInstances call (moto: the first only), and the
      launch template's IamInstanceProfile is applied when the call names none (moto: ignored). Without this,
      every host fleettui launches in the demo would show instance-profile drift that real AWS never shows.

    Three lookups by exact id are made O(1) (same results; moto scans everything for each of them, which makes
    seeding and describing a 10,000-host benchmark fleet quadratic -- minutes instead of seconds):
    * the image of each launched instance (moto filters all ~1,300 images it preloads: 7 ms per instance);
    * the tags of one resource (moto scans every tag of the region for every instance it serializes or
      filters by tag);
    * an instance by id (moto copies and scans every reservation).
    """
    from moto.ec2.exceptions import InvalidInstanceIdError
    from moto.ec2.models.amis import AmiBackend
    from moto.ec2.models.instances import InstanceBackend
    from moto.ec2.models.tags import TagBackend
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

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

    original_describe = AmiBackend.describe_images

    def describe_images(self, ami_ids=None, filters=None, exec_users=None, owners=None):
        # The exact call Instance.__init__ makes: {"image-id": "<one id>"}; same result as moto's linear filter.
        if not ami_ids and not exec_users and not owners and filters and list(filters) == ["image-id"]:
            wanted = filters["image-id"]
            if isinstance(wanted, str) and not any(c in wanted for c in "*?["):
                ami = self.amis.get(wanted)
                return [ami] if ami is not None else []
        return original_describe(self, ami_ids=ami_ids, filters=filters, exec_users=exec_users, owners=owners)

    original_tags = TagBackend.describe_tags

    def describe_tags(self, filters=None):
        # The exact call TaggedEC2Resource.get_tags makes: {"resource-id": ["<one id>"]}.
        if filters and list(filters) == ["resource-id"] and len(filters["resource-id"]) == 1:
            rid = filters["resource-id"][0]
            if isinstance(rid, str) and not any(c in rid for c in "*?[\\"):
                kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(rid), "")
                return [{"resource_id": rid, "key": k, "value": v, "resource_type": kind}
                        for k, v in dict(self.tags.get(rid) or {}).items()]
        return original_tags(self, filters)

    def get_instance(self, instance_id):
        # moto never removes an instance from its reservation (terminated ones stay), so an index stays valid;
        # a reset replaces the whole backend object and with it the index.
        index = self.__dict__.setdefault("_fleettui_instance_index", {})
        found = index.get(instance_id)
        if found is not None:
            return found
        for reservation in reversed(self.reservations.values()):   # newest first: just-launched hosts at once
            for inst in reservation.instances:
                index[inst.id] = inst
                if inst.id == instance_id:
                    return inst
        raise InvalidInstanceIdError(instance_id)

    InstanceBackend.run_instances = run_instances
    InstanceBackend.get_instance = get_instance
    AmiBackend.describe_images = describe_images
    TagBackend.describe_tags = describe_tags
    InstanceBackend._fleettui_profiles = True


def _quiet_logs() -> None:
    """werkzeug logs one line per request to stderr, which would corrupt the TUI."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _check_free(port: int) -> None:
    """``OSError`` (with its errno, e.g. EADDRINUSE) if ``HOST:port`` cannot be bound. Checked before moto starts
    because werkzeug, failing to bind, prints its own lines to stderr and raises SystemExit instead."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as werkzeug binds
        try:
            probe.bind((HOST, port))
        except OSError as e:
            raise OSError(e.errno, f"cannot start the emulated AWS on {HOST}:{port}: {e.strerror}") from e


class EmbeddedAws:
    """moto's ThreadedMotoServer on 127.0.0.1: ``port=0`` lets the OS pick a free port (race-free: the listening
    socket is bound with port 0 and the chosen port read back), or a given port (``OSError`` if it is taken).

    ``.endpoint_url`` is the URL to give boto3/aiobotocore; ``.stop()`` (or leaving the ``with`` block) shuts the
    server down and frees the port.
    """

    def __init__(self, port: int = 0):
        if port:
            _check_free(port)
        from moto.server import ThreadedMotoServer

        _quiet_logs()
        _fill_moto_gaps()

        class _Server(ThreadedMotoServer):
            error: BaseException | None = None

            def _server_entry(self) -> None:
                # moto's start() waits for a "ready" event that a failed bind never sets: it would hang forever.
                try:
                    super()._server_entry()
                except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread below
                    self.error = e
                    self._server_ready_event.set()

        self._server = _Server(ip_address=HOST, port=port, verbose=False)
        self._server.start()
        if self._server.error is not None:
            err = self._server.error
            if isinstance(err, SystemExit) and isinstance(err.__context__, OSError):
                err = err.__context__       # werkzeug reports a failed bind on stderr and exits: the OSError is why
            raise OSError(getattr(err, "errno", None), f"cannot start the emulated AWS on {HOST}:{port}: "
                          f"{getattr(err, 'strerror', None) or err}") from err
        self.host, self.port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{HOST}:{self.port}"
        self._running = True

    @property
    def running(self) -> bool:
        return self._running

    def reset(self) -> None:
        """Forget every emulated resource (moto's reset API; all servers of this process share the state)."""
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    def save_state(self) -> bytes:
        """Every resource this process's emulator holds, as one pickle (moto's backends are plain Python objects,
        pickled as one graph so that references between services stay references). :meth:`restore_state` puts it
        back in a fraction of the time the seeding API calls took: the tests seed the demo once per session."""
        from moto.backends import get_backend

        with _backend_lock():
            return pickle.dumps({name: {account: dict(regions) for account, regions in get_backend(name).items()}
                                 for name in STATE_SERVICES})

    def restore_state(self, state: bytes) -> None:
        """Forget everything, then hold exactly what :meth:`save_state` saved (fresh objects each time). Faster than
        :meth:`reset`, which re-creates every region's backend (EC2's preloaded images…) only to drop it."""
        from moto.backends import get_backend
        from moto.core.base_backend import BackendDict

        with _backend_lock():
            for service in BackendDict._instances:
                service.clear()
            for name, accounts in pickle.loads(state).items():
                backend = get_backend(name)
                for account, regions in accounts.items():
                    for region, region_backend in regions.items():
                        dict.__setitem__(backend[account], region, region_backend)

    def on_stop(self, fn) -> None:
        """Call ``fn()`` when the server stops (e.g. stop a demo's metrics feed first)."""
        self.__dict__.setdefault("_on_stop", []).append(fn)

    def stop(self) -> None:
        for fn in self.__dict__.pop("_on_stop", ()):
            fn()
        if self._running:
            self._running = False
            self._server.stop()
            if self._server._server is not None:       # moto's stop() leaves the listening socket open
                self._server._server.server_close()

    def __enter__(self) -> "EmbeddedAws":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedAws({self.endpoint_url!r}{'' if self._running else ', stopped'})"


def boto3_client(service: str, region: str, endpoint_url: str):
    """A sync client on the emulator with dummy credentials ("testing"): seeding and test fixtures only (the app
    itself goes through the aiobotocore gateway)."""
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=endpoint_url,
                        aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_KEY)
