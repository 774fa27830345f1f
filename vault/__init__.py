"""Coffre: a privacy-first personal data vault (the headless library).

`Vault` (in `vault.core.vault`) opens, creates and checks a vault; the domain packages
(`personas`, `content`, `data`, `sharing`, `forget`) offer the use cases on it. Nothing here
prints or prompts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vault.core.vault import Vault

__all__ = ["Vault", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import vault` stays cheap for the CLI's start-up time.
    if name == "Vault":
        from vault.core.vault import Vault

        return Vault
    raise AttributeError(name)
