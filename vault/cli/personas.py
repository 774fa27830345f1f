"""Persona commands (`persona add|list|show|edit|rm|export`): thin wrappers over
vault.personas (its export writes vCard, jCard and JSON Resume). Persona imports are
`coffre import` commands (vault.cli.imports)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import (
    confirm,
    emit,
    emit_json,
    force_option,
    heading,
    info,
    json_option,
    nothing_changed,
    open_output,
    output_option,
    say,
    yes_option,
)
from vault.core.errors import InvalidParameter
from vault.core.i18n import N_, _, ngettext


@cli.group()
def persona() -> None:
    """Your personas: identities with their own attributes and signing keys.

    \b
    Examples:
      coffre persona add "Ana Lima" --attr email=ana@example.org
      coffre persona list
    """


def _pairs(values: Iterable[str], option: str) -> list[tuple[str, str]]:
    out = []
    for item in values:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise InvalidParameter(
                _("{option} takes KEY=VALUE, as in {option} email=me@example.org").format(
                    option=option
                )
            )
        out.append((key.strip(), value))
    return out


def _attributes(attrs: Iterable[str], sensitive: Iterable[str]) -> list[Any]:
    from vault.personas import parse_attribute

    built = [parse_attribute(k, v) for k, v in _pairs(attrs, "--attr")]
    built += [parse_attribute(k, v, sensitive=True) for k, v in _pairs(sensitive, "--sensitive")]
    return built


@persona.command("add")
@click.argument("name")
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    metavar="KEY=VALUE",
    help="An attribute (repeatable): email.work=..., phone=..., birth_date=YYYY-MM-DD, "
    "address='street;city;region;code;country', handle.mastodon='@me@host URL', pronouns=...",
)
@click.option(
    "--sensitive",
    "sensitive",
    multiple=True,
    metavar="KEY=VALUE",
    help="An attribute marked sensitive: hidden by default and left out of exports.",
)
@click.option("--uid", default=None, help="A stable UID (default: a new urn:uuid).")
@json_option
@pass_env
def persona_add(
    env: Env,
    *,
    name: str,
    attrs: tuple[str, ...],
    sensitive: tuple[str, ...],
    uid: str | None,
    as_json: bool,
) -> None:
    """Create a persona named NAME with fresh keys; print its id.

    \b
    Examples:
      coffre persona add "Ana Lima" --attr email.work=ana@example.org --attr pronouns=she/her
      coffre persona add Ana --sensitive birth_date=1990-05-01 --json
    """
    from vault.personas import add_persona

    attributes = _attributes(attrs, sensitive)
    with env.vault() as v:
        created = add_persona(v, name, attributes, uid=uid)
    emit(created.summary(), created.id, as_json=as_json)


@persona.command("list")
@json_option
@pass_env
def persona_list(env: Env, as_json: bool) -> None:
    """List the personas.

    \b
    Examples:
      coffre persona list
      coffre persona list --json | jq -r '.[].name'
    """
    from vault.personas import list_personas

    with env.vault() as v:
        personas = list_personas(v)
    if as_json:
        emit_json([p.summary() for p in personas])
        return
    if not personas:
        info(_("No personas yet: add one with `coffre persona add NAME`."))
    for p in personas:
        say(
            _("{id}  {name}  ({n_attributes} attributes)").format(
                id=p.id[:8], name=p.name, n_attributes=len(p.attributes)
            )
        )


def _attribute_view(attr: Any, reveal: bool) -> dict[str, Any]:
    out: dict[str, Any] = attr.to_json()
    out["key"] = attr.key
    if attr.sensitive and not reveal:
        out["value"] = None
        out.pop("parts", None)
        out.pop("url", None)
    return out


def _yes_no(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@persona.command("show")
@click.argument("ref", metavar="PERSONA")
@click.option("--reveal", is_flag=True, help="Show the values of sensitive attributes.")
@click.option(
    "--derive",
    "derived",
    multiple=True,
    metavar="NAME",
    help="A derived attribute to compute: age_over:N, birth_year, country (repeatable).",
)
@click.option(
    "--recipient",
    default=None,
    metavar="FINGERPRINT",
    help="Also show the pairwise key and pseudonymous id this recipient sees.",
)
@json_option
@pass_env
def persona_show(
    env: Env,
    *,
    ref: str,
    reveal: bool,
    derived: tuple[str, ...],
    recipient: str | None,
    as_json: bool,
) -> None:
    """Show a persona (by id, id prefix, name or UID): attributes, derived ones and keys.

    \b
    Examples:
      coffre persona show Ana
      coffre persona show Ana --reveal --derive age_over:18 --derive country
    """
    from vault import personas as identities

    with env.vault() as v:
        p = identities.get_persona(v, ref)
        own = identities.signer(v, p.id)
        pair = identities.signer(v, p.id, recipient=recipient) if recipient else None
        x25519 = identities.x25519_public_key(v, p.id)
        age = identities.age_recipient(v, p.id)
        today = v.clock.today()
    values = {name: identities.derive(p, name, today=today) for name in derived}
    report: dict[str, Any] = {
        **p.summary(),
        "version": p.version,
        "attributes": [_attribute_view(a, reveal) for a in p.attributes],
        "derived": values,
        "keys": {
            "minisign": own.minisign_public_key(),
            "ed25519": own.public_key.hex(),
            "x25519": x25519.hex(),
            "age": age,
        },
    }
    if pair is not None:
        report["pairwise"] = {
            "recipient_fingerprint": recipient,
            "pseudonym": pair.pseudonym,
            "minisign": pair.minisign_public_key(),
            "ed25519": pair.public_key.hex(),
        }
    if as_json:
        emit_json(report)
        return
    heading(p.name)
    say(_("  id   {id}").format(id=p.id))
    say(_("  uid  {uid}").format(uid=p.uid))
    say(_("  created {created}  updated {updated}").format(created=p.created, updated=p.updated))
    for view in report["attributes"]:
        shown = view["value"] if view["value"] is not None else _("(sensitive: --reveal shows it)")
        mark = " " + _("[sensitive]") if view.get("sensitive") else ""
        say(f"  {view['key']:<22} {str(shown).replace(chr(10), ' / ')}{mark}")
    for name, value in values.items():
        text = (
            "unknown"
            if value is None
            else ("yes" if value is True else "no" if value is False else value)
        )
        say(_("  {name:<22} {text}  (derived)").format(name=name, text=text))
    say(
        _("  signing key (minisign) {minisign_public_key}").format(
            minisign_public_key=own.minisign_public_key()
        )
    )
    say(_("  age recipient          {age}").format(age=age))
    if pair is not None:
        say(
            _("  for {recipient}: id {pseudonym}, key {minisign_public_key}").format(
                recipient=recipient,
                pseudonym=pair.pseudonym,
                minisign_public_key=pair.minisign_public_key(),
            )
        )


@persona.command("edit")
@click.argument("ref", metavar="PERSONA")
@click.option("--name", default=None, help="A new display name.")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Replace the attributes named KEY (kind or kind.label) with this one.",
)
@click.option("--add", "adds", multiple=True, metavar="KEY=VALUE", help="Add an attribute.")
@click.option(
    "--remove",
    "removes",
    multiple=True,
    metavar="KEY[=VALUE]",
    help="Remove the attributes named KEY (only those with VALUE when given).",
)
@click.option(
    "--sensitive",
    "mark",
    multiple=True,
    metavar="KEY",
    help="Mark the attributes named KEY sensitive.",
)
@click.option(
    "--not-sensitive",
    "unmark",
    multiple=True,
    metavar="KEY",
    help="Mark the attributes named KEY not sensitive.",
)
@json_option
@pass_env
def persona_edit(
    env: Env,
    *,
    ref: str,
    name: str | None,
    sets: tuple[str, ...],
    adds: tuple[str, ...],
    removes: tuple[str, ...],
    mark: tuple[str, ...],
    unmark: tuple[str, ...],
    as_json: bool,
) -> None:
    """Change a persona's name or attributes (its keys never change).

    \b
    Examples:
      coffre persona edit Ana --set email.work=ana@new.example
      coffre persona edit Ana --remove phone --sensitive address
    """
    from vault import personas as identities

    to_set, to_add = _pairs(sets, "--set"), _pairs(adds, "--add")
    with env.vault() as v:
        updated = identities.edit(
            v,
            ref,
            name=name,
            set=to_set,
            add=to_add,
            remove=removes,
            sensitive=mark,
            not_sensitive=unmark,
        )
    if as_json:
        emit_json(updated.summary())
    else:
        info(
            _("Persona {id} is at version {version}.").format(
                id=updated.id[:8], version=updated.version
            )
        )


@persona.command("rm")
@click.argument("ref", metavar="PERSONA")
@yes_option
@pass_env
def persona_rm(env: Env, ref: str, yes: bool) -> None:
    """Delete a persona and its keys (its keys cannot be recovered afterwards).

    Asks first on a terminal; -y/--yes does not ask (and is needed without a terminal).

    \b
    Examples:
      coffre persona rm "Old alias"
      coffre persona rm 8d08ff34 -y
    """
    from vault import personas as identities

    with env.vault() as v:
        p = identities.get_persona(v, ref)
        if not confirm(
            _("Delete persona {name} ({id}) and its keys for good?").format(
                name=p.name, id=p.id[:8]
            ),
            yes=yes,
            action=_("deleting a persona"),
        ):
            nothing_changed()
            return
        identities.delete_persona(v, p.id)
    info(_("Persona {id} deleted.").format(id=p.id[:8]))


@persona.command("export")
@click.argument("ref", metavar="PERSONA")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["vcard", "jcard", "jsonresume"]),
    default="vcard",
    show_default=True,
    help="vCard 4.0 text, jCard (RFC 7095) JSON, or JSON Resume.",
)
@output_option(N_("Write to this file (mode 0600) instead of stdout."))
@force_option
@click.option(
    "--include-sensitive", is_flag=True, help="Also export the attributes marked sensitive."
)
@pass_env
def persona_export(
    env: Env, *, ref: str, fmt: str, output: Path | None, force: bool, include_sensitive: bool
) -> None:
    """Export a persona as vCard 4.0, jCard or JSON Resume (sensitive attributes left out).

    \b
    Examples:
      coffre persona export Ana -o ana.vcf
      coffre persona export Ana --format jsonresume > resume.json
    """
    from vault import personas as identities

    with env.vault() as v:
        exported = identities.export(v, ref, fmt=fmt, include_sensitive=include_sensitive)
    # Bytes, so vCard's CRLF line ends reach a pipe unchanged.
    with open_output(output, force=force, binary=True) as out:
        out.write(exported.text.encode("utf-8"))
    if output is not None:
        info(_("Wrote {output}.").format(output=output))
    if exported.left_out:
        info(
            ngettext(
                "{n} sensitive attribute left out (--include-sensitive adds them).",
                "{n} sensitive attributes left out (--include-sensitive adds them).",
                exported.left_out,
            ).format(n=exported.left_out)
        )
