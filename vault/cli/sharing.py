"""Sharing commands: `recipient add|list|keygen`, `grant create|list|show`, `export`,
`bundle open|verify` and `ledger`; thin wrappers over vault.sharing, vault.sharing.bundles
and vault.sharing.overview."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import (
    StderrProgress,
    dry_run_option,
    emit,
    emit_json,
    force_option,
    heading,
    human_size,
    info,
    json_option,
    say,
    warn,
)
from vault.core.i18n import (
    N_,
    NP_,
    _,
    day,
    localise,
    moment,
    ngettext,
    number,
    pgettext,
    reason,
    said,
    state,
)

if TYPE_CHECKING:
    from vault.sharing.bundles import ExportPlan, VerifiedBundle

# --- recipients -------------------------------------------------------------------------------


@cli.group()
def recipient() -> None:
    """Who you share with: platforms, apps, doctors, researchers (an age key each).

    \b
    Examples:
      coffre recipient add "Health Lab" --age-key age1qyq... --contact dpo@lab.example
      coffre recipient list
    """


@recipient.command("add")
@click.argument("name")
@click.option("--age-key", required=True, metavar="AGE1...", help="The recipient's age public key.")
@click.option("--contact", default="", help="How to reach the recipient (an email, a URL).")
@click.option("--homepage", default="", help="The recipient's web site (http or https).")
@click.option("--minisign-key", default="", help="The recipient's minisign public key, if any.")
@json_option
@pass_env
def recipient_add(
    env: Env,
    *,
    name: str,
    age_key: str,
    contact: str,
    homepage: str,
    minisign_key: str,
    as_json: bool,
) -> None:
    """Register a recipient named NAME; print its id.

    \b
    Examples:
      coffre recipient add "Health Lab" --age-key "$(cat lab.pub)" --contact dpo@lab.example
      coffre recipient add Dr.Silva --age-key age1qyq... --homepage https://clinic.example
    """
    from vault.sharing import add_recipient

    with env.vault() as v:
        r = add_recipient(
            v, name, age_key, contact=contact, homepage=homepage, minisign_key=minisign_key
        )
    emit(r.as_dict(), r.id, as_json=as_json)


@recipient.command("list")
@json_option
@pass_env
def recipient_list(env: Env, *, as_json: bool) -> None:
    """List recipients.

    \b
    Examples:
      coffre recipient list
      coffre recipient list --json | jq -r '.[].fingerprint'
    """
    from vault.sharing import list_recipients

    with env.vault() as v:
        found = list_recipients(v)
    if as_json:
        emit_json([r.as_dict() for r in found])
        return
    for r in found:
        contact = f"  <{r.contact}>" if r.contact else ""
        say(f"{r.id[:8]}  {r.name}{contact}  {r.age_key}")


@recipient.command("keygen")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the new age identity (created with mode 0600, never overwritten).",
)
def recipient_keygen(*, output: Path) -> None:
    """Create an age key pair (for a platform, a test, or your own second device): write
    the identity to a new file and print the public key for `recipient add --age-key`.

    \b
    Examples:
      coffre recipient keygen -o lab.key > lab.pub
    """
    from vault.sharing import write_identity

    public = write_identity(output)
    info(_("identity written to {output}; keep it secret").format(output=output))
    say(public)


# --- grants -----------------------------------------------------------------------------------


@cli.group()
def grant() -> None:
    """Consent you give: what a recipient may receive, for what, until when.

    \b
    Examples:
      coffre grant create --recipient "Health Lab" --persona Ana --metrics steps \\
          --purpose dpv:AcademicResearch --expires 2027-06-30
      coffre grant list
    """


@grant.command("create")
@click.option("--recipient", "recipient_ref", required=True, help="Recipient id or name.")
@click.option("--persona", "persona_ref", required=True, help="Persona id or name.")
@click.option("--metrics", default=None, help="QS metrics, comma-separated: steps,heart_rate.")
@click.option("--categories", default=None, help="DPV categories: pd:PhysicalHealth.")
@click.option("--content-kinds", default=None, help="Content kinds: post,article.")
@click.option("--content-tags", default=None, help="Content tags: blog.")
@click.option("--content-ids", default=None, help="Content item ids (or unique prefixes).")
@click.option(
    "--audience",
    "audiences",
    default=None,
    metavar="LIST",
    help="Content audiences that may leave: public,unlisted,followers,direct,private,draft "
    "(default: public only).",
)
@click.option("--attrs", default=None, help="Identity attributes: name,email,age_over:18.")
@click.option("--from", "start", default=None, metavar="DATE", help="Data from this date.")
@click.option("--to", "end", default=None, metavar="DATE", help="Data up to this date (inclusive).")
@click.option("--last", default=None, metavar="30d", help="A rolling range: 48h, 30d, 12w, 1y.")
@click.option(
    "--granularity",
    type=click.Choice(["raw", "hour", "day"]),
    default="raw",
    show_default=True,
    help="raw samples, or hourly/daily aggregates only.",
)
@click.option(
    "--purpose",
    required=True,
    metavar="TERM",
    help="A DPV purpose: dpv:ServiceProvision, dpv:AcademicResearch...",
)
@click.option(
    "--legal-basis",
    default="dpv:Consent",
    show_default=True,
    metavar="TERM",
    help="DPV legal basis of the processing.",
)
@click.option(
    "--jurisdiction",
    default="EU",
    show_default=True,
    metavar="CODE",
    help="Where the law applies: an ISO 3166 code (FR, DE, US-CA) or EU.",
)
@click.option("--retention", default="", help="Retention the recipient asked for: 30d, 1y, P6M.")
@click.option("--expires", required=True, metavar="DATE", help="Valid until this date (inclusive).")
@click.option("--compensation", default="", help="What you get in return (free text).")
@json_option
@pass_env
def grant_create(
    env: Env,
    *,
    recipient_ref: str,
    persona_ref: str,
    metrics: str | None,
    categories: str | None,
    content_kinds: str | None,
    content_tags: str | None,
    content_ids: str | None,
    audiences: str | None,
    attrs: str | None,
    start: str | None,
    end: str | None,
    last: str | None,
    granularity: str,
    purpose: str,
    legal_basis: str,
    jurisdiction: str,
    retention: str,
    expires: str,
    compensation: str,
    as_json: bool,
) -> None:
    """Give a grant; print its id (`--json`: the grant, as `grant show --json`).

    The purpose must be a purpose of the DPV vocabulary and the jurisdiction an ISO 3166
    country or subdivision code (or EU); anything else is refused (exit 7, with the closest
    matches) before anything is signed.

    \b
    Examples:
      coffre grant create --recipient "Health Lab" --persona Ana --metrics steps,heart_rate \\
          --granularity day --last 90d --purpose dpv:AcademicResearch --expires 2027-06-30
      coffre grant create --recipient Blog --persona Ana --content-kinds post \\
          --purpose dpv:ServiceProvision --jurisdiction FR --expires 2027-01-01
    """
    from vault.sharing import (
        ScopeRequest,
        TimeRange,
        create_grant,
        get_recipient,
        granularity_warnings,
    )
    from vault.sharing.overview import grant_view

    rng = TimeRange.build(start, end, last)
    with env.vault() as v:
        g = create_grant(
            v,
            recipient=recipient_ref,
            persona=persona_ref,
            scope=ScopeRequest(
                metrics=metrics,
                categories=categories,
                content_kinds=content_kinds,
                content_tags=content_tags,
                content_ids=content_ids,
                attributes=attrs,
                content_audiences=audiences,
            ),
            purpose=purpose,
            valid_until=expires,
            time_range=rng,
            granularity=granularity,
            legal_basis=legal_basis,
            jurisdiction=jurisdiction,
            retention=retention,
            compensation=compensation,
        )
        shown = grant_view(g, get_recipient(v, g.recipient)) if as_json else {}
    for warning in granularity_warnings(g):
        warn(localise(warning))
    emit(shown, g.id, as_json=as_json)


@grant.command("list")
@click.option("--recipient", "recipient_ref", default=None, help="Only this recipient's grants.")
@click.option("--persona", "persona_ref", default=None, help="Only this persona's grants.")
@json_option
@pass_env
def grant_list(
    env: Env, *, recipient_ref: str | None, persona_ref: str | None, as_json: bool
) -> None:
    """List grants with their status (given, expired, withdrawn).

    \b
    Examples:
      coffre grant list
      coffre grant list --recipient "Health Lab" --json
    """
    from vault.sharing import get_recipient, list_grants
    from vault.sharing.overview import grant_view

    with env.vault() as v:
        grants = list_grants(v, recipient=recipient_ref, persona=persona_ref)
        recipients = {g.recipient: get_recipient(v, g.recipient) for g in grants}
    if as_json:
        emit_json([grant_view(g, recipients[g.recipient]) for g in grants])
        return
    for g in grants:
        say(
            _("{id}  {status:<9}  {name}  {purpose}  until {valid_until}").format(
                id=g.id[:8],
                status=state(g.status),
                name=recipients[g.recipient].name,
                purpose=g.purpose,
                valid_until=day(g.valid_until[:10]),
            )
        )


@grant.command("show")
@click.argument("grant_ref", metavar="GRANT")
@click.option("--receipt", is_flag=True, help="Print the signed consent receipt (JSON).")
@json_option
@pass_env
def grant_show(env: Env, *, grant_ref: str, receipt: bool, as_json: bool) -> None:
    """Show a grant: its scope, terms, status history and receipt id.

    \b
    Examples:
      coffre grant show 4c1d9e2a
      coffre grant show 4c1d9e2a --receipt > receipt.json
    """
    from vault.sharing import get_grant, get_recipient

    with env.vault() as v:
        g = get_grant(v, grant_ref)
        r = get_recipient(v, g.recipient)
    if receipt:
        click.echo(g.receipt.data.decode("utf-8"), nl=False)
        return
    if as_json:
        from vault.sharing.overview import grant_view

        emit_json(grant_view(g, r))
        return
    d = g.as_dict()
    say(_("grant        {id}").format(id=g.id))
    say(_("recipient    {name} ({id})").format(name=r.name, id=r.id[:8]))
    say(
        _("persona      {persona} (shown as {pseudonym})").format(
            persona=g.persona[:8], pseudonym=g.pseudonym
        )
    )
    say(_("status       {status}").format(status=state(d["status"])))
    for h in g.history:
        say(f"  {moment(h.time)}  {state(h.status)}{'  ' + h.reason if h.reason else ''}")
    for key, values in g.scope.as_dict().items():
        if values:
            say(f"{_scope_key(key)} {', '.join(values)}")
    rng = g.time_range
    shown = (
        localise(rng.describe())
        if rng.last or not (rng.start or rng.end)
        else _span(rng.start, rng.end)
    )
    say(_("time range   {shown}").format(shown=shown))
    say(_("granularity  {granularity}").format(granularity=_granularity(g.granularity)))
    say(
        _("purpose      {purpose} (legal basis {legal_basis}, {jurisdiction})").format(
            purpose=g.purpose, legal_basis=g.legal_basis, jurisdiction=g.jurisdiction
        )
    )
    say(_("retention    {value}").format(value=g.retention or _("not stated")))
    say(_("valid until  {valid_until}").format(valid_until=moment(g.valid_until)))
    say(_("compensation {value}").format(value=g.compensation or _("none")))
    say(_("receipt      {id}").format(id=g.receipt.id))


def _scope_key(key: str) -> str:
    """A scope's field as `grant show` labels it, padded like the other labels."""
    words = {
        "metrics": pgettext("scope", "metrics"),
        "categories": pgettext("scope", "categories"),
        "content_kinds": pgettext("scope", "content kinds"),
        "content_tags": pgettext("scope", "content tags"),
        "content_ids": pgettext("scope", "content items"),
        "attributes": pgettext("scope", "attributes"),
        "content_audiences": pgettext("scope", "audiences"),
    }
    # As wide as the other labels of `grant show` in this language, less the space after it.
    width = len(_("grant        {id}").split("{", 1)[0]) - 1
    return words.get(key, key).ljust(width)


