"""The DynamoDB store (the serverless target), on one table.

URL: `dynamodb://?region=eu-west-1&prefix=parley-prod-` (the table is `<prefix>store`, or `table=NAME`);
`endpoint=http://127.0.0.1:8000` points it at DynamoDB Local or moto.

Table design: one table, string keys `pk` (partition) and `sk` (sort), on-demand billing, no index.

| item | pk | sk | attributes |
|---|---|---|---|
| user | `USER#<user id>` | `USER` | username, display_name, created_at |
| username claim | `NAME#<username>` | `NAME` | user_id, display_name, password_hash |
| room | `ROOM#<room id>` | `ROOM` | kind, name, direct_key, created_at, last_seq, epoch, last_message_at |
| member (room side) | `ROOM#<room id>` | `ROOM#MEMBER#<user id>` | user_id, username, display_name, role, read_seq, |
| | | | joined_at |
| membership (user side) | `USER#<user id>` | `ROOM#<room id>` | room_id |
| message | `ROOM#<room id>` | `MSG#<seq, 19 digits>` | id, seq, sender_id, client_msg_id, body, created_at, |
| | | | edited_at, deleted |
| sent (idempotency) | `ROOM#<room id>` | `SENT#<sender id>#<client_msg_id>` | seq |
| direct pair | `DIRECT#<direct key>` | `DIRECT` | room_id |

One query (`begins_with(sk, "ROOM")`) reads a room with its members; messages sort by their zero-padded seq.
Rooms by user are a second item written in the same transaction as the member item, not a global secondary
index, because index reads are only eventually consistent and the contract wants read-your-writes (a user
who just joined a room may `sync` it at once). Every read is strongly consistent for the same reason.
Usernames and display names are copied into member items: users never change them in protocol v1; a rename
would have to rewrite those items too.

Writes, as the contract asks:
- `append_message` is one `TransactWriteItems`: set the room's `last_seq` to n+1 on the condition that it is
  still n, put the message at seq n+1 and the sent item, both on `attribute_not_exists`. Writers that lose
  the race are cancelled and retry with the new n, so seqs are unique and gap-free; a cancelled sent item
  means a duplicate `client_msg_id`, answered with the stored message.
- A room appears when its room item is written: members first (large rooms exceed the 100 items of one
  transaction), the room item last, and readers ignore member items of a room that has no room item.
- Global tables (two regions, prod) replicate asynchronously with last-writer-wins, so conditional writes are
  only exclusive within one region: deploy active-passive (all traffic to one region, the other after a
  failover), and bump epochs after a failover so clients refetch what replication had not carried yet.

Why boto3 in worker threads rather than aiobotocore: botocore clients are thread-safe, boto3 is what moto
patches and what every AWS tool ships, and aiobotocore pins botocore to narrow ranges that fight boto3 and
moto (and brings aiohttp into every Lambda cold start). Each call runs on this store's own pool of
`pool_size` threads, with as many HTTP connections, so calls really overlap.
"""

from app.store.dynamodb.store import DynamoStore
from app.store.dynamodb.table import DynamoConfig, create_table, drop_table

__all__ = ["DynamoConfig", "DynamoStore", "create_table", "drop_table"]
