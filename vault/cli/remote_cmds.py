"""`coffre remote`, `sync`, `clone` and `device`: the vault on several devices and in backups."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.main import CoffreGroup, Env, cli, pass_env
from vault.cli.output import (
    StderrProgress,
    binary_size,
    confirm,
    emit,
    emit_json,
    info,
    json_option,
    nothing_changed,
    say,
    yes_option,
)
from vault.core.i18n import _, ngettext, number

if TYPE_CHECKING:
    from vault.remote.engine import SyncReport


@cli.group(cls=CoffreGroup)
def remote() -> None:
    """Where the vault is synced and backed up: S3-compatible storage or a folder.

    A remote holds only sealed objects of a few padded sizes: no names, dates or kinds. Each
    device writes objects of its own, so any S3 server (AWS, Backblaze B2, Cloudflare R2,
    Scaleway, OVHcloud, MinIO, Garage...) or a synced folder works.

    \b
    Examples:
      coffre remote add backup s3://my-bucket/coffre?endpoint=https://s3.fr-par.scw.cloud
      coffre remote add usb file:///media/usb/coffre
      coffre remote list
    """


def remote_state_words(r: dict[str, Any]) -> tuple[str, str, str]:
    """(last sync, changes waiting, forgets pending elsewhere) of a listed remote, in the
    words `remote list` and `status` both use."""
    last = r["last_sync"] or _("never")
    pending = (
        ngettext("{n} change to send", "{n} changes to send", r["pending"]).format(
            n=number(r["pending"])
        )
        if r["pending"]
        else _("up to date")
    )
    forgets = (
        ngettext(", {n} forget pending", ", {n} forgets pending", r["pending_forgets"]).format(
            n=number(r["pending_forgets"])
        )
        if r["pending_forgets"]
        else ""
    )
    return last, pending, forgets


def _remote_line(r: dict[str, Any]) -> str:
    last, pending, forgets = remote_state_words(r)
    return _("{name} {url}  last sync {last}, {pending}{forgets}").format(
        name=f"{r['name']:<12}", url=r["url"], last=last, pending=pending, forgets=forgets
    )


def _credential_options(command: Any) -> Any:
    """`--profile` and `--credentials-command`: where an S3 remote's keys come from."""
    command = click.option(
        "--credentials-command",
        help="Run this command for the S3 keys at each use (AWS credential_process JSON).",
    )(command)
    return click.option("--profile", help="Take the S3 keys from this AWS profile.")(command)


@remote.command("add")
@click.argument("name")
@click.argument("url")
@_credential_options
@json_option
@pass_env
def remote_add(
    env: Env,
    name: str,
    url: str,
    profile: str | None,
    credentials_command: str | None,
    as_json: bool,
) -> None:
    """Add a remote NAME at URL (nothing is sent before `coffre sync`).

    URL is s3://BUCKET/PREFIX?endpoint=URL&region=R or file:///ABSOLUTE/PATH. An S3 remote's
    keys come from --credentials-command, --profile, the AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY variables, or the AWS_PROFILE (else default) profile, in that
    order; they are kept only sealed in the vault.

    \b
    Examples:
      coffre remote add usb file:///media/usb/coffre
      coffre remote add backup "s3://my-bucket/coffre?endpoint=http://127.0.0.1:9000"
    """
    from vault.remote import add_remote
    from vault.remote.remotes import credentials_for

    credentials = credentials_for(url, profile=profile, command=credentials_command)
    with env.vault() as v:
        shown = add_remote(v, name, url, credentials=credentials)
    emit(
        shown,
        _("Remote {name} added; `coffre sync {name}` sends the vault there.").format(name=name),
        as_json=as_json,
    )


@remote.command("list")
@json_option
@pass_env
def remote_list(env: Env, as_json: bool) -> None:
    """List the remotes, their last sync and what is waiting to be sent.

    \b
    Examples:
      coffre remote list
      coffre remote list --json
    """
    from vault.remote import list_remotes

    with env.vault() as v:
        rows = list_remotes(v)
    if as_json:
        emit_json(rows)
    elif not rows:
        info(_("No remote yet: `coffre remote add NAME URL` adds one."))
    else:
        for r in rows:
            say(_remote_line(r))


