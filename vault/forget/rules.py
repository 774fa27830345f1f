"""Retention rules: keep some data only so long, then forget it.

A rule selects quantified-self data by metric or DPV category, or content by tag, and says
how long to keep it (`730d`, `52w`, `2y`). Rules are stored encrypted like everything else;
`due` previews what applying them would forget and `apply_rules` forgets it through
`vault.forget`, with the same guarantees and one audit entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from vault import content
from vault.core.errors import InvalidParameter, RecordNotFound
from vault.core.i18n import N_
from vault.core.progress import ProgressCallback
from vault.data import metrics, query
from vault.forget import ForgetResult, Plan, Target, forget, preview

if TYPE_CHECKING:
    from vault.core.vault import Vault

KIND: Final = "retention.rule"
DAY_MS: Final = 86_400_000
Selector = Literal["metric", "category", "tag"]
_UNITS: Final = {"d": 1, "w": 7, "y": 365}


def parse_keep(text: str) -> int:
    """`730d`, `52w` or `2y` -> days."""
    m = re.fullmatch(r"\s*(\d{1,5})\s*([dwy])\s*", text or "")
    if not m or int(m[1]) == 0:
        raise InvalidParameter(N_("keep periods look like 730d, 52w or 2y (and are not zero)"))
    return int(m[1]) * _UNITS[m[2]]


@dataclass(frozen=True)
class Rule:
    """Keep data selected by (`selector`, `value`) for `keep_days` days."""

    id: str
    selector: Selector
    value: str
    keep_days: int
    created: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "selector": self.selector,
            "value": self.value,
            "keep_days": self.keep_days,
            "created": self.created,
        }

    def cutoff(self, now_ms: int) -> int:
        return now_ms - self.keep_days * DAY_MS


def _decode(rec_id: str, raw: bytes) -> Rule:
    d = json.loads(raw)
    return Rule(rec_id, d["selector"], d["value"], int(d["keep_days"]), d["created"])


def add_rule(vault: Vault, selector: Selector, value: str, keep: str) -> Rule:
    """Add a rule; the metric, category or tag is checked against what Coffre knows."""
    value = value.strip()
    if selector == "metric":
        value = query.check_metric(value)
    elif selector == "category":
        if not metrics.by_category(value):
            raise InvalidParameter(N_("no metric is in the category {value!r}"), value=value)
    elif selector == "tag":
        if not value:
            raise InvalidParameter(N_("a tag cannot be empty"))
        value = value.lower()
    else:
        raise InvalidParameter(
            N_("rules select by metric, category or tag, not {selector!r}"), selector=selector
        )
    days = parse_keep(keep)
    created = vault.clock.iso()
    body = {"selector": selector, "value": value, "keep_days": days, "created": created}
    with vault.store.write() as txn:
        for existing in list_rules(vault):
            if (existing.selector, existing.value) == (selector, value):
                raise InvalidParameter(
                    N_("a rule for that {selector} exists ({rule})"),
                    selector=selector,
                    rule=existing.id[:8],
                )
        rid = txn.put(KIND, json.dumps(body).encode())
        txn.audit("rules.add", rule=rid, keep_days=days)
    return Rule(rid, selector, value, days, created)


def list_rules(vault: Vault) -> list[Rule]:
    return sorted(
        (_decode(r.id, r.data) for r in vault.store.iter_kind(KIND)),
        key=lambda r: (r.selector, r.value),
    )


def remove_rule(vault: Vault, ref: str) -> Rule:
    """Remove the rule with this id or id prefix (data already forgotten stays forgotten)."""
    found = vault.store.find_prefix(KIND, ref.strip().lower()) if len(ref.strip()) >= 4 else []
    if len(found) != 1:
        if found:
            raise RecordNotFound(N_("several rules match"))
        raise RecordNotFound(N_("retention rule {ref}"), ref=ref[:32])
    rule = _decode(found[0].id, found[0].data)
    with vault.store.write() as txn:
        txn.delete(KIND, rule.id)
        txn.audit("rules.rm", rule=rule.id)
    return rule


def targets(vault: Vault, now_ms: int | None = None) -> list[Target]:
    """What the rules select for forgetting now: data older than each rule's cutoff."""
    now_ms = vault.clock.ms() if now_ms is None else now_ms
    out: list[Target] = []
    for rule in list_rules(vault):
        cutoff = rule.cutoff(now_ms)
        if rule.selector == "metric":
            out.append(Target.of_metric(rule.value, end=cutoff))
        elif rule.selector == "category":
            out.extend(Target.of_metric(m.id, end=cutoff) for m in metrics.by_category(rule.value))
        else:
            moment = datetime.fromtimestamp(cutoff // 1000, UTC)
            limit = moment.isoformat().replace("+00:00", "Z")
            out.extend(
                Target.of_content(item.id)
                for item in content.list_items(vault, tag=rule.value)
                if item.created < limit
            )
    return out


def due(vault: Vault, now_ms: int | None = None) -> Plan | None:
    """The preview of applying the rules now, or None when nothing is due."""
    chosen = targets(vault, now_ms)
    if not chosen:
        return None
    plan = preview(vault, chosen)
    return None if plan.empty else plan


def apply_rules(
    vault: Vault, now_ms: int | None = None, progress: ProgressCallback | None = None
) -> ForgetResult | None:
    """Forget what the rules select now; None when nothing is due."""
    if due(vault, now_ms) is None:
        return None
    return forget(vault, targets(vault, now_ms), progress)
