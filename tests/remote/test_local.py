"""A device's sync bookkeeping never shows its keys or credentials in a repr (a traceback or
a log line)."""

from __future__ import annotations

from vault.remote.local import RemoteState


def test_a_remote_state_keeps_its_keys_out_of_its_repr() -> None:
    secrets = ["SECRET-ACCESS", "ab" * 32, "cd" * 32, "ef" * 32, "12" * 32, "34" * 32, "56" * 32]
    state = RemoteState(
        "usb",
        "file:///media/usb",
        credentials={"keys": {"secret_access_key": secrets[0]}},
        pkey=secrets[1],
        root=secrets[2],
        old_pkeys=[secrets[3]],
        blobs={"b": {"key": secrets[4]}},
        segments=[{"key": secrets[5]}],
        remote_blobs={"r": {"key": secrets[6]}},
    )
    shown = repr(state)
    assert "usb" in shown
    assert not [s for s in secrets if s in shown]
