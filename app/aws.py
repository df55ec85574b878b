"""AWS clients for the serverless backends (the DynamoDB store, the API Gateway bus, the Lambda runtime)."""

from __future__ import annotations

import functools
import threading
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_session_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """One session per process, so each service model is loaded once (a tenth of a second per session)."""
    return boto3.session.Session()


def make_client(service: str, *, region: str, endpoint: str | None = None, pool_size: int = 10) -> Any:
    """A low-level client: thread-safe once made, unlike boto3 resources. Sessions are not, hence the lock."""
    config = Config(
        max_pool_connections=pool_size,
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=3,
        read_timeout=10,
    )
    with _session_lock:
        return _session().client(service, region_name=region, endpoint_url=endpoint, config=config)


def split_url(url: str) -> tuple[SplitResult, dict[str, str]]:
    """`url`'s parts and its query as a map, the last value of a repeated key winning: what the backends'
    `dynamodb://` and `apigateway://` URLs are read with (each checks its own scheme and keys)."""
    parts = urlsplit(url)
    return parts, {key: values[-1] for key, values in parse_qs(parts.query).items()}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def create_ttl_table(client: Any, table: str, *, ttl_attribute: str) -> bool:
    """Create an on-demand table keyed by the string `pk`, whose items expire at `ttl_attribute` (epoch
    seconds), and wait until it exists: for tests and local runs, since the stacks declare their tables.
    False when the table was already there."""
    try:
        client.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as error:
        if error_code(error) == "ResourceInUseException":
            return False
        raise
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
    )
    return True
