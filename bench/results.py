"""What a benchmark run produced: load and idle reports per server, set-up timings and store checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.accounts import Account, StoredRoom
from bench.options import Options
from bench.scenarios import IdleReport, LoadReport


@dataclass(frozen=True)
class StoreCheck:
    """Acked messages against what REST returns: a lost message was acked but is not in the store."""

    sends: int
    acks: int
    stored: int
    rooms: int
    lost: int
    gapped_rooms: int

    @classmethod
    def compare(cls, *, sends: int, acked_ids: Mapping[str, set[str]], stored: Mapping[str, StoredRoom]) -> StoreCheck:
        return cls(
            sends=sends,
            acks=sum(len(ids) for ids in acked_ids.values()),
            stored=sum(len(room.ids) for room in stored.values()),
            rooms=len(stored),
            lost=sum(len(ids - _stored_ids(stored, room_id)) for room_id, ids in acked_ids.items()),
            gapped_rooms=sum(1 for room in stored.values() if not room.gap_free),
        )

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.gapped_rooms == 0


def _stored_ids(stored: Mapping[str, StoredRoom], room_id: str) -> set[str]:
    room = stored.get(room_id)
    return room.ids if room else set()


@dataclass(frozen=True)
class ParleyRun:
    kind: str
    register_seconds: float
    rooms_seconds: float
    journal_mode: str | None
    load: LoadReport
    store: StoreCheck
    accounts: list[Account]


@dataclass
class Results:
    options: Options
    fd_limit: int
    bare: LoadReport | None = None
    parley: list[ParleyRun] = field(default_factory=list)
    idles: list[IdleReport] = field(default_factory=list)

    def loads(self) -> list[LoadReport]:
        return [*([self.bare] if self.bare else []), *(run.load for run in self.parley)]

    def store_ok(self) -> bool:
        return all(run.store.ok for run in self.parley)
