"""Vault-wide commands: init, status, passwd, rekey, recovery-kit, check, audit, demo."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import (
    StderrProgress,
    confirm,
    dry_run_option,
    emit,
    emit_json,
    force_option,
    human_size,
    info,
    json_option,
    nothing_changed,
    say,
    warn,
    yes_option,
)
from vault.core.errors import IntegrityError
from vault.core.i18n import N_, _, localise, ngettext, number
from vault.core.vault import DEFAULT_KDF, KDF_PROFILES

if TYPE_CHECKING:
    from vault.core.vault import Vault
    from vault.demo import DemoSummary

kdf_choice = click.Choice(list(KDF_PROFILES), case_sensitive=False)

weak_ok_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option(
    "--weak-ok",
    is_flag=True,
    help="Accept a passphrase below the strength floor (at least 8 characters, not easily "
    "guessed); it is still not empty.",
)


def _checked_passphrase(passphrase: str, *, weak_ok: bool, vault_dir: Path) -> None:
    """Refuse a passphrase below the floor (exit 3) unless --weak-ok; warn on a weak one.
    The vault's folder name counts as an easy guess."""
    from vault.core.strength import require

    strength = require(passphrase, weak_ok=weak_ok, context=vault_dir.parts[-2:])
    if strength.weak:
        warn(_("weak passphrase: {reason}").format(reason=localise(strength.reason)))


@cli.command()
@click.option(
    "--kdf",
    type=kdf_choice,
    default=DEFAULT_KDF,
    show_default=True,
    help="Passphrase hardening: 'moderate' suits most; 'sensitive' is slower and stronger; "
    "'minimum' is for tests and small devices.",
)
@weak_ok_option
@json_option
@pass_env
def init(env: Env, kdf: str, weak_ok: bool, as_json: bool) -> None:
    """Create a new, empty vault protected by a passphrase.

    The passphrase is refused below a strength floor (fewer than 8 characters, or guessable
    in a few thousand tries) unless --weak-ok, and a weak one is warned about; the same rule
    holds for one given in COFFRE_PASSPHRASE.

    \b
    Examples:
      coffre init
      coffre --vault ~/vaults/work init --kdf sensitive
      COFFRE_PASSPHRASE_FILE=~/.secret coffre init --json
    """
    from vault.core.vault import Vault

    passphrase = env.passphrase(confirm=True, prompt="New passphrase")
    _checked_passphrase(passphrase, weak_ok=weak_ok, vault_dir=env.vault_dir)
    with Vault.create(env.vault_dir, passphrase, kdf=kdf) as v:
        if as_json:
            emit_json(_vault_json(v.status()))  # the whole new vault, as `status` shows it
        else:
            say(_("Created a vault in {path} (KDF profile: {kdf}).").format(path=v.path, kdf=kdf))
            info(
                _(
                    "Keep your passphrase safe: without it, or a recovery kit "
                    "(`coffre recovery-kit -o FILE`), nothing in the vault can be recovered."
                )
            )


# The counts `status` shows, by their JSON names (a new count shows its JSON name).
COUNT_LABELS = {
    "records": N_("records"),
    "blobs": N_("blobs"),
    "blob_chunks": N_("blob chunks"),
    "audit_entries": N_("audit entries"),
}


def _vault_json(report: dict[str, Any]) -> dict[str, Any]:
    """The vault as `init` and `status` print it in JSON: its id as `id`, like every object
    the command line prints."""
    return {"id": report["vault_id"], **{k: v for k, v in report.items() if k != "vault_id"}}