_GRANULARITIES: Final = (
    NP_("granularity", "raw"),
    NP_("granularity", "hour"),
    NP_("granularity", "day"),
)


def _granularity(value: str) -> str:
    return said("granularity", value, _GRANULARITIES)


# --- export tokens ----------------------------------------------------------------------------


@grant.command("token")
@click.argument("grant_ref", metavar="GRANT")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The token file to write (mode 0600; never overwritten).",
)
@click.option("--expires", default=None, metavar="DATE", help="When the token stops working.")
@json_option
@pass_env
def grant_token(
    env: Env, *, grant_ref: str, output: Path, expires: str | None, as_json: bool
) -> None:
    """Make an export token for GRANT, written to FILE: `export --token-file FILE` then
    exports that grant with no passphrase, and can decrypt nothing else.

    The token's secret is in FILE only (shown once, kept nowhere else): keep it like a key.
    It dies with the grant (withdrawn, expired), at --expires, on `grant untoken`, when a
    forget removes or rewrites data it could read, and on `coffre rekey`.

    \b
    Examples:
      coffre grant token 4c1d9e2a -o ~/.config/coffre/lab.token --expires 2027-06-30
      coffre grant token 4c1d9e2a -o lab.token --json
    """
    from vault.core.outputs import check_free, pending_output
    from vault.sharing import tokens
    from vault.sharing.scope import parse_moment

    until = parse_moment(expires, end=False) if expires else None
    check_free([output], force=False)
    with env.vault() as v, pending_output(output, force=False) as pending:
        made, text = tokens.create_token(v, grant_ref, expires=until)
        try:
            pending.file.write(text.encode("ascii"))
            pending.publish()
        except BaseException:
            tokens.untoken(v, made.id)  # a token whose file was not written is no use
            raise
    emit(
        {**made.as_dict(), "file": str(output)},
        _("token {id} for grant {grant} written to {output} (keep it secret)").format(
            id=made.id, grant=made.grant[:8], output=output
        ),
        as_json=as_json,
    )


