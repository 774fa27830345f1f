"""Who an item was written for: its audience, one of a fixed vocabulary.

Audience is what keeps private posts from leaving by accident: a grant lets only `public`
items leave unless it names other audiences. Importers read it from each source (Mastodon
visibility, WordPress status, a protected Twitter account, front matter); `content add`
defaults to `private`, the safe choice for a person's own notes. Items stored before
audiences existed are read with the audience their stored source metadata shows, else
`private` (docs/formats.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from vault.core.errors import InvalidParameter
from vault.core.i18n import N_

PUBLIC: Final = "public"  # anyone may see it, listed where it was published
UNLISTED: Final = "unlisted"  # anyone with the link, kept out of public timelines
FOLLOWERS: Final = "followers"  # the account's followers only
DIRECT: Final = "direct"  # the people it was addressed to (a direct message)
PRIVATE: Final = "private"  # the author only (a private or password-protected post, a note)
DRAFT: Final = "draft"  # not published yet (draft, pending review, scheduled)
AUDIENCES: Final = (PUBLIC, UNLISTED, FOLLOWERS, DIRECT, PRIVATE, DRAFT)
DEFAULT: Final = PRIVATE

# WordPress statuses of items stored before audiences existed. `publish` is missing on
# purpose: a password-protected post was stored as `publish` without its password, so a
# stored `publish` cannot prove the post was public.
_WORDPRESS_STATUS: Final = {
    "private": PRIVATE,
    "draft": DRAFT,
    "pending": DRAFT,
    "future": DRAFT,
}


def normalize_audience(value: str) -> str:
    """One audience of the vocabulary (case and spaces ignored); anything else is refused."""
    audience = str(value).strip().lower()
    if audience not in AUDIENCES:
        raise InvalidParameter(
            N_("unknown audience {value!r}; use one of {known}"),
            value=str(value)[:30],
            known=", ".join(AUDIENCES),
        )
    return audience


def normalize_audiences(values: Iterable[str]) -> tuple[str, ...]:
    """Several audiences, each checked, once each, in the vocabulary's order."""
    found = {normalize_audience(v) for v in values}
    return tuple(a for a in AUDIENCES if a in found)


def stored_audience(record: Mapping[str, Any]) -> str:
    """The audience of a stored item record: its own field, or for a record written before
    audiences existed what its source metadata shows (WordPress status, front matter `draft`
    or `audience`), else `private`: an audience nobody recorded is never taken as public."""
    recorded = record.get("audience")
    if isinstance(recorded, str) and recorded in AUDIENCES:
        return recorded
    extra = record.get("extra")
    extra = extra if isinstance(extra, Mapping) else {}
    source = record.get("source")
    if source == "wordpress":
        return _WORDPRESS_STATUS.get(str(extra.get("status", "")), PRIVATE)
    if source == "markdown" or source is None:
        try:
            return front_matter_audience(extra) or PRIVATE
        except InvalidParameter:
            return PRIVATE
    return PRIVATE


def front_matter_audience(fm: Mapping[str, Any]) -> str | None:
    """The audience front matter states: an `audience:` key, else `draft: true` (Jekyll,
    Hugo) for a draft; None when it states none (`draft: false` alone does not make a text
    public). An unknown `audience` value is refused."""
    named = fm.get("audience")
    if named not in (None, ""):
        return normalize_audience(str(named))
    if fm.get("draft") is True:
        return DRAFT
    return None
