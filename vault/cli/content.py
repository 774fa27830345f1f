"""Content commands (`content add|list|show|cat|edit|rm|prove`): thin wrappers over
vault.content. Content imports are `coffre import` commands (vault.cli.imports)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import (
    StderrProgress,
    confirm,
    emit,
    emit_json,
    force_option,
    heading,
    human_size,
    info,
    json_option,
    nothing_changed,
    open_output,
    output_option,
    say,
    yes_option,
)
from vault.core.errors import InvalidParameter
from vault.core.i18n import N_, _, content_kind, ngettext
from vault.core.i18n import audience as audience_word

if TYPE_CHECKING:
    from vault.core.vault import Vault

persona_option = click.option(
    "--persona", "-p", default=None, help="Persona (id, id prefix or name); default: the only one."
)
version_option = click.option(
    "--version",
    "-V",
    "number",
    type=click.IntRange(min=1),
    default=None,
    help="Version number (default: the current one).",
)


@cli.group()
def content() -> None:
    """Your notes, posts, articles and files, each version signed by its persona.

    \b
    Examples:
      coffre content add notes/night-train.md --tags travel
      coffre content list --tag travel
    """


def _persona_id(v: Vault, ref: str | None) -> str | None:
    if ref is None:
        return None
    from vault.personas import get_persona

    return get_persona(v, ref).id


@content.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@persona_option
@click.option("--title", "-t", default=None, help="Title (default: front matter, else file name).")
@click.option("--tags", default=None, help="Comma-separated tags (replace front matter tags).")
@click.option("--license", "license_", default=None, help="SPDX id, e.g. CC-BY-SA-4.0.")
@click.option("--kind", "-k", default=None, help="note, post, article, page, photo, audio...")
@click.option(
    "--audience",
    default=None,
    help="public, unlisted, followers, direct, private or draft "
    "(default: front matter, else private).",
)
@json_option
@pass_env
def add_cmd(
    env: Env,
    *,
    file: Path,
    persona: str | None,
    title: str | None,
    tags: str | None,
    license_: str | None,
    kind: str | None,
    audience: str | None,
    as_json: bool,
) -> None:
    """Add FILE (any size) and print the new item's id.

    Markdown and text files may carry front matter (title, tags, date, license, audience or
    draft); the options override it. An item is private unless it says otherwise: grants
    let only public items leave unless they name other audiences.

    \b
    Examples:
      coffre content add notes/night-train.md --tags travel,rail --license CC-BY-SA-4.0
      coffre content add photo.jpg --persona Ana --kind photo --audience public
    """
    from vault import content as lib

    with env.vault() as v:
        item = lib.add_file(
            v,
            file,
            persona=persona,
            title=title,
            tags=tags,
            license=license_,
            kind=kind,
            audience=audience,
            progress=StderrProgress(_("adding {name}").format(name=file.name)),
        )
    emit(item.as_dict(), item.id, as_json=as_json)


@content.command("list")
@click.option("--kind", "-k", default=None, help="Only items of this kind.")
@click.option("--tag", default=None, help="Only items with this tag.")
@click.option("--audience", default=None, help="Only items of this audience: public, draft...")
@persona_option
@json_option
@pass_env
def list_cmd(
    env: Env,
    kind: str | None,
    tag: str | None,
    audience: str | None,
    persona: str | None,
    as_json: bool,
) -> None:
    """List items, oldest first, with their audience.

    \b
    Examples:
      coffre content list --kind post --audience public
      coffre content list --json | jq -r '.[].title'
    """
    from vault import content as lib

    with env.vault() as v:
        items = lib.list_items(
            v, kind=kind, tag=tag, persona=_persona_id(v, persona), audience=audience
        )
    if as_json:
        emit_json([i.as_dict() for i in items])
        return
    for i in items:
        tags = f"  [{', '.join(i.tags)}]" if i.tags else ""
        kind, shown_to = content_kind(i.kind), audience_word(i.audience)
        say(
            f"{i.id[:12]}  {i.created[:10]}  {kind:<7} {shown_to:<9} "
            f"{human_size(i.size):>9}  {i.title}{tags}"
        )
    if not items:
        info(_("No content yet: add some with `coffre content add FILE`."))


@content.command("show")
@click.argument("item_id")
@json_option
@pass_env
def show_cmd(env: Env, item_id: str, as_json: bool) -> None:
    """Show an item, its author persona (by name) and its versions.

    \b
    Examples:
      coffre content show 5b0e1f9c
      coffre content show 5b0e1f9c --json
    """
    from vault import content as lib
    from vault.personas import get_persona

    with env.vault() as v:
        item = lib.get(v, item_id)
        versions = lib.versions(v, item.id)
        author = get_persona(v, item.persona).name  # an item's persona cannot be deleted
    if as_json:
        emit_json({**item.as_dict(), "versions": [ver.as_dict() for ver in versions]})
        return
    rows: list[tuple[str, Any]] = [
        (_("Id"), item.id),
        (_("Title"), item.title),
        (_("Kind"), content_kind(item.kind)),
        (_("Audience"), audience_word(item.audience)),
        (_("Persona"), f"{author} ({item.persona})"),
        (_("License"), item.license),
        (_("Tags"), ", ".join(item.tags) or "-"),
        (_("Created"), item.created),
        (_("Updated"), item.updated),
        (_("Size"), f"{human_size(item.size)} ({item.media_type})"),
        ("SHA-256", item.sha256),
    ]
    optional = [
        (_("Content warning"), item.content_warning),
        (_("Reply to"), item.reply_to),
        (_("Thread"), item.thread),
        (_("Source"), item.source_url or item.source),
    ]
    rows += [(k, val) for k, val in optional if val]
    for key, val in rows:
        say(f"{key:<16}{val}")
    heading(_("Versions"))
    for ver in versions:
        current = " " + _("(current)") if ver.number == item.version else ""
        say(
            _("  v{number}  {time}  {size:>9}  {license:<20} {title}{current}").format(
                number=ver.number,
                time=ver.time,
                size=human_size(ver.size),
                license=ver.license,
                title=ver.title,
                current=current,
            )
        )
        for att in ver.attachments:
            alt = f"  alt: {att.alt}" if att.alt else ""
            say(f"      + {att.name} ({att.media_type}, {human_size(att.size)}){alt}")


@content.command("cat")
@click.argument("item_id")
@version_option
@output_option(
    N_("Write to this file (created 0600) instead of standard output (`-`: standard output).")
)
@force_option
@pass_env
def cat_cmd(env: Env, item_id: str, number: int | None, output: Path | None, force: bool) -> None:
    """Write an item's body (the current version, or --version N) to stdout or a file.

    \b
    Examples:
      coffre content cat 5b0e1f9c | less
      coffre content cat 5b0e1f9c --version 1 -o first-draft.md
    """
    from vault import content as lib

    with env.vault() as v:
        chunks = lib.read(v, item_id, number)
        with open_output(output, force=force, binary=True) as out:
            for chunk in chunks:
                out.write(chunk)


@content.command("edit")
@click.argument("item_id")
@click.option(
    "--file",
    "-f",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="New body (default: keep the current one).",
)
@click.option("--title", "-t", default=None, help="New title.")
@click.option("--tags", default=None, help="Comma-separated tags (replace the current ones).")
@click.option("--license", "license_", default=None, help="SPDX id, e.g. CC-BY-SA-4.0.")
@click.option("--audience", default=None, help="New audience: public, unlisted, private...")
@json_option
@pass_env
def edit_cmd(
    env: Env,
    *,
    item_id: str,
    file: Path | None,
    title: str | None,
    tags: str | None,
    license_: str | None,
    audience: str | None,
    as_json: bool,
) -> None:
    """Make a new signed version of an item; the previous version is kept.

    \b
    Examples:
      coffre content edit 5b0e1f9c --file notes/night-train.md
      coffre content edit 5b0e1f9c --title "Night train to Porto" --audience public
    """
    from vault import content as lib

    if file is None and title is None and tags is None and license_ is None and audience is None:
        raise InvalidParameter(
            _("nothing to change: give --file, --title, --tags, --license or --audience")
        )
    # Without --file the library copies the current body into the new version.
    with env.vault() as v, file.open("rb") if file is not None else nullcontext() as body:
        item = lib.edit(
            v,
            item_id,
            body=body,
            title=title,
            tags=tags,
            license=license_,
            audience=audience,
            progress=StderrProgress(_("writing")) if body is not None else None,
        )
    emit(
        item.as_dict(),
        _("{id} v{version}").format(id=item.id, version=item.version),
        as_json=as_json,
    )


@content.command("rm")
@click.argument("item_id")
@yes_option
@pass_env
def rm_cmd(env: Env, item_id: str, yes: bool) -> None:
    """Delete an item with every version and file it holds.

    Asks first on a terminal; -y/--yes does not ask (and is needed without a terminal).

    \b
    Examples:
      coffre content rm 5b0e1f9c
      coffre content rm 5b0e1f9c -y
    """
    from vault import content as lib

    with env.vault() as v:
        item = lib.get(v, item_id)
        if not confirm(
            ngettext(
                "Remove {id} with its {n} version?",
                "Remove {id} with its {n} versions?",
                len(item.versions),
            ).format(id=item.id[:12], n=len(item.versions)),
            yes=yes,
            action=_("removing a content item"),
        ):
            nothing_changed()
            return
        n = lib.remove(v, item.id)
    info(
        ngettext("Removed {id} ({n} version).", "Removed {id} ({n} versions).", n).format(
            id=item.id[:12], n=n
        )
    )


@content.command("prove")
@click.argument("item_id")
@version_option
@click.option(
    "--output",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the statement, its .minisig and the .pub key into.",
)
@force_option
@json_option
@pass_env
def prove_cmd(
    env: Env, item_id: str, number: int | None, out_dir: Path, force: bool, as_json: bool
) -> None:
    """Write the signed authorship statement of an item (current version, or --version N).

    Anyone verifies it with `minisign -Vm STATEMENT.json -p KEY.pub`.

    \b
    Examples:
      coffre content prove 5b0e1f9c -o proof/
      coffre content prove 5b0e1f9c --version 2 -o proof/ --force
    """
    from vault import content as lib

    with env.vault() as v:
        statement, signature, public = lib.write_proof(v, item_id, out_dir, number, force=force)
    if as_json:
        emit_json(
            {"statement": str(statement), "signature": str(signature), "public_key": str(public)}
        )
        return
    for path in (statement, signature, public):
        say(str(path))
    info(
        _("Verify with: minisign -Vm {statement} -p {public}").format(
            statement=statement, public=public
        )
    )
