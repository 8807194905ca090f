"""The local journal: one JSON line per plan event, in the platformdirs state dir, written in one ``write`` and
fsync'd.

One file per endpoint: real AWS (no ``endpoint_url``) in ``<state>/journal.jsonl`` (its plans carry their account,
so two accounts share it without mixing), any other endpoint in ``<state>/endpoints/<endpoint>/journal.jsonl``. An
emulator (``--demo``, ``demo serve``) starts its instance's directory afresh (:func:`fresh_endpoint_dir`), so demo
plans never reach the real journal and a new emulator never offers the plans of a dead one.

Robustness: an event always starts on a new line (a line torn by a crash or a full disk cannot swallow the next
one); a line that is not one of our events is skipped with one warning naming the file and line; every OS error
becomes a one-line :class:`~fleettui.store.StoreError`.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

from fleettui import paths
from fleettui.clock import SYSTEM, Clock
from fleettui.domain.history import unreadable
from fleettui.store import EventLog, StoreError

EMULATOR_MARK = "emulator-instance"   # in an endpoint dir: made by an emulator, removed with it


def stamp(t: datetime) -> str:
    """An event's time as journals write it: ISO-8601 UTC to the millisecond, with a Z."""
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def endpoint_dir(endpoint_url: str | None, state: Path | None = None) -> Path:
    """Where the files of ``endpoint_url`` live (the state dir itself for real AWS)."""
    state = state or paths.state_dir()
    if not endpoint_url:
        return state
    u = urlparse(endpoint_url)
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"{u.scheme}-{u.hostname or ''}-{u.port or ''}{u.path}").strip("-.")
    return state / "endpoints" / (slug[:100] or "endpoint")


def journal_path_for(endpoint_url: str | None, state: Path | None = None) -> Path:
    return endpoint_dir(endpoint_url, state) / "journal.jsonl"


def fresh_endpoint_dir(endpoint_url: str) -> Path:
    """An emulator instance starting on ``endpoint_url`` (a port that was free): its own, empty state directory.
    What an earlier emulator on that port left is removed; a directory some other endpoint used there (not marked
    as an emulator's) is kept under another name, never deleted."""
    d = endpoint_dir(endpoint_url)
    if d.exists():
        if (d / EMULATOR_MARK).exists():
            shutil.rmtree(d, ignore_errors=True)
        else:
            d.rename(d.with_name(f"{d.name}.before-emulator-{datetime.now():%Y%m%d-%H%M%S}"))
    d.mkdir(parents=True, exist_ok=True)
    (d / EMULATOR_MARK).write_text(f"{endpoint_url} pid {os.getpid()}\n", encoding="utf-8")
    return d


def remove_endpoint_dir(endpoint_url: str) -> None:
    """The emulator stopped: its state went with it."""
    d = endpoint_dir(endpoint_url)
    if (d / EMULATOR_MARK).exists():
        shutil.rmtree(d, ignore_errors=True)


def _why(e: OSError) -> str:
    return e.strerror or str(e)


def _regular(fd: int) -> None:
    """Journals are regular files: a FIFO, socket or device in their place is refused (reading a FIFO would wait
    for a writer forever), a directory said to be one."""
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file (a FIFO, socket or device)")


class JsonlJournal(EventLog):
    def __init__(self, path: Path, clock: Clock = SYSTEM):
        self.path = Path(path)
        self.clock = clock
        self.warnings: list[str] = []
        self.drivers_dir = self.path.with_name("drivers")

    @property
    def where(self) -> str:
        return str(self.path)

    def _append(self, event: str, plan_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        ts = stamp(self.clock.now())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
            try:
                _regular(fd)
                size = os.fstat(fd).st_size
                torn = bool(size) and os.pread(fd, 1, size - 1) != b"\n"
                # seq: where the event starts in this journal, this operator's own order of events (the team's
                # history sorts events of equal time by it, so each operator's order survives the merge)
                record = {"ts": ts, "event": event, "plan_id": plan_id, "seq": size + torn, **fields}
                data = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")
                if torn:
                    data = b"\n" + data          # the last line was torn (crash, full disk): never join it
                view = memoryview(data)
                while view:                      # one write in practice; a short write continues where it stopped
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            step = fields.get("step")
            raise StoreError(f"the journal {self.path} could not be written: {_why(e)}", event=event,
                             step=step if isinstance(step, str) else None) from None
        return record

    def events(self) -> Iterator[dict[str, Any]]:
        self.warnings = []
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)     # a FIFO there is never waited on
            try:
                _regular(fd)
            except OSError:
                os.close(fd)
                raise
            fh = os.fdopen(fd, "rb")
        except FileNotFoundError:
            return
        except OSError as e:
            raise StoreError(f"the journal {self.path} cannot be read: {_why(e)}") from None
        skipped: list[str] = []
        with fh:
            try:
                for n, raw in enumerate(fh, 1):
                    line = raw.strip()
                    if not line:
                        continue
                    try:
                        e = json.loads(line.decode("utf-8", errors="replace"))
                    except (ValueError, RecursionError):
                        # a line torn by a crash mid-write, or not ours (nested too deep for the parser too): the
                        # step it began is simply re-run
                        e, why = None, "not JSON (a torn or foreign line)"
                    else:
                        why = unreadable(e)
                    if why:
                        skipped.append(f"line {n}: {why}")
                        continue
                    yield e
            except OSError as e:
                raise StoreError(f"the journal {self.path} cannot be read: {_why(e)}") from None
        shown = skipped[:5] + ([f"and {len(skipped) - 5} more"] if len(skipped) > 5 else [])
        self.warnings = [f"journal {self.path}: skipped {s}" for s in shown]