@grant.command("tokens")
@click.option("--grant", "grant_ref", default=None, metavar="GRANT", help="Only this grant's.")
@json_option
@pass_env
def grant_tokens(env: Env, *, grant_ref: str | None, as_json: bool) -> None:
    """List the active export tokens (ids, grants, expiry; never their secrets).

    \b
    Examples:
      coffre grant tokens
      coffre grant tokens --grant 4c1d9e2a --json
    """
    from vault.sharing import tokens

    with env.vault() as v:
        found = tokens.list_tokens(v, grant_ref)
    if as_json:
        emit_json([t.as_dict() for t in found])
        return
    if not found:
        info(_("no active export tokens"))
        return
    for t in found:
        say(
            _(
                "{id}  grant {grant}  made {created}  expires {value}  opens {records} records"
            ).format(
                id=t.id,
                grant=t.grant[:8],
                created=t.created,
                value=t.expires or "with the grant",
                records=t.records,
            )
        )


@grant.command("untoken")
@click.argument("token_ref", metavar="TOKEN-ID")
@json_option
@pass_env
def grant_untoken(env: Env, *, token_ref: str, as_json: bool) -> None:
    """Cancel an export token: its keys are destroyed, its file opens nothing afterwards.

    \b
    Examples:
      coffre grant untoken 5f0c2a91
    """
    from vault.sharing import tokens

    with env.vault() as v:
        gone = tokens.untoken(v, token_ref)
    emit(gone.as_dict(), _("token {id} cancelled").format(id=gone.id), as_json=as_json)


