"""The archive file: a manifest, then the payload; written whole or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import URL

from app import __version__
from app.errors import Conflict, Invalid, NotFound, Unavailable

MANIFEST = "manifest.json"
FORMAT = "parley-backup"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Counts:
    users: int
    rooms: int
    messages: int

    def __str__(self) -> str:
        return f"{self.users} users, {self.rooms} rooms, {self.messages} messages"

    @property
    def empty(self) -> bool:
        return not (self.users or self.rooms or self.messages)


@dataclass(frozen=True, slots=True)
class Manifest:
    backend: str
    schema_revision: str
    created_at: str
    counts: Counts
    payload: str
    payload_bytes: int
    payload_sha256: str
    tool: str
    parley_version: str = __version__

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **asdict(self)}, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            fields = json.loads(data)
            if fields.pop("format") != FORMAT or fields.pop("version") > FORMAT_VERSION:
                raise ValueError("not a Parley backup this version can read")
            return cls(**{**fields, "counts": Counts(**fields["counts"])})
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise Invalid(f"unreadable backup manifest: {error}") from error


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    manifest: Manifest
    archive_bytes: int
    seconds: float


@dataclass(frozen=True, slots=True)
class RestoreInfo:
    manifest: Manifest
    replaced: Counts
    restored: Counts
    rooms_bumped: int
    schema_revision: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Dump:
    schema_revision: str
    counts: Counts
    tool: str


class Backend(Protocol):
    """Makes and loads one backend's payload. `dump` returns facts read from the same snapshot as the
    payload; `check` rejects a payload that cannot be loaded whole, before the target is touched."""

    name: str
    payload: str

    def dump(self, url: URL, payload: Path) -> Dump: ...

    def check(self, payload: Path) -> None: ...

    def load(self, url: URL, payload: Path) -> None: ...


def destination(out: Path, backend: str) -> Path:
    path = out / f"parley-{backend}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.parley" if out.is_dir() else out
    if path.exists():
        raise Conflict(f"{path} already exists; a backup never overwrites a file")
    if not path.parent.is_dir():
        raise NotFound(f"no folder {path.parent} to write the backup into")
    return path


def pack(partial: Path, manifest: Manifest, payload: Path) -> None:
    data = manifest.to_json()
    info = tarfile.TarInfo(MANIFEST)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
    # Archives hold password hashes: readable by their owner only.
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        with tarfile.open(fileobj=file, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(info, BytesIO(data))
            tar.add(payload, arcname=manifest.payload)
        file.flush()
        os.fsync(file.fileno())


def manifest_bytes(tar: tarfile.TarFile, archive: Path) -> bytes:
    first = tar.next()
    source = tar.extractfile(first) if first is not None and first.name == MANIFEST else None
    if source is None:
        raise Invalid(f"{archive} is not a Parley backup: it does not start with {MANIFEST}")
    return source.read()


@contextmanager
def unpacked(archive: Path, backend: Backend) -> Iterator[tuple[Manifest, Path]]:
    """The manifest and the payload, extracted to a temporary file and verified against the manifest."""
    if not archive.is_file():
        raise NotFound(f"no backup archive at {archive}")
    with tempfile.TemporaryDirectory(prefix="parley-restore-") as work:
        payload = Path(work) / backend.payload
        try:
            with tarfile.open(archive, "r:") as tar:
                manifest = Manifest.from_json(manifest_bytes(tar, archive))
                if manifest.backend != backend.name:
                    raise Invalid(
                        f"{archive} is a {manifest.backend} backup; it cannot be restored into a "
                        f"{backend.name} database"
                    )
                member = tar.next()
                source = tar.extractfile(member) if member is not None and member.name == backend.payload else None
                if source is None:
                    raise Invalid(f"{archive} has no {backend.payload} after its manifest")
                with payload.open("wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
        except (tarfile.TarError, EOFError) as error:
            raise Invalid(f"{archive} is damaged or truncated ({error}); nothing was restored") from error
        except OSError as error:
            raise Unavailable(f"cannot read {archive}: {error.strerror or error}") from error
        if payload.stat().st_size != manifest.payload_bytes or sha256(payload) != manifest.payload_sha256:
            raise Invalid(f"{archive} is damaged: its payload does not match its manifest; nothing was restored")
        yield manifest, payload


def sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