@cli.command()
@json_option
@pass_env
def status(env: Env, as_json: bool) -> None:
    """Show where the vault is, how it is protected and how much it holds.

    With remotes, one line each: its last sync, the changes waiting to be sent, the
    devices it showed and forgets other devices have not applied yet.

    \b
    Examples:
      coffre status
      coffre status --json | jq .counts
    """
    from vault.remote import summary

    with env.vault(strict=False) as v:
        report = v.status()
        remotes = summary(v)
    if as_json:
        # `remotes` only for a vault that syncs: the output of others stays as it was.
        emit_json({**_vault_json(report), **({"remotes": remotes} if remotes else {})})
        return
    say(_("Vault      {path}").format(path=report["path"]))
    say(
        _("Format     {format}   KDF {kdf}   epoch {epoch}").format(
            format=report["format"], kdf=report["kdf"], epoch=report["epoch"]
        )
    )
    labels = {
        name: (_(COUNT_LABELS[name]) if name in COUNT_LABELS else name.replace("_", " "))
        for name in report["counts"]
    }
    width = max([14, *(len(label) + 1 for label in labels.values())])  # longer in French
    for name, n in report["counts"].items():
        say(f"{labels[name].capitalize():<{width}} {number(n)}")
    total = sum(report["files"].values())
    say(_("On disk    {total}").format(total=human_size(total)))
    for r in remotes:
        say(_("Remote     {remote}").format(remote=_remote_status(r)))


def _remote_status(r: dict[str, Any]) -> str:
    """One remote on a line of `status`, in the words of `coffre remote list`."""
    from vault.cli.remote_cmds import remote_state_words

    last, pending, forgets = remote_state_words(r)
    devices = ngettext("{n} device", "{n} devices", r["devices"]).format(n=r["devices"])
    return _("{name}: last sync {last}, {pending}, {devices}{forgets}").format(
        name=r["name"], last=last, pending=pending, devices=devices, forgets=forgets
    )


@cli.command()
@click.option("--kdf", type=kdf_choice, default=None, help="Also switch to this KDF profile.")
@click.option(
    "--rekey",
    is_flag=True,
    help="Also replace every key and re-seal every record and the audit log, so an old copy "
    "of the vault with the old passphrase opens nothing written afterwards.",
)
@click.option(
    "--recovery-code",
    "with_code",
    is_flag=True,
    help="Open the vault with the recovery kit's code instead of the passphrase (forgotten); "
    "the code is asked, or read from the file COFFRE_RECOVERY_CODE_FILE names.",
)
@weak_ok_option
@pass_env
def passwd(env: Env, kdf: str | None, rekey: bool, with_code: bool, weak_ok: bool) -> None:
    """Change the passphrase (fast whatever the vault's size: only the root key is re-wrapped).

    Scripts give the new passphrase in COFFRE_NEW_PASSPHRASE. Without it and without a
    terminal the command exits 3, as every command does without a passphrase. The new
    passphrase meets the same strength floor as `coffre init` (--weak-ok to pass it).

    Forgot the passphrase? --recovery-code asks for the code of the kit `coffre recovery-kit`
    made (hidden; scripts name a file holding it in COFFRE_RECOVERY_CODE_FILE) instead of
    the passphrase, then the new passphrase. The kit keeps working afterwards. A mistyped
    code exits 7, a code that does not open the vault exits 3.

    \b
    Examples:
      coffre passwd
      coffre passwd --rekey --kdf sensitive
      COFFRE_NEW_PASSPHRASE="$(pass show coffre)" coffre passwd
      coffre passwd --recovery-code
    """
    code = env.recovery_code() if with_code else None
    with env.vault(recovery_code=code) as v:
        new = env.new_passphrase()
        _checked_passphrase(new, weak_ok=weak_ok, vault_dir=env.vault_dir)
        if rekey:
            v.rekey(new, kdf=kdf, progress=StderrProgress(_("Re-keying")))
        else:
            v.change_passphrase(new, kdf=kdf)
    info(_("Passphrase changed; every key replaced.") if rekey else _("Passphrase changed."))
    if code is not None:
        info(_("The recovery kit keeps working."))


@cli.command()
@pass_env
def rekey(env: Env) -> None:
    """Replace every key of the vault, keeping the passphrase: a new salt, root and epoch,
    every record and the audit log re-sealed, all or nothing. Keys taken from an old copy of
    the vault (or from memory) open nothing written afterwards.

    \b
    Examples:
      coffre rekey
      coffre -q rekey
    """
    passphrase = env.passphrase()  # asked once: it opens the vault and wraps the new keys
    with env.vault(passphrase=passphrase) as v:
        v.rekey(passphrase, progress=StderrProgress(_("Re-keying")))
    info(_("Every key replaced."))


