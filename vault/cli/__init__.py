"""The `coffre` command line: thin click commands over the library.

`vault.cli.main` holds the root group and the error dispatcher, `vault.cli.output` what
commands print and write; each other module here adds the commands of one area.
"""

from vault.cli.main import cli, main

__all__ = ["cli", "main"]
