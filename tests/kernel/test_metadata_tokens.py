"""Metadata ids and credentials: id format, API keys, site keys, webhook secrets."""

from __future__ import annotations

import base64
import re

import pytest

from kernel.metadata import (
    generate_api_key,
    hash_api_secret,
    new_id,
    new_site_key,
    new_webhook_secret,
    split_api_key,
    verify_api_secret,
)
from kernel.metadata.ids import ID_LENGTH, PREFIXES
from kernel.metadata.models import Base


def test_ids_are_prefixed_uuid4_hex() -> None:
    value = new_id("mag")
    assert re.fullmatch(r"mag_[0-9a-f]{32}", value)
    assert value[4 + 12] == "4"  # uuid4 version nibble
    assert new_id("mag") != value
    with pytest.raises(ValueError):
        new_id("Mag-1")


def test_every_table_has_a_unique_prefix_that_fits() -> None:
    # every table with its own id column (org_data_keys is keyed by its organization)
    assert set(PREFIXES) == {n for n, t in Base.metadata.tables.items() if "id" in t.c}
    assert len(set(PREFIXES.values())) == len(PREFIXES)
    assert all(len(new_id(p)) <= ID_LENGTH for p in PREFIXES.values())


def test_api_key_round_trip() -> None:
    key = generate_api_key()
    assert re.fullmatch(r"ls_live_[0-9a-f]{8}", key.prefix)
    parts = split_api_key(key.token)
    assert parts is not None
    prefix, secret = parts
    assert prefix == key.prefix and len(secret) == 64
    assert key.secret_hash == hash_api_secret(secret) and len(key.secret_hash) == 64
    assert verify_api_secret(secret, key.secret_hash)
    assert not verify_api_secret(secret[:-1] + "0" if secret[-1] != "0" else "1", key.secret_hash)
    assert generate_api_key("test").prefix.startswith("ls_test_")


@pytest.mark.parametrize("token", ["", "nope", "ls_live_ab12cd34_", "xx_live_ab12cd34_abc"])
def test_malformed_api_keys_are_rejected(token: str) -> None:
    assert split_api_key(token) is None


def test_site_keys_and_webhook_secrets() -> None:
    assert re.fullmatch(r"pub_[0-9a-f]{24}", new_site_key())
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
