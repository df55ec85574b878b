"""Command-line options of the benchmark."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DbChoice = Literal["sqlite", "postgres", "both"]

SENDS_PER_CONNECTION_PER_SECOND = 2.0


@dataclass(frozen=True)
class Options:
    connections: int
    room_size: int
    duration: float
    warmup: float
    rate: float
    window: int
    db: DbChoice
    idle_connections: int
    compression: bool
    skip_bare: bool
    skip_capacity: bool
    quick: bool
    workdir: Path | None

    @property
    def databases(self) -> list[str]:
        return ["sqlite", "postgres"] if self.db == "both" else [self.db]


def parse_args(argv: list[str] | None = None) -> Options:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.connections = args.connections or 100
        args.duration = args.duration or 3.0
        args.warmup = args.warmup or 1.0
        args.idle_connections = args.idle_connections if args.idle_connections is not None else 500
    connections = args.connections or 1000
    return Options(
        connections=connections,
        room_size=args.room_size,
        duration=args.duration or 15.0,
        warmup=args.warmup or 5.0,
        rate=args.rate or SENDS_PER_CONNECTION_PER_SECOND * connections,
        window=args.window,
        db=args.db,
        idle_connections=args.idle_connections if args.idle_connections is not None else 5000,
        compression=args.compression,
        skip_bare=args.skip_bare,
        skip_capacity=args.skip_capacity,
        quick=args.quick,
        workdir=args.workdir,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Load-test `parley serve` against a bare broadcast server on the same WebSocket stack.",
    )
    parser.add_argument("--connections", type=int, help="WebSocket connections, one user each (default 1000)")
    parser.add_argument("--room-size", type=int, default=10, help="connections per room (default 10)")
    parser.add_argument("--duration", type=float, help="seconds measured per phase (default 15)")
    parser.add_argument("--warmup", type=float, help="seconds of ramp before measuring (default 5)")
    parser.add_argument(
        "--rate", type=float, help="open-loop aggregate sends/s (default 2 per connection: 2000 at 1000)"
    )
    parser.add_argument(
        "--window", type=int, default=1, help="capacity phase: messages in flight per connection (default 1)"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--idle-connections", type=int, help="idle scenario size, 0 to skip (default 5000)")
    parser.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="do not offer permessage-deflate (browsers offer it; default: offer)",
    )
    parser.add_argument("--skip-bare", action="store_true", help="do not run the bare baseline")
    parser.add_argument("--skip-capacity", action="store_true", help="do not run the closed-loop phase")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 connections, 3 s phases")
    parser.add_argument(
        "--workdir", type=Path, help="keep server logs and the SQLite file here (default: a temporary directory)"
    )
    return parser
