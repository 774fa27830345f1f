"""The error hierarchy: `ALL_ERRORS` is found from the classes, parents first."""

from __future__ import annotations

from vault.core import errors


def test_all_errors_holds_every_class_once_parents_first() -> None:
    defined = {
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.VaultError)
    }
    assert len(errors.ALL_ERRORS) == len(defined) == len(set(errors.ALL_ERRORS))
    assert set(errors.ALL_ERRORS) == defined
    for i, cls in enumerate(errors.ALL_ERRORS):
        parents = [base for base in cls.__mro__[1:] if base in defined]
        assert all(errors.ALL_ERRORS.index(base) < i for base in parents), cls.__name__
