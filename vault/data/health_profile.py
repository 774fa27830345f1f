"""The profile characteristics an export states (a `HealthProfile`: birth date, blood
type...), kept as sensitive attributes of the persona an import goes to.

They say who the person is rather than what was measured, so they are not samples: as
attributes they are listed with the persona (`coffre persona show`), shared only under a
grant that names them (`birth_date`, `field.blood_type`; a grant can ask for an age band derived
from the birth date instead), left out of default exports as every sensitive attribute is,
and forgotten with the persona. An attribute the persona already has is never overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vault import personas as identities

if TYPE_CHECKING:
    from vault.core.vault import Vault
    from vault.data.model import HealthProfile


def apply(vault: Vault, persona_id: str, profile: HealthProfile) -> tuple[list[str], list[str]]:
    """Add PROFILE's characteristics the persona lacks, as sensitive attributes, in the
    current write transaction. Returns the keys added and those the persona already holds
    with another value (kept as they are: the person wrote them, or a newer import did)."""
    persona = identities.get_persona(vault, persona_id)
    attributes = list(persona.attributes)
    added: list[str] = []
    differing: list[str] = []
    for key, value in profile.values:
        new = identities.parse_attribute(key, value, sensitive=True)
        held = [a for a in attributes if identities.matches(a, key)]
        if not held:
            attributes.append(new)
            added.append(key)
        elif all(a.value != new.value for a in held):
            differing.append(key)
    if added:
        identities.update_persona(vault, persona.id, attributes=attributes)
    return added, differing
