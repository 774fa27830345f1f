"""Property tests of what an S3 remote parses from outside: URLs, a credentials command's
output, and stored credentials. Whatever the input, the answer is a value or the one error
class documented for it, never another exception."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core.errors import InvalidParameter, RemoteDenied
from vault.remote.credentials import Credentials, Keys, parse_process_output
from vault.remote.s3 import S3Location, parse_s3_url

URL_PIECES = st.sampled_from(
    [
        "s3://",
        "bucket",
        "my-b.1",
        "/",
        "//",
        "..",
        ".",
        "p",
        "?",
        "&",
        "=",
        "endpoint",
        "region",
        "http://",
        "127.0.0.1",
        ":9000",
        "@",
        "#",
        "%2F",
        "eu-west-3",
        " ",
        "\x00",
        "é",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(URL_PIECES, max_size=12).map("".join) | st.text(max_size=60))
def test_a_url_is_a_location_that_round_trips_or_invalid_parameter(url: str) -> None:
    try:
        location = parse_s3_url(url)
    except InvalidParameter:
        return
    assert isinstance(location, S3Location)
    assert parse_s3_url(location.url()) == location


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
PROCESS_OUTPUT = st.fixed_dictionaries(
    {},
    optional={
        "Version": st.sampled_from([1, 2, "1", True, None]),
        "AccessKeyId": st.text(max_size=8) | JSON_VALUES,
        "SecretAccessKey": st.text(max_size=8) | JSON_VALUES,
        "SessionToken": st.text(max_size=8) | JSON_VALUES,
        "Expiration": st.sampled_from(["2030-01-01T00:00:00Z", "2030-01-01", "x", 5, None]),
    },
)


@settings(max_examples=150, deadline=None)
@given(PROCESS_OUTPUT.map(lambda d: json.dumps(d).encode()) | st.binary(max_size=80))
def test_command_output_is_keys_or_remote_denied(output: bytes) -> None:
    try:
        keys = parse_process_output(output)
    except RemoteDenied:
        return
    assert isinstance(keys, Keys) and keys.access_key_id and keys.secret_access_key


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES.map(json.dumps) | st.text(max_size=40))
def test_stored_credentials_are_credentials_or_invalid_parameter(text: str) -> None:
    try:
        credentials = Credentials.from_json(text)
    except InvalidParameter:
        return
    assert Credentials.from_json(credentials.to_json()) == credentials
