"""Remotes: end-to-end encrypted sync and backup of a vault over object storage or a folder."""

from typing import TYPE_CHECKING

from vault.remote.remotes import (
    add_remote,
    clone,
    devices,
    list_remotes,
    remove_remote,
    rename_device,
    revoke_device,
    summary,
    sync,
)

if TYPE_CHECKING:
    from vault.remote.engine import SyncReport

__all__ = [
    "SyncReport",
    "add_remote",
    "clone",
    "devices",
    "list_remotes",
    "remove_remote",
    "rename_device",
    "revoke_device",
    "summary",
    "sync",
]


def __getattr__(name: str) -> object:
    # The engine (and what it imports) loads only when a sync runs: `coffre status` lists
    # remotes without it.
    if name == "SyncReport":
        from vault.remote.engine import SyncReport

        return SyncReport
    raise AttributeError(name)
