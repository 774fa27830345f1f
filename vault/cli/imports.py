"""The `coffre import` group, shared by every area that imports files (personas, health data,
content). It joins a group another module registered first, so no area's importers are lost
whatever the import order."""

from __future__ import annotations

import click

from vault.cli.main import cli

_existing = cli.commands.get("import")
if isinstance(_existing, click.Group):
    import_group: click.Group = _existing
else:

    @cli.group("import")
    def import_group() -> None:
        """Import data from other tools' files into the vault (one transaction per file)."""