@remote.command("rm")
@click.argument("name")
@yes_option
@json_option
@pass_env
def remote_rm(env: Env, name: str, yes: bool, as_json: bool) -> None:
    """Stop syncing with remote NAME; what it holds stays there (delete it there).

    \b
    Examples:
      coffre remote rm usb
      coffre remote rm usb --yes
    """
    from vault.remote import remove_remote

    with env.vault() as v:
        if not confirm(
            _("Stop syncing with {name}?").format(name=name),
            yes=yes,
            action=_("removing a remote"),
        ):
            nothing_changed()
            return
        remove_remote(v, name)
    emit(
        {"removed": name},
        _("Remote {name} removed; its objects stay where they are.").format(name=name),
        as_json=as_json,
    )


def _counts(moved: dict[str, Any]) -> str:
    """Records, deletions and files of one direction of a sync, with their size."""
    return _("{records}, {deleted}, {files} ({size})").format(
        records=ngettext("{n} record", "{n} records", moved["records"]).format(
            n=number(moved["records"])
        ),
        deleted=ngettext("{n} deletion", "{n} deletions", moved["deleted"]).format(
            n=number(moved["deleted"])
        ),
        files=ngettext("{n} file", "{n} files", moved["blobs"]).format(n=number(moved["blobs"])),
        size=binary_size(moved["bytes"]),
    )


def _sync_text(r: SyncReport) -> str:
    d = r.as_dict()
    pulled, pushed = d["pulled"], d["pushed"]
    said = (
        _("{remote}: remote created; received {received}; sent {sent}")
        if r.created
        else _("{remote}: received {received}; sent {sent}")
    )
    text = said.format(remote=r.remote, received=_counts(pulled), sent=_counts(pushed))
    if pulled["merged"]:
        text += ngettext(
            "; {n} change made on two devices merged",
            "; {n} changes made on two devices merged",
            pulled["merged"],
        ).format(n=number(pulled["merged"]))
    if pulled["forgets"]:
        text += ngettext(
            "; {n} forget from another device applied",
            "; {n} forgets from another device applied",
            pulled["forgets"],
        ).format(n=number(pulled["forgets"]))
    if r.compacted:
        text += _("; this device's objects rewritten (nothing forgotten remains in them)")
    return text


@cli.command()
@click.argument("name", required=False)
@json_option
@pass_env
def sync(env: Env, name: str | None, as_json: bool) -> None:
    """Send this device's changes to a remote and take the other devices' (every remote
    without NAME).

    Changes made on two devices are merged: samples of one day are united, versions of an
    item kept, other records take the later change. A forget made on any device is applied
    here, and the remote's objects that held it are rewritten.

    \b
    Examples:
      coffre sync
      coffre sync usb --json
    """
    from vault.remote import sync as run

    passphrase = env.passphrase()
    with env.vault(passphrase=passphrase) as v:
        reports = run(v, name, passphrase=passphrase, progress=StderrProgress(_("sync")))
    if as_json:
        emit_json([r.as_dict() for r in reports])
        return
    for r in reports:
        say(_sync_text(r))


@cli.command()
@click.argument("url")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="origin", show_default=True, help="Name of the remote here.")
@click.option("--device-name", help="Name of this device (default: the host name).")
@click.option(
    "--recovery-code",
    "with_code",
    is_flag=True,
    help="The passphrase is lost: open the remote with the recovery kit's code (asked, or "
    "read from the file COFFRE_RECOVERY_CODE_FILE names) and choose a new passphrase.",
)
@_credential_options
@json_option
@pass_env
def clone(
    env: Env,
    url: str,
    directory: Path,
    name: str,
    device_name: str | None,
    with_code: bool,
    profile: str | None,
    credentials_command: str | None,
    as_json: bool,
) -> None:
    """Make a new device of the vault a remote holds, in DIRECTORY: also how a backup is
    restored onto a new machine. Asks for the vault's passphrase.

    With --recovery-code the kit's code opens the remote instead, and the new passphrase
    (COFFRE_NEW_PASSPHRASE, or asked twice) protects this device and, from this sync on,
    the remote: the other devices then ask for it.

    \b
    Examples:
      coffre clone file:///media/usb/coffre ~/coffre
      coffre clone "s3://my-bucket/coffre?endpoint=http://127.0.0.1:9000" ~/coffre --json
      coffre clone file:///media/usb/coffre ~/coffre --recovery-code
    """
    from vault.remote import clone as make
    from vault.remote.remotes import credentials_for

    credentials = credentials_for(url, profile=profile, command=credentials_command)
    code = env.recovery_code() if with_code else None
    passphrase = env.new_passphrase() if with_code else env.passphrase()
    vault, report = make(
        url,
        directory,
        passphrase,
        name=name,
        device_name=device_name,
        credentials=credentials,
        recovery_code=code,
        progress=StderrProgress(_("clone")),
    )
    vault.close()
    result = {"vault": str(directory), "remote": name, "sync": report.as_dict()}
    emit(
        result,
        _(
            "Vault cloned into {directory} ({records}, {files}); "
            "`coffre --vault {directory} status` shows it."
        ).format(
            directory=directory,
            records=ngettext("{n} record", "{n} records", report.pulled).format(
                n=number(report.pulled)
            ),
            files=ngettext("{n} file", "{n} files", report.blobs_received).format(
                n=number(report.blobs_received)
            ),
        ),
        as_json=as_json,
    )