@cli.command("recovery-kit")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The kit file to write (plain text to print, mode 0600).",
)
@dry_run_option(N_("Only say what would be written and which kit it would replace."))
@yes_option
@force_option
@json_option
@pass_env
def recovery_kit(
    env: Env, output: Path, dry_run: bool, yes: bool, force: bool, as_json: bool
) -> None:
    """Write a recovery kit to FILE: a code that opens the vault if you forget the
    passphrase (`coffre passwd --recovery-code`), with the vault's id and remotes.

    Print it, keep it on paper in a safe place, then delete the file: anyone with the code
    and a copy of the vault can open it. Lost passphrase and kit: the vault is gone. Each run
    makes a new code and the previous kit stops working, so replacing a kit asks first
    (-y/--yes for scripts). The code is only ever in FILE, never on screen or in --json.

    \b
    Examples:
      coffre recovery-kit -o recovery-kit.txt
      coffre recovery-kit -o recovery-kit.txt --force --yes
      coffre recovery-kit -o kit.txt --dry-run --json
    """
    from vault.core.outputs import check_free
    from vault.core.recovery import write_kit
    from vault.remote.remotes import remote_urls

    check_free([output], force=force)
    with env.vault() as v:
        current = v.recovery_kit_id()
        vault_id = v.info.vault_id
        if dry_run:
            emit(
                {"dry_run": True, "file": str(output), "vault": vault_id, "replaces": current},
                (
                    _("would write a new recovery kit to {file}; kit {kit} would stop working")
                    if current
                    else _("would write a new recovery kit to {file}")
                ).format(file=output, kit=current),
                as_json=as_json,
            )
            return
        if current and not confirm(
            _("Make a new kit? The current one (kit {kit}) will stop opening the vault.").format(
                kit=current
            ),
            yes=yes,
            action=_("replacing the recovery kit"),
        ):
            nothing_changed()
            return
        kit = write_kit(v, output, remotes=remote_urls(v), force=force)
    emit(
        {"dry_run": False, **kit.as_dict(), "file": str(output), "replaces": current},
        _(
            "recovery kit {kit} written to {file}: print it, keep the paper safe, delete the file"
        ).format(kit=kit.id, file=output),
        as_json=as_json,
    )


@cli.command()
@json_option
@pass_env
def check(env: Env, as_json: bool) -> None:
    """Decrypt and verify every record, blob and audit entry; report what is wrong.

    Exits with the integrity code (5) when anything fails to verify.

    \b
    Examples:
      coffre check
      coffre check --json | jq '.problems[]'
    """
    with env.vault(strict=False) as v:
        problems = v.check(progress=StderrProgress(_("checking")))
    if as_json:
        emit_json({"ok": not problems, "problems": [p.as_dict() for p in problems]})
    elif not problems:
        say(_("All records, blobs and the audit log verify."))
    else:
        for p in problems:
            say(f"{p.where}: {localise(p.what)}")
    if problems:
        raise IntegrityError(
            ngettext("{n} problem found", "{n} problems found", len(problems)).format(
                n=len(problems)
            )
        )


@cli.command()
@click.option("--verify", is_flag=True, help="Only verify the hash chain and say so.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show the last N entries.")
@json_option
@pass_env
def audit(env: Env, verify: bool, limit: int | None, as_json: bool) -> None:
    """Show the audit log: every change made to the vault, hash-chained and encrypted.

    Personas, recipients and grants are named beside their ids (while they exist).

    \b
    Examples:
      coffre audit --limit 20
      coffre audit --verify
    """
    with env.vault() as v:
        entries = v.audit_log()  # raises AuditChainBroken (exit 5) if the chain is broken
        shown = entries[-limit:] if limit else entries
        names = {} if verify or as_json else _names(v, shown)
    if verify:
        text = ngettext(
            "Audit log verified: {n} entry, chain intact.",
            "Audit log verified: {n} entries, chain intact.",
            len(entries),
        ).format(n=len(entries))
        emit({"ok": True, "entries": len(entries)}, text, as_json=as_json)
        return
    if as_json:
        emit_json([e.as_dict() for e in shown])
        return
    for e in shown:
        details = " ".join(
            f"{k}={_detail(val)}"
            + (f" ({names[(k, val)]})" if isinstance(val, str) and (k, val) in names else "")
            for k, val in sorted(e.details.items())
        )
        say(f"{e.seq:>5}  {e.time}  {e.action:<20} {details}")


