"""`coffre revoke` and `coffre notice`: withdraw consent, with a signed erasure request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import emit_json, info, json_option

if TYPE_CHECKING:
    from vault.sharing.revocation import ErasureRequest


def write_request(request: ErasureRequest, path: Path) -> list[Path]:
    """Write the request JSON at `path`, its `.minisig`, and the readable `.txt` beside it."""
    written = []
    for target, data in (
        (path, request.document),
        (path.with_name(path.name + ".minisig"), request.signature.encode()),
        (path.with_suffix(".txt"), request.text().encode()),
    ):
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        written.append(target)
    return written


notice_out_option = click.option(
    "--notice-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the signed request to FILE (JSON), FILE.minisig and FILE's .txt.",
)


def _report(request: ErasureRequest, notice_out: Path | None, as_json: bool) -> None:
    files = write_request(request, notice_out) if notice_out else []
    if as_json:
        emit_json({**request.as_dict(), "files": [str(p) for p in files]})
        return
    if files:
        info("Erasure request written: " + ", ".join(str(p) for p in files))
    else:
        click.echo(request.text(), nl=False)


@cli.command()
@click.argument("grant")
@notice_out_option
@json_option
@pass_env
def revoke(env: Env, grant: str, notice_out: Path | None, as_json: bool) -> None:
    """Withdraw a grant: no further exports, and a signed withdrawal and erasure request.

    The request (GDPR Art. 7(3) and 17) names the grant, its receipt and every bundle sent
    under it; it is signed with the persona's key for that recipient and kept in the vault.
    Without --notice-out its readable text is printed.
    """
    from vault.sharing.revocation import revoke as withdraw

    with env.vault() as v:
        request = withdraw(v, grant)
    info(f"Grant {request.grant[:8]} withdrawn; later exports under it are refused.")
    _report(request, notice_out, as_json)


@cli.command()
@click.argument("grant")
@notice_out_option
@json_option
@pass_env
def notice(env: Env, grant: str, notice_out: Path | None, as_json: bool) -> None:
    """Show the erasure request of a withdrawn or expired grant (made once, then kept)."""
    from vault.sharing.revocation import notice_for

    with env.vault() as v:
        request = notice_for(v, grant)
    _report(request, notice_out, as_json)
