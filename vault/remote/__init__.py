"""Remotes: end-to-end encrypted sync and backup of a vault over object storage or a folder."""

from vault.remote.engine import SyncReport
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
