"""Usage profiles: how a messaging workload behaves (users, messages, connection time, bytes), and the
monthly quantities it turns into for the usage-based prices. Each formula is in `quantities` and docs/cost.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import jsonschema
import yaml

PROFILE_DIR = Path(__file__).parent / "profiles"
DEFAULT_PROFILE = PROFILE_DIR / "messaging-10k.yaml"
HOURS_PER_MONTH = 730  # AWS, Azure and Google all bill a month as 730 hours.
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
GB = 1024**3  # The clouds' "GB" on bills is a binary gigabyte.
# One VPC flow log record (default format, as ingested): about 150 bytes. With a 60 s aggregation interval, a
# long-lived connection writes one record per minute on each of the two network interfaces it crosses.
FLOW_RECORD_BYTES = 150
# PostgreSQL writes each row several times (heap, index, WAL); a replica receives the WAL.
WAL_AMPLIFICATION = 3
# Images a registry keeps (the ECR lifecycle policy and its peers keep the last ten).
IMAGES_KEPT = 10
# Secrets an instance reads from a vault when it starts (database, cache, signing key, ...).
SECRETS_PER_START = 5


class ProfileError(Exception):
    """A usage profile that cannot be read or breaks the schema; the message names the file and the field."""


@dataclass(frozen=True)
class Profile:
    """A messaging workload. Every rate is per daily active user and per day unless its name says otherwise."""

    name: str
    daily_users: int
    messages_per_user_per_day: float
    fan_out: float  # connected recipients each message is delivered to
    connected_hours_per_user_per_day: float
    connections_per_user_per_day: float
    message_bytes: int
    attachment_bytes_per_user_per_day: int
    http_requests_per_user_per_day: float
    http_response_bytes: int
    pings_per_connected_hour: float
    peak_to_average: float
    retention_days: int
    websocket_ms_per_invocation: float
    http_ms_per_invocation: float
    store_writes_per_message: float
    store_reads_per_request: float
    log_bytes_per_event: int
    connections_per_instance: int
    nat_egress_gb_per_month: float
    image_gb: float
    deployments_per_month: int
    description: str = ""


def _schema() -> dict[str, Any]:
    numbers = {f.name: {"type": "number", "minimum": 0} for f in fields(Profile) if f.type in ("float", "int")}
    for name in ("daily_users", "connections_per_instance"):
        numbers[name] = {"type": "integer", "minimum": 1}
    numbers["peak_to_average"] = {"type": "number", "minimum": 1}
    required = [f.name for f in fields(Profile) if f.name != "description"]
    properties = {"name": {"type": "string", "minLength": 1}, "description": {"type": "string"}, **numbers}
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": False}


PROFILE_SCHEMA = _schema()


def load_profile(path: Path = DEFAULT_PROFILE, *, daily_users: int | None = None) -> Profile:
    """Read and validate a profile; `daily_users` overrides the file's. A `ProfileError` names the field."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ProfileError(f"usage profile {path}: {error}") from error
    if daily_users is not None:
        if not isinstance(document, dict):
            raise ProfileError(f"usage profile {path}: not a mapping of fields")
        document = {**document, "daily_users": daily_users}
    return profile_from(document, origin=str(path))


def profile_from(document: Any, *, origin: str = "usage profile") -> Profile:
    """A `Profile` from a parsed document, validated against `PROFILE_SCHEMA`."""
    validator = jsonschema.Draft202012Validator(PROFILE_SCHEMA)
    problems = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if problems:
        raise ProfileError(f"{origin}: " + "; ".join(_describe(p) for p in problems))
    return Profile(**document)


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return str(error.message).replace("is a required property", "is missing")
    if error.validator == "additionalProperties":
        return f"unknown field: {error.message}"
    field_name = ".".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{field_name}: {error.message}"


@dataclass(frozen=True)
class Quantities:
    """Monthly usage of one profile, the same whatever the target. Counts are per month; `*_gb` in GB."""

    messages_sent: float
    websocket_messages: float
    connection_minutes: float
    websocket_invocations: float
    connections: float
    http_requests: float
    average_connections: float
    peak_connections: float
    instances_needed: int
    websocket_out_gb: float
    http_out_gb: float
    processed_gb: float
    store_writes: float
    store_reads: float
    connection_writes: float
    connection_reads: float
    ratelimit_writes: float
    ratelimit_reads: float
    stored_gb: float
    log_gb: float
    flow_log_gb: float
    nat_gb: float
    image_pull_gb: float
    image_push_gb: float
    images_gb: float
    secret_reads: float
    deployments: int
    replication_gb: float
    websocket_ms: float
    http_ms: float
    daily_users: int

    @property
    def internet_out_gb(self) -> float:
        return self.websocket_out_gb + self.http_out_gb


