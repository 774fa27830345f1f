"""A grant's purpose and jurisdiction against their lists (`vault.sharing.terms`)."""

from __future__ import annotations

import pytest

from vault.core.errors import InvalidParameter
from vault.sharing.dpv_purposes import DPV_PURPOSES
from vault.sharing.terms import check_jurisdiction, check_purpose


def test_every_dpv_purpose_is_accepted_in_its_canonical_form() -> None:
    for name in DPV_PURPOSES:
        assert check_purpose(f"dpv:{name}") == f"dpv:{name}"
        assert check_purpose(name.lower()) == f"dpv:{name}"
        assert check_purpose(f"  DPV:{name.upper()} ") == f"dpv:{name}"


def test_the_list_is_the_dpv_purposes_not_the_top_concept() -> None:
    assert {"ServiceProvision", "AcademicResearch", "Marketing"} <= DPV_PURPOSES
    assert "Purpose" not in DPV_PURPOSES
    assert all(name[:1].isupper() and name.isalnum() for name in DPV_PURPOSES)


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("dpv:MadeUpPurpose", "for example dpv:ServiceProvision"),
        ("dpv:Marketting", "did you mean dpv:Marketing"),
        ("dpv:ServiceProvison", "did you mean dpv:ServiceProvision"),
        ("svpu:Marketing", "not a DPV purpose"),
        ("", "not a DPV purpose"),
    ],
)
def test_other_purposes_are_refused_with_a_hint(given: str, hint: str) -> None:
    with pytest.raises(InvalidParameter, match="purpose") as caught:
        check_purpose(given)
    assert hint in str(caught.value)


@pytest.mark.parametrize(
    ("given", "kept"),
    [("EU", "EU"), ("fr", "FR"), ("DE", "DE"), ("us-ca", "US-CA"), ("FR-75C", "FR-75C")],
)
def test_iso_codes_and_the_eu_are_accepted(given: str, kept: str) -> None:
    assert check_jurisdiction(given) == kept


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("Narnia", "use a code such as EU, FR, DE or US-CA"),
        ("FRA", "did you mean FR (France)"),
        ("France", "FR (France)"),
        ("Germny", "DE (Germany)"),
        ("XX", "use a code"),
        ("US-XX", "use a code"),
        ("", "use a code"),
    ],
)
def test_other_jurisdictions_are_refused_with_a_hint(given: str, hint: str) -> None:
    with pytest.raises(InvalidParameter, match="jurisdiction") as caught:
        check_jurisdiction(given)
    assert hint in str(caught.value)
