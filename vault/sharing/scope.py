"""What a grant covers: the scope (metrics, categories, content, attributes), the data time
range (fixed or rolling) and the granularity, each checked when the grant is created.

A scope selects by intersection within content (kind AND tag AND id, each optional, AND
audience) and by union across dimensions (metrics, content, attributes are separate parts
of one bundle).
Contradictory or empty scopes are refused: a grant must say exactly what may leave.

Content leaves only if its audience is one the grant names, and a grant that names none
covers `public` items only, so a direct message or a draft never leaves by accident. Grants
stored before audiences existed name none: they too cover public items only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from vault import content
from vault import personas as identities
from vault.core.clock import iso
from vault.core.errors import ContradictoryScope, EmptyScope, InvalidParameter
from vault.core.i18n import N_, Text
from vault.data import metrics
from vault.data.model import UNKNOWN_PREFIX

if TYPE_CHECKING:
    from vault.core.vault import Vault

GRANULARITIES: Final = ("raw", "hour", "day")
_LAST_RE: Final = re.compile(r"^(\d{1,5})([hdwy])$")
_LAST_UNITS: Final = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_DERIVED_FROM_BIRTH: Final = ("age_over:", "birth_year")


def _split(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    items = values.split(",") if isinstance(values, str) else list(values)
    out: list[str] = []
    for raw in items:
        for piece in str(raw).split(","):
            v = piece.strip()
            if v and v not in out:
                out.append(v)
    return out


@dataclass(frozen=True)
class Scope:
    """The data a grant covers. Content ids are full item ids, resolved at creation."""

    metrics: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    content_kinds: tuple[str, ...] = ()
    content_tags: tuple[str, ...] = ()
    content_ids: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    content_audiences: tuple[str, ...] = ()  # empty: public only

    @property
    def has_content(self) -> bool:
        return bool(self.content_kinds or self.content_tags or self.content_ids)

    @property
    def audiences(self) -> tuple[str, ...]:
        """The audiences whose content may leave: those named, else public only."""
        return self.content_audiences or (content.PUBLIC,)

    def covers(self, item: content.Item) -> bool:
        """Whether a content item of the grant's persona is inside the content scope: of a
        granted kind AND tag AND id (those named) AND audience."""
        return (
            self.has_content
            and (not self.content_kinds or item.kind in self.content_kinds)
            and (not self.content_tags or bool(set(self.content_tags).intersection(item.tags)))
            and (not self.content_ids or item.id in self.content_ids)
            and item.audience in self.audiences
        )

    def is_empty(self) -> bool:
        return not (self.metrics or self.categories or self.has_content or self.attributes)

    def metric_ids(self) -> tuple[str, ...]:
        """Every metric covered: those named plus those of the DPV categories, sorted."""
        found = set(self.metrics)
        for category in self.categories:
            found.update(m.id for m in metrics.by_category(category))
        return tuple(sorted(found))

    def data_categories(self) -> tuple[str, ...]:
        """The DPV personal-data categories this scope touches (for the receipt)."""
        cats: set[str] = set(self.categories)
        for m in self.metrics:
            cats.add(metrics.get(m).dpv if not m.startswith(UNKNOWN_PREFIX) else "pd:Health")
        if self.has_content:
            cats.add("pd:Communication")
        for attr in self.attributes:
            cats.add(attribute_category(attr))
        return tuple(sorted(cats))

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "metrics": list(self.metrics),
            "categories": list(self.categories),
            "content_kinds": list(self.content_kinds),
            "content_tags": list(self.content_tags),
            "content_ids": list(self.content_ids),
            "attributes": list(self.attributes),
            "content_audiences": list(self.audiences) if self.has_content else [],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scope:
        """A stored scope; one stored before audiences existed has none (public only)."""
        return cls(*(tuple(str(x) for x in d.get(k, ())) for k in _SCOPE_KEYS))


_SCOPE_KEYS: Final = (
    "metrics",
    "categories",
    "content_kinds",
    "content_tags",
    "content_ids",
    "attributes",
    "content_audiences",
)

# DPV personal-data categories (https://w3id.org/dpv/pd) for persona attributes.
_ATTRIBUTE_CATEGORIES: Final = {
    "name": "pd:Name",
    "nickname": "pd:Nickname",
    "email": "pd:EmailAddress",
    "phone": "pd:TelephoneNumber",
    "address": "pd:PhysicalAddress",
    "handle": "pd:SocialMediaIdentifier",
    "birth_date": "pd:BirthDate",
    "avatar": "pd:Picture",
    "url": "pd:PersonalDocuments",
    "org": "pd:Employer",
    "title": "pd:JobTitle",
    "note": "pd:Identifying",
    "field": "pd:Identifying",
    "age_over": "pd:AgeRange",
    "birth_year": "pd:BirthDate",
    "country": "pd:Country",
}


def attribute_category(key: str) -> str:
    """The DPV category of an attribute key (`email.work`, `age_over:18`...)."""
    base = key.partition(":")[0].partition(".")[0].lower()
    return _ATTRIBUTE_CATEGORIES.get(base, "pd:Identifying")


def is_derived(key: str) -> bool:
    return key.startswith("age_over:") or key in ("birth_year", "country")


def known_categories() -> tuple[str, ...]:
    return tuple(sorted({m.dpv for m in metrics.METRICS.values()}))


@dataclass(frozen=True)
class ScopeRequest:
    """A scope as a person or a script asks for it, before `build_scope` checks it against
    one persona: each part comma-separated text or a list of values (None: not asked for)."""

    metrics: Sequence[str] | str | None = None
    categories: Sequence[str] | str | None = None
    content_kinds: Sequence[str] | str | None = None
    content_tags: Sequence[str] | str | None = None
    content_ids: Sequence[str] | str | None = None
    attributes: Sequence[str] | str | None = None
    content_audiences: Sequence[str] | str | None = None  # None: public only


def build_scope(vault: Vault, persona_id: str, request: ScopeRequest) -> Scope:
    """Check and normalise a scope for one persona; EmptyScope / ContradictoryScope /
    InvalidParameter name what is wrong."""
    mets = []
    for m in _split(request.metrics):
        if not m.startswith(UNKNOWN_PREFIX):
            metrics.get(m)
        mets.append(m)
    known = known_categories()
    cats = []
    for c in _split(request.categories):
        if c not in known:
            raise InvalidParameter(
                N_("no metric is in the DPV category {category!r}; known: {known}"),
                category=c[:60],
                known=", ".join(known),
            )
        cats.append(c)
    kinds = [content.normalize_kind(k) for k in _split(request.content_kinds)]
    tags = list(content.normalize_tags(_split(request.content_tags)))
    if _split(request.content_tags) and not tags:
        raise InvalidParameter(N_("the content tags are empty once trimmed"))
    has_content = bool(kinds or tags or _split(request.content_ids))
    audiences = content.normalize_audiences(_split(request.content_audiences))
    if audiences and not has_content:
        raise ContradictoryScope(
            N_(
                "--audience chooses which content may leave: name --content-kinds, "
                "--content-tags or --content-ids with it"
            )
        )
    granted = audiences or (content.PUBLIC,)
    ids = []
    for ref in _split(request.content_ids):
        item = content.get(vault, ref)
        if item.persona != persona_id:
            raise ContradictoryScope(
                N_("content item {item} belongs to another persona than the grant's"),
                item=item.id[:8],
            )
        if item.audience not in granted:
            raise ContradictoryScope(
                N_(
                    "content item {item} is {audience}, which the grant does not cover; "
                    "name --audience {audience} to let it leave"
                ),
                item=item.id[:8],
                audience=item.audience,
            )
        ids.append(item.id)
    attrs = [_check_attribute(a) for a in _split(request.attributes)]
    if "birth_date" in attrs and any(a.startswith(_DERIVED_FROM_BIRTH) for a in attrs):
        raise ContradictoryScope(
            N_(
                "birth_date together with age_over/birth_year: a derived attribute is meant to "
                "hide the birth date; grant one or the other"
            )
        )
    scope = Scope(
        tuple(sorted(set(mets))),
        tuple(sorted(set(cats))),
        tuple(sorted(set(kinds))),
        tuple(tags),
        tuple(sorted(set(ids))),
        tuple(attrs),
        granted if has_content else (),
    )
    if scope.is_empty():
        raise EmptyScope(
            N_(
                "name at least one of --metrics, --categories, --content-kinds, --content-tags, "
                "--content-ids or --attrs"
            )
        )
    return scope


def _check_attribute(key: str) -> str:
    key = key.strip()
    if key.startswith("age_over:"):
        identities.derive(identities.Persona("", "", ""), key)  # validates N
        return f"age_over:{int(key.partition(':')[2])}"
    if key in ("birth_year", "country"):
        return key
    kind, _, label = key.partition(".")
    kind = kind.lower().replace("-", "_")
    if kind not in identities.ATTRIBUTE_KINDS:
        raise InvalidParameter(
            N_(
                "unknown attribute {key!r}; use a kind such as name, email, email.work, "
                "or a derived one ({known})"
            ),
            key=key[:40],
            known=", ".join(identities.DERIVED),
        )
    if kind in (identities.VCARD, identities.RESUME):
        raise InvalidParameter(N_("{kind} attributes cannot be granted one by one"), kind=kind)
    return f"{kind}.{label}" if label else kind


# --- time range ---------------------------------------------------------------------------------


def parse_moment(text: str, *, end: bool) -> datetime:
    text = text.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            moment = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise InvalidParameter(
            N_("{text!r} is not an ISO 8601 date or date-time"), text=text[:40]
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_last(text: str) -> timedelta:
    """`30d`, `12w`, `48h` or `1y` (365 days) as a duration."""
    m = _LAST_RE.match(text.strip().lower())
    if not m or int(m[1]) == 0:
        raise InvalidParameter(N_("--last takes a positive number and a unit: 48h, 30d, 12w, 1y"))
    n, unit = int(m[1]), m[2]
    return timedelta(days=365 * n) if unit == "y" else n * _LAST_UNITS[unit]


@dataclass(frozen=True)
class TimeRange:
    """The data time range: fixed [start, end) instants, or rolling (`last`, a duration
    counted back from the moment of each export). All None: no time limit."""

    start: str | None = None
    end: str | None = None
    last: str | None = None

    @classmethod
    def build(
        cls, start: str | None = None, end: str | None = None, last: str | None = None
    ) -> TimeRange:
        """Check a range as typed: `--from D --to D` (dates inclusive) or `--last 30d`."""
        if last and (start or end):
            raise ContradictoryScope(N_("give either --from/--to or --last, not both"))
        if last:
            parse_last(last)
            return cls(last=last.strip().lower())
        s = parse_moment(start, end=False) if start else None
        e = parse_moment(end, end=True) if end else None
        if s and e and s >= e:
            raise ContradictoryScope(N_("the time range ends before it starts (--from after --to)"))
        return cls(iso(s) if s else None, iso(e) if e else None)

    def resolve(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The concrete [start, end) at `now` (rolling ranges end now)."""
        if self.last:
            return now - parse_last(self.last), now
        s = parse_moment(self.start, end=False) if self.start else None
        e = parse_moment(self.end, end=False) if self.end else None
        return s, e

    def as_dict(self) -> dict[str, str | None]:
        return {"from": self.start, "to": self.end, "last": self.last}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TimeRange:
        return cls(d.get("from"), d.get("to"), d.get("last"))

    def describe(self) -> Text:
        """The range in words (English; the front ends show it with `i18n.localise`)."""
        if self.last:
            return Text(N_("rolling, last {span}"), span=self.last)
        if self.start or self.end:
            return Text(N_("{start} to {end}"), start=self.start or "...", end=self.end or "...")
        return Text(N_("all time"))


def check_granularity(value: str) -> str:
    g = value.strip().lower()
    if g not in GRANULARITIES:
        raise InvalidParameter(
            N_("granularity must be one of {known}"), known=", ".join(GRANULARITIES)
        )
    return g
