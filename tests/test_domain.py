"""The pure domain (app/domain.py): names, limits, room keys, who may do what, read cursors, pages and the
rate limiter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import (
    MAX_CLIENT_MSG_ID,
    MAX_DISPLAY_NAME,
    MAX_ROOM_NAME,
    PAGE_DEFAULT,
    PAGE_MAX,
    Member,
    Message,
    Role,
    Room,
    RoomKind,
    User,
    can_manage,
    check_add_member,
    check_body,
    check_client_msg_id,
    check_delete,
    check_display_name,
    check_edit,
    check_remove_member,
    check_room_name,
    direct_key,
    next_read_seq,
    normalise_username,
    page_limit,
    require_member,
    rfc3339,
)
from app.errors import Forbidden, Invalid, PayloadTooLarge

# Usernames


@pytest.mark.parametrize(
    ("given_name", "normalised"),
    [
        ("alice", "alice"),
        ("Alice", "alice"),
        ("  bob\n", "bob"),
        ("a1", "a1"),
        ("x" * 32, "x" * 32),
        ("j.doe-2_x", "j.doe-2_x"),
        ("0day", "0day"),
    ],
)
def test_valid_usernames_are_normalised(given_name: str, normalised: str) -> None:
    assert normalise_username(given_name) == normalised


@pytest.mark.parametrize(
    "bad", ["", "a", "x" * 33, "_alice", ".alice", "-alice", "al ice", "al\nice", "élise", "alice!", "ali/ce", "   "]
)
def test_invalid_usernames_are_refused(bad: str) -> None:
    with pytest.raises(Invalid, match="username"):
        normalise_username(bad)


@pytest.mark.parametrize(
    ("given_name", "expected"), [(" Ann ", "Ann"), ("d" * MAX_DISPLAY_NAME, "d" * MAX_DISPLAY_NAME)]
)
def test_display_names_are_trimmed(given_name: str, expected: str) -> None:
    assert check_display_name(given_name) == expected


@pytest.mark.parametrize("bad", ["", "  ", "d" * (MAX_DISPLAY_NAME + 1)])
def test_invalid_display_names_are_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        check_display_name(bad)


# Bodies, client message ids, room names


@pytest.mark.parametrize(
    ("body", "fits"),
    [
        ("a" * 12, True),
        ("a" * 13, False),
        ("€" * 4, True),  # 12 bytes
        ("€" * 4 + "a", False),  # 5 characters, 13 bytes
        ("\U0001f600" * 3, True),  # 12 bytes
        ("\U0001f600" * 3 + "a", False),
        ("é" * 6, True),
        ("é" * 7, False),
    ],
)
def test_body_limit_is_in_utf8_bytes(body: str, fits: bool) -> None:
    if fits:
        assert check_body(body, max_bytes=12) == body
    else:
        with pytest.raises(PayloadTooLarge, match=f"{len(body.encode())} bytes"):
            check_body(body, max_bytes=12)


@pytest.mark.parametrize("blank", ["", " ", "\n\t ", "\u3000"])
def test_blank_bodies_are_refused(blank: str) -> None:
    with pytest.raises(Invalid):
        check_body(blank, max_bytes=100)


def test_client_msg_id_length() -> None:
    assert check_client_msg_id("c" * MAX_CLIENT_MSG_ID) == "c" * MAX_CLIENT_MSG_ID
    for bad in ("", "c" * (MAX_CLIENT_MSG_ID + 1)):
        with pytest.raises(Invalid):
            check_client_msg_id(bad)


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        (" team ", RoomKind.GROUP, "team"),
        ("n" * MAX_ROOM_NAME, RoomKind.GROUP, "n" * MAX_ROOM_NAME),
        ("ignored", RoomKind.DIRECT, None),
        (None, RoomKind.DIRECT, None),
    ],
)
def test_room_names(name: str | None, kind: RoomKind, expected: str | None) -> None:
    assert check_room_name(name, kind) == expected


@pytest.mark.parametrize("bad", [None, "", "   ", "n" * (MAX_ROOM_NAME + 1)])
def test_a_group_needs_a_name(bad: str | None) -> None:
    with pytest.raises(Invalid):
        check_room_name(bad, RoomKind.GROUP)


# Direct rooms

USER_IDS = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=32)


@given(a=USER_IDS, b=USER_IDS)
def test_direct_key_is_symmetric(a: str, b: str) -> None:
    if a == b:
        with pytest.raises(Invalid):
            direct_key(a, b)
    else:
        assert direct_key(a, b) == direct_key(b, a)


@given(
    pair=st.lists(USER_IDS, min_size=2, max_size=2, unique=True),
    other=st.lists(USER_IDS, min_size=2, max_size=2, unique=True),
)
def test_direct_keys_of_different_pairs_differ(pair: list[str], other: list[str]) -> None:
    if set(pair) != set(other):
        assert direct_key(*pair) != direct_key(*other)


# Permissions

OWNER, ADMIN, MEMBER, OUTSIDER = (User(id=n, username=n, display_name=n) for n in ("own", "adm", "mem", "out"))
PEER = User(id="peer", username="peer", display_name="peer")


def room(kind: RoomKind = RoomKind.GROUP) -> Room:
    members = [
        Member(OWNER, Role.OWNER),
        Member(ADMIN, Role.ADMIN),
        Member(MEMBER, Role.MEMBER),
        Member(PEER, Role.MEMBER),
    ]
    if kind is RoomKind.DIRECT:
        members = [Member(OWNER, Role.OWNER), Member(PEER, Role.MEMBER)]
    return Room(id="r", kind=kind, name=None, created_at=0, last_seq=3, epoch=1, members=tuple(members))


def message(sender: User, *, deleted: bool = False) -> Message:
    return Message(
        id="m", room_id="r", seq=1, sender=sender.id, client_msg_id="c", body="hi", created_at=0, deleted=deleted
    )


def test_roles_and_membership() -> None:
    group = room()
    assert [require_member(group, u.id) for u in (OWNER, ADMIN, MEMBER)] == [Role.OWNER, Role.ADMIN, Role.MEMBER]
    with pytest.raises(Forbidden):
        require_member(group, OUTSIDER.id)
    assert [can_manage(role) for role in Role] == [True, True, False]
    assert group.role_of(OUTSIDER.id) is None
    assert group.member_ids() == ["own", "adm", "mem", "peer"]


@pytest.mark.parametrize(
    ("actor", "kind", "error"),
    [
        (OWNER, RoomKind.GROUP, None),
        (ADMIN, RoomKind.GROUP, None),
        (MEMBER, RoomKind.GROUP, Forbidden),
        (OUTSIDER, RoomKind.GROUP, Forbidden),
        (OWNER, RoomKind.DIRECT, Invalid),
        (OUTSIDER, RoomKind.DIRECT, Forbidden),
    ],
)
def test_who_may_add_members(actor: User, kind: RoomKind, error: type[Exception] | None) -> None:
    if error is None:
        check_add_member(room(kind), actor.id)
    else:
        with pytest.raises(error):
            check_add_member(room(kind), actor.id)


@pytest.mark.parametrize(
    ("actor", "target", "kind", "error"),
    [
        (OWNER, MEMBER, RoomKind.GROUP, None),
        (ADMIN, MEMBER, RoomKind.GROUP, None),
        (ADMIN, OWNER, RoomKind.GROUP, Forbidden),
        (MEMBER, PEER, RoomKind.GROUP, Forbidden),
        (MEMBER, MEMBER, RoomKind.GROUP, None),  # leaving
        (OWNER, OWNER, RoomKind.GROUP, None),
        (OUTSIDER, MEMBER, RoomKind.GROUP, Forbidden),
        (OWNER, OUTSIDER, RoomKind.GROUP, Invalid),
        (OWNER, PEER, RoomKind.DIRECT, Invalid),
        (PEER, PEER, RoomKind.DIRECT, Invalid),
    ],
)
def test_who_may_remove_whom(actor: User, target: User, kind: RoomKind, error: type[Exception] | None) -> None:
    if error is None:
        check_remove_member(room(kind), actor.id, target.id)
    else:
        with pytest.raises(error):
            check_remove_member(room(kind), actor.id, target.id)


@pytest.mark.parametrize(
    ("actor", "sender", "deleted", "error"),
    [
        (MEMBER, MEMBER, False, None),
        (OWNER, MEMBER, False, Forbidden),
        (ADMIN, MEMBER, False, Forbidden),
        (PEER, MEMBER, False, Forbidden),
        (MEMBER, MEMBER, True, Invalid),
    ],
)
def test_only_the_sender_edits(actor: User, sender: User, deleted: bool, error: type[Exception] | None) -> None:
    if error is None:
        check_edit(message(sender, deleted=deleted), actor.id)
    else:
        with pytest.raises(error):
            check_edit(message(sender, deleted=deleted), actor.id)


@pytest.mark.parametrize(
    ("actor", "sender", "error"),
    [
        (MEMBER, MEMBER, None),
        (OWNER, MEMBER, None),
        (ADMIN, MEMBER, None),
        (PEER, MEMBER, Forbidden),
        (MEMBER, OWNER, Forbidden),
        (OUTSIDER, OUTSIDER, Forbidden),
    ],
)
def test_the_sender_or_a_manager_deletes(actor: User, sender: User, error: type[Exception] | None) -> None:
    if error is None:
        check_delete(message(sender), room(), actor.id)
    else:
        with pytest.raises(error):
            check_delete(message(sender), room(), actor.id)


# Read cursors and pages


@pytest.mark.parametrize(
    ("current", "requested", "last_seq", "expected"),
    [(0, 5, 10, 5), (5, 3, 10, 5), (5, 5, 10, 5), (5, 20, 10, 10), (0, 0, 0, 0), (0, 1, 0, 0), (3, 0, 10, 3)],
)
def test_read_cursor_moves_forward_up_to_the_last_seq(
    current: int, requested: int, last_seq: int, expected: int
) -> None:
    assert next_read_seq(current, requested, last_seq) == expected


@given(current=st.integers(0, 1000), requested=st.integers(0, 2000), grows_by=st.integers(0, 1000))
def test_read_cursor_never_moves_back(current: int, requested: int, grows_by: int) -> None:
    last_seq = current + grows_by
    cursor = next_read_seq(current, requested, last_seq)
    assert current <= cursor <= last_seq


def test_read_cursor_refuses_negative_seqs() -> None:
    with pytest.raises(Invalid):
        next_read_seq(0, -1, 10)


@pytest.mark.parametrize(("limit", "expected"), [(None, PAGE_DEFAULT), (1, 1), (PAGE_MAX, PAGE_MAX), (17, 17)])
def test_page_limit(limit: int | None, expected: int) -> None:
    assert page_limit(limit) == expected


@pytest.mark.parametrize("bad", [0, -1, PAGE_MAX + 1])
def test_page_limit_refuses_out_of_range(bad: int) -> None:
    with pytest.raises(Invalid):
        page_limit(bad)


# Public shapes


def test_rfc3339_is_utc_with_milliseconds() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert rfc3339(None) is None


def test_a_deleted_message_shows_an_empty_body() -> None:
    public = message(MEMBER, deleted=True).public()
    assert (public["body"], public["deleted"]) == ("", True)
    assert message(MEMBER).public()["body"] == "hi"
