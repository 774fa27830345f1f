"""The architecture as written down holds: docs/architecture.md lists every package and module
that exists (and none that does not), and the front ends only parse, call and render."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
# A module or package named in the doc: `vault/core/store.py`, `tui/screens/`.
NAMED = re.compile(r"`((?:vault|tui)/(?:[\w/]*?(?:\.py|/))?)`")


def _tree() -> set[str]:
    """Every module (`x/y.py`) and package (`x/y/`) of the code, as the doc spells them."""
    found: set[str] = set()
    for top in ("vault", "tui"):
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if "__pycache__" in rel.parts:
                continue
            if path.name == "__init__.py":
                found.add(rel.parent.as_posix() + "/")
            else:
                found.add(rel.as_posix())
    return found


def test_the_architecture_doc_lists_every_module_and_nothing_else() -> None:
    named = set(NAMED.findall(DOC.read_text("utf-8")))
    tree = _tree()
    assert not sorted(tree - named), "modules missing from docs/architecture.md"
    assert not sorted(named - tree), "docs/architecture.md names modules that do not exist"


FRONT_ENDS = sorted([*(ROOT / "vault" / "cli").rglob("*.py"), *(ROOT / "tui").rglob("*.py")])


def _store_or_transaction_uses(tree: ast.AST) -> list[str]:
    """Reaching the store, opening a transaction or writing an audit entry: what a front end
    must leave to the library's use-case functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "store":
            found.append(f"line {node.lineno}: .store")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name == "audit" or (name == "write" and not node.args and not node.keywords):
                found.append(f"line {node.lineno}: .{name}()")
    return found


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_front_ends_never_touch_the_store_a_transaction_or_the_audit_log(path: Path) -> None:
    assert _store_or_transaction_uses(ast.parse(path.read_text("utf-8"))) == []


def test_the_check_sees_what_it_forbids() -> None:
    code = "with v.store.write() as txn:\n    txn.audit('x')\n"
    assert len(_store_or_transaction_uses(ast.parse(code))) == 3