def _detail(value: object) -> str:
    """An entry's detail as a word: a list (what a forget targeted) joined by commas, a
    mapping as compact JSON, anything else as it reads."""
    if isinstance(value, list | tuple):
        return ",".join(_detail(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return str(value)


def _names(v: Vault, entries: Sequence[Any]) -> dict[tuple[str, object], str]:
    """What the ids in ENTRIES name, for people: a persona's or recipient's name, an item's
    title, a grant's recipient. The log itself holds ids only; what was deleted since keeps
    its bare id."""
    from vault import content, personas, sharing
    from vault.core.errors import NotFound

    lookups: dict[str, Callable[[str], str]] = {
        "persona": lambda ref: personas.get_persona(v, ref).name,
        "item": lambda ref: repr(content.get(v, ref).title),
        "recipient": lambda ref: sharing.get_recipient(v, ref).name,
        "grant": lambda ref: _("to {name}").format(
            name=sharing.get_recipient(v, sharing.get_grant(v, ref).recipient).name
        ),
    }
    names: dict[tuple[str, object], str] = {}
    for e in entries:
        for key, value in e.details.items():
            lookup = lookups.get(key)
            if lookup is None or not isinstance(value, str) or (key, value) in names:
                continue
            try:
                names[(key, value)] = lookup(value)
            except NotFound:
                continue
    return names


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-vault"),
    show_default=True,
    help="Where to build the demo vault.",
)
@click.option("--force", is_flag=True, help="Replace an existing demo vault in that directory.")
def demo(directory: Path, force: bool) -> None:
    """Build a demo vault filled with generated data and print its passphrase.

    \b
    Examples:
      coffre demo
      coffre demo --dir /tmp/demo --force > /tmp/demo-passphrase
    """
    from vault.core.vault import Vault
    from vault.demo import build_demo

    if force and Vault.exists(directory):
        import shutil

        for suffix in ("", "-wal", "-shm"):
            (directory / f"vault.db{suffix}").unlink(missing_ok=True)
        shutil.rmtree(directory / "blobs", ignore_errors=True)
    passphrase = "-".join(secrets.choice(_WORDS) for _word in range(4))
    with Vault.create(directory, passphrase, kdf="minimum") as v:
        summary = build_demo(v, progress=StderrProgress(_("building demo")))
    info(
        _("Demo vault built in {directory}: {summary}").format(
            directory=directory, summary=_demo_summary(summary)
        )
    )
    say(passphrase)


def _demo_summary(s: DemoSummary) -> str:
    """What the demo added, in one line of the current language."""
    parts = [
        ngettext("{n} persona", "{n} personas", s.personas),
        ngettext("{n} sample", "{n} samples", s.samples),
        ngettext("{n} content item", "{n} content items", s.items),
        ngettext("{n} recipient", "{n} recipients", s.recipients),
        ngettext(
            "{n} grant (one exported once, one withdrawn)",
            "{n} grants (one exported once, one withdrawn)",
            s.grants,
        ),
        ngettext("{n} retention rule", "{n} retention rules", s.rules),
    ]
    counts = (s.personas, s.samples, s.items, s.recipients, s.grants, s.rules)
    return ", ".join(p.format(n=number(n)) for p, n in zip(parts, counts, strict=True))


_WORDS = (
    "amber",
    "basil",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
    "kestrel",
    "lumen",
    "meadow",
    "nectar",
    "orchid",
    "pebble",
    "quartz",
    "raven",
    "saffron",
    "tundra",
    "umber",
    "velvet",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
)
