"""Messages that travel up the DOM: widgets and screens tell the app what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from textual.screen import Screen

    from vault.core.vault import Vault


class VaultUnlocked(Message):
    """The unlock screen opened (or created) the vault: the app takes it from here."""

    def __init__(self, vault: Vault, created: bool) -> None:
        super().__init__()
        self.vault = vault
        self.created = created


class VaultChanged(Message):
    """A screen wrote to the vault; the app tells the other screens to reload when shown."""

    def __init__(self, what: str, screen: Screen[None]) -> None:
        super().__init__()
        self.what = what
        self.screen = screen