@cli.group(cls=CoffreGroup)
def device() -> None:
    """The devices that share this vault through its remotes.

    \b
    Examples:
      coffre device list
      coffre device rename "Work laptop"
    """


@device.command("list")
@json_option
@pass_env
def device_list(env: Env, as_json: bool) -> None:
    """List this device and the others the remotes showed, with forgets not yet applied.

    \b
    Examples:
      coffre device list
      coffre device list --json
    """
    from vault.remote import devices

    with env.vault() as v:
        rows = devices(v)
    if as_json:
        emit_json(rows)
        return
    for d in rows:
        mark = _(" (this device)") if d["this"] else ""
        state = (
            _("revoked")
            if d["revoked"]
            else _("last sync {last}").format(last=d["last_sync"] or _("never"))
        )
        pending = (
            ngettext(
                ", {n} forget pending on it", ", {n} forgets pending on it", d["pending_forgets"]
            ).format(n=number(d["pending_forgets"]))
            if d["pending_forgets"]
            else ""
        )
        say(
            _("{id}  {name}{mark}: {state}{pending}").format(
                id=d["id"][:8], name=d["name"], mark=mark, state=state, pending=pending
            )
        )


@device.command("rename")
@click.argument("name")
@json_option
@pass_env
def device_rename(env: Env, name: str, as_json: bool) -> None:
    """Rename this device (the others see the name at their next sync).

    \b
    Examples:
      coffre device rename "Work laptop"
    """
    from vault.remote import rename_device

    with env.vault() as v:
        rename_device(v, name)
    emit({"name": name}, _("This device is now called {name}.").format(name=name), as_json=as_json)


@device.command("revoke")
@click.argument("device_ref", metavar="DEVICE")
@click.option("--weak-ok", is_flag=True, help="Accept a new passphrase below the strength floor.")
@yes_option
@json_option
@pass_env
def device_revoke(env: Env, device_ref: str, weak_ok: bool, yes: bool, as_json: bool) -> None:
    """Revoke a lost or stolen DEVICE (its id, a prefix of it, or its name).

    The vault gets a new passphrase (COFFRE_NEW_PASSPHRASE, or asked twice), and at the
    next sync the remote a new root: the device's keys open nothing written afterwards, and
    its objects leave the remote. The other devices ask for the new passphrase at their
    next sync. What the device already held stays readable to whoever holds it.

    \b
    Examples:
      coffre device revoke 4c1d9e2a
      coffre device revoke "Old phone" --yes
    """
    from vault.cli.core_cmds import _checked_passphrase
    from vault.remote import revoke_device

    with env.vault() as v:
        if not confirm(
            _("Revoke {device} and change the passphrase?").format(device=device_ref),
            yes=yes,
            action=_("revoking a device"),
        ):
            nothing_changed()
            return
        new = env.new_passphrase()
        _checked_passphrase(new, weak_ok=weak_ok, vault_dir=env.vault_dir)
        shown = revoke_device(v, device_ref, new)
    emit(
        shown,
        _(
            "Device {name} ({id}) revoked; the passphrase is changed. "
            "Run `coffre sync` now, then use the new passphrase on your other devices."
        ).format(name=shown["name"], id=shown["id"][:8]),
        as_json=as_json,
    )