# --- export -------------------------------------------------------------------------------------


def _span(start: str | None, end: str | None) -> str:
    """A [start, end) range of RFC 3339 times as people typed it: whole days as dates, the
    exclusive end at midnight as the last day it covers (`--to 2024-12-31` stays
    2024-12-31, not 2025-01-01)."""
    from datetime import datetime, timedelta

    def day(text: str | None, back: timedelta) -> str:
        if text is None:
            return "..."
        moment = datetime.fromisoformat(text)
        if moment.time() == datetime.min.time():
            return (moment - back).date().isoformat()
        return text

    return _("{first} to {last}").format(
        first=day(start, timedelta()), last=day(end, timedelta(days=1))
    )


def _print_plan(plan: ExportPlan) -> None:
    d = plan.as_dict()
    rng = d["time_range"]
    say(
        _("grant {grant} ({granularity}), data {span}").format(
            grant=d["grant"], granularity=d["granularity"], span=_span(rng["from"], rng["to"])
        )
    )
    if d["previous_bundle"]:
        say(
            _("only what is new since bundle {previous_bundle}").format(
                previous_bundle=d["previous_bundle"]
            )
        )
    for m in d["metrics"]:
        what = (
            _COUNTED[m["counted"]](m["count"])
            if m["counted"] in _COUNTED
            else _("{granularity} aggregates").format(granularity=_(d["granularity"]))
        )
        values = {"metric": m["metric"], "count": number(m["count"]), "what": what}
        if m["first"] is None:
            say(_("  metric {metric}: {count} {what}, none dated").format(**values))
            continue
        line = _("  metric {metric}: {count} {what}, {first} to {last}").format(
            **values, first=m["first"], last=m["last"]
        )
        if m["undated"]:
            line += _(" (and {n} without a date)").format(n=number(m["undated"]))
        say(line)
    for c in d["content"]:
        say(
            _("  content {id} {kind} ({audience}) {title!r} v{version} -> {path}").format(
                id=c["id"][:8],
                kind=c["kind"],
                audience=c["audience"],
                title=c["title"],
                version=c["version"],
                path=c["path"],
            )
        )
    if d["attributes"]:
        say(_("  attributes: {attributes}").format(attributes=", ".join(d["attributes"])))
    if d["missing_attributes"]:
        say(
            _("  (no value for: {missing_attributes})").format(
                missing_attributes=", ".join(d["missing_attributes"])
            )
        )
    for note in plan.notes:
        say(_("  note: {note}").format(note=localise(note)))


