"""Apple Health's `<Me>` element: the profile characteristics export.xml states about its
person, read into a `HealthProfile` (attribute keys and values people read).

Apple writes each characteristic as an attribute named after its HealthKit identifier, its
value the name of an enumeration case (`HKBloodTypeAPositive`) or a date; `...NotSet` or an
empty value says nothing and is left out. Only the characteristics below are read: an
attribute of another name is counted by the importer, never copied as it is.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from vault.data.model import HealthProfile

_PREFIX: Final = "HKCharacteristicTypeIdentifier"
BIRTH_DATE: Final = _PREFIX + "DateOfBirth"
_BLOOD: Final = {
    "HKBloodTypeAPositive": "A+",
    "HKBloodTypeANegative": "A-",
    "HKBloodTypeBPositive": "B+",
    "HKBloodTypeBNegative": "B-",
    "HKBloodTypeABPositive": "AB+",
    "HKBloodTypeABNegative": "AB-",
    "HKBloodTypeOPositive": "O+",
    "HKBloodTypeONegative": "O-",
}
_SEX: Final = {
    "HKBiologicalSexFemale": "female",
    "HKBiologicalSexMale": "male",
    "HKBiologicalSexOther": "other",
}
_SKIN: Final = {f"HKFitzpatrickSkinType{n}": n for n in ("I", "II", "III", "IV", "V", "VI")}
_WHEELCHAIR: Final = {"HKWheelchairUseNo": "no", "HKWheelchairUseYes": "yes"}
_MEDICATIONS: Final = {
    "None": "none",
    "HKCardioFitnessMedicationsUseNone": "none",
    "HKCardioFitnessMedicationsUseBetaBlocker": "beta blocker",
    "HKCardioFitnessMedicationsUseCalciumChannelBlocker": "calcium channel blocker",
}
# HealthKit identifier -> (the persona attribute's key, the values it can take)
CHARACTERISTICS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    _PREFIX + "BiologicalSex": ("biological_sex", _SEX),
    _PREFIX + "BloodType": ("blood_type", _BLOOD),
    _PREFIX + "FitzpatrickSkinType": ("skin_type", _SKIN),
    _PREFIX + "WheelchairUse": ("wheelchair_use", _WHEELCHAIR),
    _PREFIX + "CardioFitnessMedicationsUse": ("cardio_fitness_medications", _MEDICATIONS),
}


def read_me(attrs: dict[str, str]) -> tuple[HealthProfile | None, list[str]]:
    """The profile `<Me>` states (None when it states nothing), and the names of the
    attributes that could not be read (an unknown characteristic or value, a date that is
    not one), for the importer to count."""
    values: list[tuple[str, str]] = []
    unread: list[str] = []
    for name, raw in attrs.items():
        text = raw.strip()
        if not text or text.endswith("NotSet"):
            continue
        if name == BIRTH_DATE:
            try:
                values.append(("birth_date", date.fromisoformat(text).isoformat()))
            except ValueError:
                unread.append(name)
            continue
        known = CHARACTERISTICS.get(name)
        value = known[1].get(text) if known is not None else None
        if known is None or value is None:
            unread.append(name[:60])
            continue
        values.append((known[0], value))
    return (HealthProfile(tuple(values), "Apple Health") if values else None), unread