def quantities(p: Profile) -> Quantities:
    """The monthly quantities of profile `p` (U daily users, D = 730/24 days):

    - messages sent S = U x messages_per_user_per_day x D
    - WebSocket messages = S x (1 + fan_out) + 2 x pings (each ping is answered), pings = U x connected hours x
      pings_per_connected_hour x D; API Gateway counts both directions, in 32 KB units (a message is smaller)
    - connection minutes = U x connected_hours x 60 x D
    - WebSocket invocations = S + pings + 2 x connections (connect and disconnect routes run the function)
    - average connections = U x connected_hours / 24; peak = average x peak_to_average
    - instances needed = ceil(peak connections / connections_per_instance)
    - internet out GB = WebSocket out (S x fan_out x message_bytes) + HTTP out (HTTP requests x response bytes +
      U x attachment bytes x D)
    - processed GB (load balancers) = internet out + S x message_bytes (what clients send)
    - store writes = S x store_writes_per_message; store reads = (HTTP requests + S) x store_reads_per_request
    - connection writes = 2 x connections (put and delete); connection reads = S (one query per fan-out)
    - rate-limit writes = S + HTTP requests + connections (one counter update each); reads twice that (the
      sliding window reads the current and the previous window)
    - stored GB = U x messages_per_user_per_day x message_bytes x retention_days
    - log GB = (HTTP requests + WebSocket invocations) x log_bytes_per_event
    - flow log GB = average connections x 60 x 730 x 2 interfaces x 150 bytes
    - replication GB = S x message_bytes x 3 (write-ahead log to a cross-region replica)
    - image pull GB = image_gb x deployments_per_month x instances needed; image push GB = image_gb x
      deployments_per_month (one new image a deployment); images GB = image_gb x 10 kept
    - secret reads = 5 x deployments_per_month x instances needed
    - connections = U x connections_per_user_per_day x D (each a WebSocket upgrade request)
    """
    users, days = p.daily_users, DAYS_PER_MONTH
    sent = users * p.messages_per_user_per_day * days
    pings = users * p.connected_hours_per_user_per_day * p.pings_per_connected_hour * days
    connections = users * p.connections_per_user_per_day * days
    http = users * p.http_requests_per_user_per_day * days
    average = users * p.connected_hours_per_user_per_day / 24
    peak = average * p.peak_to_average
    instances = max(1, math.ceil(peak / p.connections_per_instance))
    websocket_out = sent * p.fan_out * p.message_bytes
    http_out = http * p.http_response_bytes + users * p.attachment_bytes_per_user_per_day * days
    invocations = sent + pings + 2 * connections
    return Quantities(
        messages_sent=sent,
        websocket_messages=sent * (1 + p.fan_out) + 2 * pings,
        connection_minutes=users * p.connected_hours_per_user_per_day * 60 * days,
        websocket_invocations=invocations,
        connections=connections,
        http_requests=http,
        average_connections=average,
        peak_connections=peak,
        instances_needed=instances,
        websocket_out_gb=websocket_out / GB,
        http_out_gb=http_out / GB,
        processed_gb=(websocket_out + http_out + sent * p.message_bytes) / GB,
        store_writes=sent * p.store_writes_per_message,
        store_reads=(http + sent) * p.store_reads_per_request,
        connection_writes=2 * connections,
        connection_reads=sent,
        ratelimit_writes=sent + http + connections,
        ratelimit_reads=2 * (sent + http + connections),
        stored_gb=users * p.messages_per_user_per_day * p.message_bytes * p.retention_days / GB,
        log_gb=(http + invocations) * p.log_bytes_per_event / GB,
        flow_log_gb=average * 60 * HOURS_PER_MONTH * 2 * FLOW_RECORD_BYTES / GB,
        nat_gb=p.nat_egress_gb_per_month,
        image_pull_gb=p.image_gb * p.deployments_per_month * instances,
        image_push_gb=p.image_gb * p.deployments_per_month,
        images_gb=p.image_gb * IMAGES_KEPT,
        secret_reads=SECRETS_PER_START * p.deployments_per_month * instances,
        deployments=p.deployments_per_month,
        replication_gb=sent * p.message_bytes * WAL_AMPLIFICATION / GB,
        websocket_ms=p.websocket_ms_per_invocation,
        http_ms=p.http_ms_per_invocation,
        daily_users=users,
    )