# What a dry run's metric line counts, in words (the plan says which, in English).
_COUNTED: Final = {
    "samples": lambda n: ngettext("sample", "samples", n),
    "recordings": lambda n: ngettext("ECG recording", "ECG recordings", n),
    "records": lambda n: ngettext("clinical record", "clinical records", n),
}


@cli.command("export")
@click.argument("grant_ref", metavar="GRANT")
@click.option(
    "-o",
    "--output",
    "output",
    default=None,
    metavar="FILE|-",
    help="The bundle (age file) to write, or - for stdout.",
)
@click.option("--since-last", is_flag=True, help="Only what is new since the last bundle.")
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="COFFRE_TOKEN_FILE",
    default=None,
    help="Export with this grant's token (`grant token`) instead of the passphrase "
    "(or COFFRE_TOKEN_FILE).",
)
@dry_run_option(N_("List exactly what would leave; write nothing."))
@force_option
@json_option
@pass_env
def export_cmd(
    env: Env,
    *,
    grant_ref: str,
    output: str | None,
    since_last: bool,
    token_file: Path | None,
    dry_run: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Export what GRANT allows as an age-encrypted bundle for its recipient.

    Refused (exit code 6) when the grant is expired or withdrawn, or selects nothing. With
    --token-file (or COFFRE_TOKEN_FILE) no passphrase is asked: the token opens its grant's
    data and nothing else.

    \b
    Examples:
      coffre export 4c1d9e2a --dry-run
      coffre export 4c1d9e2a -o lab-2026-11.age
      coffre export 4c1d9e2a --since-last -o - | ssh lab.example 'cat > inbox/ana.age'
      coffre export 4c1d9e2a --token-file ~/.config/coffre/lab.token -o weekly.age
    """
    from vault.core.errors import InvalidParameter
    from vault.sharing import bundles as bundle

    if not dry_run and not output:
        raise InvalidParameter(_("give -o FILE (or -o - for stdout), or --dry-run"))
    opened = env.token_vault(token_file) if token_file else env.vault()
    with opened as v:
        if dry_run:
            plan = bundle.prepare(v, grant_ref, since_last=since_last)
            if as_json:
                from vault.sharing import get_recipient

                r = get_recipient(v, plan.grant.recipient)
                emit_json({**plan.as_dict(), "recipient": {"id": r.id, "name": r.name}})
            else:
                _print_plan(plan)
            return
        target: Path | BinaryIO = sys.stdout.buffer if output == "-" else Path(str(output))
        if output == "-" and sys.stdout.isatty():
            raise InvalidParameter(
                _("refusing to write a binary bundle to a terminal; use -o FILE")
            )
        result = bundle.export_bundle(
            v,
            grant_ref,
            target,
            since_last=since_last,
            progress=StderrProgress(_("export")),
            force=force,
        )
    summary = result.as_dict()
    if output == "-":
        info(
            _("bundle {bundle_id}: {size}, sha256 {sha256}").format(
                bundle_id=result.bundle_id, size=human_size(result.size), sha256=result.sha256
            )
        )
    elif as_json:
        emit_json(summary)
    else:
        say(
            _("bundle {bundle_id} written to {output} ({size})").format(
                bundle_id=result.bundle_id, output=output, size=human_size(result.size)
            )
        )
        say(_("sha256 {sha256}").format(sha256=result.sha256))


# --- recipient side -----------------------------------------------------------------------------


@cli.group()
def bundle() -> None:
    """The recipient's side: open or verify a bundle (no vault needed).

    \b
    Examples:
      coffre bundle verify ana.age -i lab.key
      coffre bundle open ana.age -i lab.key -o ana/
    """


_identity_option = click.option(
    "-i",
    "--identity",
    "identity",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The recipient's age identity file.",
)
_key_option = click.option(
    "--key",
    "expect_key",
    default=None,
    help="Require the manifest to be signed by this minisign public key (pin the persona).",
)


def _listed(value: Any) -> str:
    """A receipt's list as words; a receipt signed by an unknown key may hold anything."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _show_verified(vb: VerifiedBundle, *, pinned: bool, as_json: bool) -> None:
    d = vb.as_dict()
    if not pinned:
        warn(
            _(
                "no --key given: the signatures prove the bundle was not changed since "
                "it was signed, not who signed it; check the key it names, then pin it with --key"
            )
        )
    if vb.expired:
        warn(
            _("the grant expired on {valid_until}; the sender's consent has ended").format(
                valid_until=d["valid_until"]
            )
        )
    if as_json:
        emit_json(d)
        return
    r = d["receipt"]
    say(
        _("bundle      {id} ({files} files, {size})").format(
            id=d["id"], files=d["files"], size=human_size(d["size"])
        )
    )
    say(
        _("created     {created} under grant {grant}").format(
            created=d["created"], grant=d["grant"]
        )
    )
    say(
        _("from        {pseudonym} (key {persona_minisign_key})").format(
            pseudonym=d["pseudonym"], persona_minisign_key=d["persona_minisign_key"]
        )
    )
    say(_("purpose     {purposes}").format(purposes=_listed(r["purposes"])))
    say(_("categories  {data_categories}").format(data_categories=_listed(r["data_categories"])))
    say(
        _("retention   {value}; valid until {valid_until}").format(
            value=r["retention"] or _("not stated"), valid_until=r["valid_until"]
        )
    )
    if r["compensation"]:
        say(_("compensation {compensation}").format(compensation=r["compensation"]))
    say(_("every file's SHA-256, the manifest and the receipt signatures: OK"))


@bundle.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_identity_option
@_key_option
@json_option
def bundle_verify(*, file: Path, identity: Path, expect_key: str | None, as_json: bool) -> None:
    """Decrypt FILE and check every hash and signature; write nothing.

    \b
    Examples:
      coffre bundle verify ana.age -i lab.key
      coffre bundle verify ana.age -i lab.key --key "RWQ..." --json
    """
    from vault.sharing import read_identities
    from vault.sharing.bundles import verify_bundle

    vb = verify_bundle(
        file, read_identities(identity), expect_key=expect_key, progress=StderrProgress(_("verify"))
    )
    _show_verified(vb, pinned=bool(expect_key), as_json=as_json)


@bundle.command("open")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_identity_option
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="A new (or empty) directory to write the files into.",
)
@_key_option
@json_option
def bundle_open(
    *, file: Path, identity: Path, output: Path, expect_key: str | None, as_json: bool
) -> None:
    """Verify FILE, then write its files into a new directory (nothing on any failure).

    \b
    Examples:
      coffre bundle open ana.age -i lab.key -o ana/
      coffre bundle open ana.age -i lab.key -o ana/ --key "RWQ..."
    """
    from vault.sharing import read_identities
    from vault.sharing.bundles import open_bundle

    vb = open_bundle(
        file,
        read_identities(identity),
        output,
        expect_key=expect_key,
        progress=StderrProgress(_("open")),
    )
    _show_verified(vb, pinned=bool(expect_key), as_json=as_json)
    if not as_json:
        say(_("written to {output}").format(output=output))


