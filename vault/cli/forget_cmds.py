"""`coffre forget` and `coffre rules`: the right to be forgotten and retention rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import (
    StderrProgress,
    confirm,
    dry_run_option,
    emit,
    emit_json,
    info,
    json_option,
    nothing_changed,
    say,
    yes_option,
)
from vault.core.i18n import N_, _, localise, ngettext, number

if TYPE_CHECKING:
    from vault.forget import Plan, Target


def _show_plan(plan: Plan) -> None:
    """Print a forget preview for a person (stdout: it is what was asked for)."""
    from vault.forget import count_label

    say(_("Would forget: ") + "; ".join(map(localise, plan.labels)))
    for what, n in sorted(plan.counts.items()):
        label = _(count_label(what))
        shown = (
            ngettext("{n} byte", "{n} bytes", n).format(n=number(n))
            if what == "content_bytes"
            else number(n)
        )
        say(f"  {label:<20} {shown}")
    if plan.holders:
        say(_("Recipients holding copies (erasure requests will be produced for them):"))
        for h in plan.holders:
            say(
                "  "
                + ngettext("{name} ({n} bundle)", "{name} ({n} bundles)", len(h.bundles)).format(
                    name=h.name, n=len(h.bundles)
                )
            )
    say(_(_BACKUPS_CAVEAT))


_BACKUPS_CAVEAT = N_(
    "Copies of the vault made before now (backups) still hold it; run "
    "`coffre passwd --rekey` afterwards so they need your old passphrase and their keys "
    "open nothing you write later."
)


def _targets(
    persona: str | None,
    metric: str | None,
    start: str | None,
    end: str | None,
    content: str | None,
    recipient: str | None,
    everything: bool,
) -> list[Target]:
    from vault.data.query import parse_instant
    from vault.forget import Target

    if metric is None and (start or end):
        raise click.UsageError(_("--from and --to go with --metric"))
    chosen = [bool(metric), bool(content), bool(recipient), everything]
    if persona and not metric:
        chosen.append(True)
    if sum(chosen) != 1:
        raise click.UsageError(
            _(
                "name exactly one target: --persona, --metric, --content, --recipient, "
                "--everything or --apply-rules"
            )
        )
    if metric:
        lo = parse_instant(start) if start else None
        hi = parse_instant(end, end_of_day=True) if end else None
        return [Target.of_metric(metric, persona=persona, start=lo, end=hi)]
    if content:
        return [Target.of_content(content)]
    if recipient:
        return [Target.of_recipient(recipient)]
    if everything:
        return [Target.everything()]
    return [Target.of_persona(persona or "")]


@cli.command()
@click.option(
    "--persona",
    help="Forget this persona and everything linked to it "
    "(with --metric: only that persona's samples).",
)
@click.option("--metric", help="Forget samples of this metric (all personas unless --persona).")
@click.option("--from", "start", metavar="DATE", help="With --metric: from this date (UTC).")
@click.option("--to", "end", metavar="DATE", help="With --metric: up to this date, inclusive.")
@click.option("--content", help="Forget this content item (id or id prefix), every version.")
@click.option("--recipient", help="Forget this recipient, its grants, receipts and ledger.")
@click.option("--everything", is_flag=True, help="Forget everything the vault holds.")
@click.option("--apply-rules", is_flag=True, help="Forget what the retention rules say is due.")
@dry_run_option(N_("Only show what would be forgotten."))
@yes_option
@click.option(
    "--notices-out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the erasure requests for recipients holding copies into DIR.",
)
@json_option
@pass_env
def forget(
    env: Env,
    persona: str | None,
    metric: str | None,
    start: str | None,
    end: str | None,
    content: str | None,
    recipient: str | None,
    everything: bool,
    apply_rules: bool,
    dry_run: bool,
    yes: bool,
    notices_out: Path | None,
    as_json: bool,
) -> None:
    """Forget data for good: deleted, its keys destroyed, no byte left in the vault.

    Always shows a preview first (what, how much, which recipients hold copies) and asks
    for confirmation; -n/--dry-run only previews, -y/--yes confirms for scripts (without a
    terminal it is needed: exit 7). Recipients whose bundles carried forgotten data get a
    signed erasure request per grant: written into --notices-out DIR, or else printed.

    \b
    Examples:
      coffre forget --metric heart_rate --to 2020-12-31 --dry-run
      coffre forget --content 5b0e1f9c
      coffre forget --persona "Old alias" --notices-out requests/ -y
      coffre forget --apply-rules -y
    """
    from vault import forget as forgetting
    from vault.forget import rules

    with env.vault() as v:
        if apply_rules:
            if any((persona, metric, content, recipient, everything)):
                raise click.UsageError(_("--apply-rules takes no other target"))
            due = rules.due(v)
            if due is None:
                emit({"due": False}, _("No retention rule has anything due."), as_json=as_json)
                return
            plan = due
        else:
            plan = forgetting.preview(
                v, _targets(persona, metric, start, end, content, recipient, everything)
            )
            plan.check_not_empty()
        if dry_run:
            if as_json:
                emit_json({"dry_run": True, **plan.as_dict()})
            else:
                _show_plan(plan)
            return
        if not confirm(
            _("Forget this for good?"),
            yes=yes,
            action=_("forgetting"),
            preview=lambda: _show_plan(plan),
        ):
            nothing_changed()
            return
        result = forgetting.forget(v, plan.targets, progress=StderrProgress(_("forgetting")))
    if notices_out and result.notices:
        from vault.cli.revoke_cmd import write_request

        notices_out.mkdir(mode=0o700, parents=True, exist_ok=True)
        for request in result.notices:
            name = request.id.rsplit(":", 1)[-1]
            write_request(request, notices_out / f"erasure-request-{name}.json")
    if as_json:
        emit_json({"dry_run": False, **result.as_dict()})
        return
    say(
        _("Forgotten: {labels} ({seconds:.1f} s).").format(
            labels="; ".join(map(localise, result.plan.labels)), seconds=result.seconds
        )
    )
    if yes:  # no preview was shown: what the forget could not reach is said now
        if result.plan.holders:
            info(_("Recipients already hold copies: erasure requests were produced for them."))
        info(_(_BACKUPS_CAVEAT))
    if not result.wal_truncated:
        info(_("Another process is reading the vault: its journal will be cleared once it closes."))
    for request in result.notices:
        if notices_out:
            info(
                _("Erasure request for grant {grant} produced in {notices_out}.").format(
                    grant=request.grant[:8], notices_out=notices_out
                )
            )
        else:
            info(
                _("Erasure request for grant {grant} produced; send it:").format(
                    grant=request.grant[:8]
                )
            )
            click.echo("\n" + request.text(), nl=False)


@cli.group()
def rules() -> None:
    """Retention rules: how long to keep data of a metric, a category or a tag.

    \b
    Examples:
      coffre rules add --metric heart_rate --keep 2y
      coffre rules list
    """


@rules.command("add")
@click.option("--metric", help="Keep samples of this metric only so long.")
@click.option("--category", help="Keep samples of the metrics in this DPV category so long.")
@click.option("--tag", help="Keep content items with this tag so long.")
@click.option("--keep", required=True, metavar="PERIOD", help="How long: 730d, 52w or 2y.")
@json_option
@pass_env
def rules_add(
    env: Env,
    metric: str | None,
    category: str | None,
    tag: str | None,
    keep: str,
    as_json: bool,
) -> None:
    """Add a retention rule (applied by `coffre forget --apply-rules`).

    \b
    Examples:
      coffre rules add --metric heart_rate --keep 2y
      coffre rules add --category pd:PhysicalHealth --keep 730d
      coffre rules add --tag drafts --keep 52w
    """
    from vault.forget import rules as retention

    given = [(s, v) for s, v in (("metric", metric), ("category", category), ("tag", tag)) if v]
    if len(given) != 1:
        raise click.UsageError(_("give exactly one of --metric, --category or --tag"))
    selector, value = given[0]
    with env.vault() as v:
        rule = retention.add_rule(v, selector, value, keep)  # type: ignore[arg-type]
    emit(rule.as_dict(), rule.id, as_json=as_json)


@rules.command("list")
@json_option
@pass_env
def rules_list(env: Env, as_json: bool) -> None:
    """List the retention rules and whether anything is due.

    \b
    Examples:
      coffre rules list
      coffre rules list --json
    """
    from vault.forget import rules as retention

    with env.vault() as v:
        found = retention.list_rules(v)
        plan = retention.due(v) if found else None
    if as_json:
        emit_json({"rules": [r.as_dict() for r in found], "due": plan.as_dict() if plan else None})
        return
    if not found:
        say(_("No retention rules."))
        return
    for r in found:
        say(
            _("{id}  {selector:<8} {value:<24} keep {keep_days} days").format(
                id=r.id[:8], selector=r.selector, value=r.value, keep_days=r.keep_days
            )
        )
    if plan:
        from vault.forget import count_label

        counts = ", ".join(
            f"{number(n)} {_(count_label(k))}" for k, n in sorted(plan.counts.items())
        )
        say(_("Due now: {counts} (run `coffre forget --apply-rules`).").format(counts=counts))
    else:
        say(_("Nothing is due."))


@rules.command("rm")
@click.argument("rule_id")
@pass_env
def rules_rm(env: Env, rule_id: str) -> None:
    """Remove a retention rule (what it already forgot stays forgotten).

    \b
    Examples:
      coffre rules rm 3f2a9c1d
    """
    from vault.forget import rules as retention

    with env.vault() as v:
        rule = retention.remove_rule(v, rule_id)
    info(
        _("Removed the rule for {selector} {value}.").format(
            selector=rule.selector, value=rule.value
        )
    )
