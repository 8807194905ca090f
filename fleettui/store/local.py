"""The local journal: one JSON line per plan event, in the platformdirs state dir, flushed and synced."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from fleettui.store import EventLog


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonlJournal(EventLog):
    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def where(self) -> str:
        return str(self.path)

    def append(self, event: str, plan_id: str, **fields: Any) -> dict[str, Any]:
        record = {"ts": _now(), "event": str(getattr(event, "value", event)), "plan_id": plan_id, **fields}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        # one write per line, flushed and synced: a crash loses at most the event being written
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        return record

    def events(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a crash mid-write: the step it began is simply re-run
