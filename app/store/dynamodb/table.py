"""The store's table: where it is (`dynamodb://` URLs) and how it is made (`parley migrate`, tests)."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from app.aws import error_code, make_client, split_url


@dataclass(frozen=True, slots=True)
class DynamoConfig:
    table: str
    region: str
    endpoint: str | None = None

    @classmethod
    def from_url(cls, url: str) -> DynamoConfig:
        parts, query = split_url(url)
        if parts.scheme != "dynamodb":
            raise ValueError(f"not a dynamodb:// URL: {parts.scheme}://")
        table = query.get("table") or f"{query.get('prefix', 'parley-')}store"
        return cls(table=table, region=query.get("region", "us-east-1"), endpoint=query.get("endpoint"))


def create_table(url: str) -> bool:
    """Create the store's table (`parley migrate`, tests); False if it was already there."""
    config = DynamoConfig.from_url(url)
    client = make_client("dynamodb", region=config.region, endpoint=config.endpoint, pool_size=1)
    try:
        client.create_table(
            TableName=config.table,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as error:
        if error_code(error) == "ResourceInUseException":
            return False
        raise
    client.get_waiter("table_exists").wait(TableName=config.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return True


def drop_table(url: str) -> None:
    config = DynamoConfig.from_url(url)
    client = make_client("dynamodb", region=config.region, endpoint=config.endpoint, pool_size=1)
    client.delete_table(TableName=config.table)
