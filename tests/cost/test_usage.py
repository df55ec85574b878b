"""Usage profiles: the formulas turning a workload into monthly quantities, and validation errors naming fields."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import yaml

from infra.cost.usage import (
    DEFAULT_PROFILE,
    GB,
    HOURS_PER_MONTH,
    PROFILE_DIR,
    ProfileError,
    load_profile,
    profile_from,
    quantities,
)

DAYS = HOURS_PER_MONTH / 24


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def test_default_profile_is_ten_thousand_daily_users(profile):
    assert profile.name == "messaging-10k"
    assert profile.daily_users == 10_000


def test_messages_and_connection_minutes(profile):
    q = quantities(profile)
    sent = profile.daily_users * profile.messages_per_user_per_day * DAYS
    pings = profile.daily_users * profile.connected_hours_per_user_per_day * profile.pings_per_connected_hour * DAYS
    assert q.messages_sent == pytest.approx(sent)
    assert q.websocket_messages == pytest.approx(sent * (1 + profile.fan_out) + 2 * pings)
    assert q.connection_minutes == pytest.approx(
        profile.daily_users * profile.connected_hours_per_user_per_day * 60 * DAYS
    )
    connections = profile.daily_users * profile.connections_per_user_per_day * DAYS
    assert q.websocket_invocations == pytest.approx(sent + pings + 2 * connections)


def test_transfer_and_store_quantities(profile):
    q = quantities(profile)
    sent = q.messages_sent
    assert q.websocket_out_gb == pytest.approx(sent * profile.fan_out * profile.message_bytes / GB)
    http_out = (
        q.http_requests * profile.http_response_bytes
        + profile.daily_users * profile.attachment_bytes_per_user_per_day * DAYS
    )
    assert q.http_out_gb == pytest.approx(http_out / GB)
    assert q.internet_out_gb == pytest.approx(q.websocket_out_gb + q.http_out_gb)
    assert q.store_writes == pytest.approx(sent * profile.store_writes_per_message)
    assert q.connection_writes == pytest.approx(2 * profile.daily_users * profile.connections_per_user_per_day * DAYS)


def test_instances_follow_peak_connections(profile):
    busy = replace(profile, daily_users=100_000)
    expected = math.ceil(
        100_000 * busy.connected_hours_per_user_per_day / 24 * busy.peak_to_average / busy.connections_per_instance
    )
    assert quantities(busy).instances_needed == expected
    assert quantities(replace(profile, daily_users=1)).instances_needed == 1


def test_usage_scales_with_users(profile):
    small, large = quantities(replace(profile, daily_users=1000)), quantities(profile)
    assert large.websocket_messages == pytest.approx(10 * small.websocket_messages)


def test_users_override(tmp_path: Path):
    assert load_profile(DEFAULT_PROFILE, daily_users=25).daily_users == 25


def test_missing_field_is_named(profile):
    document = asdict(profile)
    del document["fan_out"]
    with pytest.raises(ProfileError, match="'fan_out' is missing"):
        profile_from(document)


def test_bad_value_names_the_field(profile):
    document = {**asdict(profile), "peak_to_average": 0.5, "daily_users": "many"}
    with pytest.raises(ProfileError) as error:
        profile_from(document, origin="p.yaml")
    assert "p.yaml" in str(error.value)
    assert "peak_to_average: 0.5 is less than the minimum of 1" in str(error.value)
    assert "daily_users: 'many' is not of type 'integer'" in str(error.value)


def test_unknown_field_is_refused(profile, tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({**asdict(profile), "mesages_per_day": 3}))
    with pytest.raises(ProfileError, match=r"unknown field: .*mesages_per_day"):
        load_profile(path)


def test_unreadable_yaml(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("daily_users: [")
    with pytest.raises(ProfileError, match=r"p\.yaml"):
        load_profile(path)


@pytest.mark.parametrize("path", sorted(PROFILE_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_profiles_are_valid_and_named_for_their_file(path: Path):
    assert load_profile(path).name == path.stem
