"""The `coffre` command line: thin click commands over the library.

`vault.cli.main` holds the root group, the error dispatcher and the helpers every command
uses; each other module here adds the commands of one area.
"""

from vault.cli.main import cli, main

__all__ = ["cli", "main"]
