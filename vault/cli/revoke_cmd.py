"""`coffre revoke` and `coffre notice`: withdraw consent, with a signed erasure request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import emit_json, force_option, info, json_option
from vault.core.i18n import _
from vault.core.outputs import check_free, write_files

if TYPE_CHECKING:
    from vault.sharing.revocation import ErasureRequest


def request_paths(path: Path) -> tuple[Path, Path, Path]:
    """Where a request goes: the JSON at PATH, its signature at PATH.minisig, the text with
    a `.txt` suffix, or PATH.txt when PATH already ends in `.txt` (never one over another)."""
    text = path.with_suffix(".txt")
    if text == path:
        text = path.with_name(path.name + ".txt")
    return path, path.with_name(path.name + ".minisig"), text


def write_request(request: ErasureRequest, path: Path, *, force: bool = False) -> list[Path]:
    """Write the request JSON, its signature and its readable text (`request_paths`) as
    output files: none replaced unless FORCE."""
    document, signature, text = request_paths(path)
    return write_files(
        {
            document: request.document,
            signature: request.signature.encode(),
            text: request.text(document.name).encode(),
        },
        force=force,
    )


def _request_command(command: Callable[..., None]) -> click.Command:
    """`coffre NAME GRANT [--notice-out FILE] [--force] [--json]`: what `revoke` and `notice`
    share."""
    notice_out = click.option(
        "--notice-out",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the signed request to FILE (JSON), FILE.minisig and FILE's .txt.",
    )
    decorated = notice_out(force_option(json_option(pass_env(command))))
    return cli.command()(click.argument("grant")(decorated))


def _free(notice_out: Path | None, force: bool) -> None:
    """Refuse taken names before the vault changes (a withdrawal, a request made)."""
    if notice_out:
        check_free(request_paths(notice_out), force=force)


def _report(request: ErasureRequest, notice_out: Path | None, force: bool, as_json: bool) -> None:
    files = write_request(request, notice_out, force=force) if notice_out else []
    if as_json:
        emit_json({**request.as_dict(), "files": [str(p) for p in files]})
        return
    if files:
        info(_("Erasure request written: ") + ", ".join(str(p) for p in files))
    else:
        click.echo(request.text(), nl=False)


@_request_command
def revoke(env: Env, grant: str, notice_out: Path | None, force: bool, as_json: bool) -> None:
    """Withdraw a grant: no further exports, and a signed withdrawal and erasure request.

    The request (GDPR Art. 7(3) and 17) names the grant, its receipt and every bundle sent
    under it; it is signed with the persona's key for that recipient and kept in the vault.
    Without --notice-out its readable text is printed.

    \b
    Examples:
      coffre revoke 4c1d9e2a
      coffre revoke 4c1d9e2a --notice-out withdrawal.json
    """
    from vault.sharing.revocation import revoke as withdraw

    _free(notice_out, force)
    with env.vault() as v:
        request = withdraw(v, grant)
    info(
        _("Grant {grant} withdrawn; later exports under it are refused.").format(
            grant=request.grant[:8]
        )
    )
    _report(request, notice_out, force, as_json)


@_request_command
def notice(env: Env, grant: str, notice_out: Path | None, force: bool, as_json: bool) -> None:
    """Show the erasure request of a withdrawn or expired grant (made once, then kept).

    \b
    Examples:
      coffre notice 4c1d9e2a
      coffre notice 4c1d9e2a --notice-out request.json --force
    """
    from vault.sharing.revocation import notice_for

    _free(notice_out, force)
    with env.vault() as v:
        request = notice_for(v, grant)
    _report(request, notice_out, force, as_json)