# --- ledger -------------------------------------------------------------------------------------


@cli.command("ledger")
@click.option("--recipient", "recipient_ref", default=None, help="Only this recipient.")
@json_option
@pass_env
def ledger_cmd(env: Env, *, recipient_ref: str | None, as_json: bool) -> None:
    """Who holds what of yours, since when, under which grant, for what, in exchange for
    what.

    \b
    Examples:
      coffre ledger
      coffre ledger --recipient "Health Lab" --json
    """
    from vault.remote import devices
    from vault.sharing.overview import ledger_view

    with env.vault() as v:
        view = ledger_view(v, recipient_ref)
        # Your own devices hold copies too: a forget not applied there yet is still held.
        pending = [d for d in devices(v) if d["pending_forgets"] and not d["revoked"]]
    if as_json:
        emit_json([entry.as_dict() for entry in view])
        return
    if not view:
        say(_("no recipients yet"))
    for entry in view:
        heading(f"{entry.recipient.name} ({entry.recipient.id[:8]})")
        if not entry.grants:
            say(_("  no grants"))
        for held in entry.grants:
            g = held.grant
            say(
                _(
                    "  grant {id} [{status}] {purpose}, until {valid_until}; "
                    "in exchange for: {value}"
                ).format(
                    id=g.id[:8],
                    status=state(held.status),
                    purpose=g.purpose,
                    valid_until=day(g.valid_until[:10]),
                    value=g.compensation or _("nothing stated"),
                )
            )
            for n in held.erasure_requests:
                say(
                    _("    erasure request ({reason}) {created}: {id}").format(
                        reason=reason(n.reason), created=moment(n.created), id=n.id
                    )
                )
            if not held.bundles:
                say(_("    nothing sent yet"))
                continue
            say(_("    holds since {since}:").format(since=moment(held.since or "")))
            if held.metrics:
                say(_("      metrics: {metrics}").format(metrics=", ".join(held.metrics)))
            if held.content:
                say(_("      content items: {n_content}").format(n_content=len(held.content)))
            if held.attributes:
                say(
                    _("      attributes: {attributes}").format(
                        attributes=", ".join(held.attributes)
                    )
                )
            for b in held.bundles:
                flag = "" if b.status == "complete" else f" ({state(b.status)})"
                say(
                    _("    bundle {bundle_id} {time} {size} sha256 {sha256}...{flag}").format(
                        bundle_id=b.bundle_id[:12],
                        time=moment(b.time),
                        size=human_size(b.size),
                        sha256=b.sha256[:16],
                        flag=flag,
                    )
                )
    if pending and recipient_ref is None:
        heading(_("Your devices"))
        for d in pending:
            say(
                _("  {name} ({id}): {forgets}, last sync {last}; applied at its next sync").format(
                    name=d["name"],
                    id=d["id"][:8],
                    forgets=ngettext(
                        "{n} forget pending", "{n} forgets pending", d["pending_forgets"]
                    ).format(n=number(d["pending_forgets"])),
                    last=d["last_sync"] or _("never"),
                )
            )
