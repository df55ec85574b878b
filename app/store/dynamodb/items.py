"""Items of the store's table, to and from domain records (the layout is in the package docstring)."""

from __future__ import annotations

from typing import Any

from app.domain import Member, Message, Role, Room, RoomKind, User

Item = dict[str, Any]
MAX_KEY_BYTES = 512  # well inside DynamoDB's key limits; a longer id cannot exist here
SEQ_DIGITS = 19  # MAX_SEQ = 2**63 - 1 has 19 digits


def string(value: str) -> dict[str, str]:
    return {"S": value}


def number(value: int) -> dict[str, str]:
    return {"N": str(value)}


def item_key(pk: str, sk: str) -> Item:
    return {"pk": string(pk), "sk": string(sk)}


def message_sk(seq: int) -> str:
    return f"MSG#{seq:0{SEQ_DIGITS}d}"


def fits(value: str) -> bool:
    """Ids and names from clients may be anything; one that cannot be a key names nothing."""
    return 0 < len(value) and len(value.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES


def user_from(item: Item, id_attribute: str = "user_id") -> User:
    return User(id=item[id_attribute]["S"], username=item["username"]["S"], display_name=item["display_name"]["S"])


def message_from(item: Item) -> Message:
    return Message(
        id=item["id"]["S"],
        room_id=item["room_id"]["S"],
        seq=int(item["seq"]["N"]),
        sender=item["sender_id"]["S"],
        client_msg_id=item["client_msg_id"]["S"],
        body=item["body"]["S"],
        created_at=int(item["created_at"]["N"]),
        edited_at=int(item["edited_at"]["N"]) if "edited_at" in item else None,
        deleted=item["deleted"]["BOOL"],
    )


def last_activity(items: list[Item]) -> int:
    """When the room last took a message, or was created: room lists sort by it."""
    meta = next(i for i in items if i["sk"]["S"] == "ROOM")
    return int((meta.get("last_message_at") or meta["created_at"])["N"])


def room_from(items: list[Item]) -> Room | None:
    """A room from its room item and member items, in join order; None without the room item."""
    meta = next((i for i in items if i["sk"]["S"] == "ROOM"), None)
    if meta is None:
        return None
    rows = sorted(
        (i for i in items if i["sk"]["S"].startswith("ROOM#MEMBER#")),
        key=lambda i: (int(i["joined_at"]["N"]), i["username"]["S"]),
    )
    return Room(
        id=meta["pk"]["S"].removeprefix("ROOM#"),
        kind=RoomKind(meta["kind"]["S"]),
        name=meta["name"]["S"] if "name" in meta else None,
        created_at=int(meta["created_at"]["N"]),
        last_seq=int(meta["last_seq"]["N"]),
        epoch=int(meta["epoch"]["N"]),
        members=tuple(
            Member(user=user_from(i), role=Role(i["role"]["S"]), read_seq=int(i["read_seq"]["N"])) for i in rows
        ),
    )


def member_items(room_id: str, user: User, role: Role, joined_at: int) -> list[Item]:
    return [
        {
            **item_key(f"ROOM#{room_id}", f"ROOM#MEMBER#{user.id}"),
            "user_id": string(user.id),
            "username": string(user.username),
            "display_name": string(user.display_name),
            "role": string(role.value),
            "read_seq": number(0),
            "joined_at": number(joined_at),
        },
        {**item_key(f"USER#{user.id}", f"ROOM#{room_id}"), "room_id": string(room_id)},
    ]


def message_item(message: Message) -> Item:
    return {
        **item_key(f"ROOM#{message.room_id}", message_sk(message.seq)),
        "id": string(message.id),
        "room_id": string(message.room_id),
        "seq": number(message.seq),
        "sender_id": string(message.sender),
        "client_msg_id": string(message.client_msg_id),
        "body": string(message.body),
        "created_at": number(message.created_at),
        "deleted": {"BOOL": message.deleted},
    }
