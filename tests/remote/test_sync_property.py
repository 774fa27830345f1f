"""Two or three devices doing random things and syncing in random orders converge to the same
vault, and lose nothing that was acknowledged (only what a forget removed is gone)."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.builders import HOURS, _csv
from tests.conftest import PASSPHRASE
from tests.remote.conftest import BUCKET
from vault import content, forget, remote
from vault import personas as identities
from vault import sharing as consent
from vault.core import crypto
from vault.core.vault import Vault
from vault.data.csvfmt import import_csv_text
from vault.data.query import samples
from vault.remote.remotes import replica_digest
from vault.remote.s3 import S3Location
from vault.sharing import revocation

DAYS = ["2026-10-01", "2026-10-02"]

op = st.one_of(
    st.tuples(st.just("note"), st.integers(0, 2)),
    st.tuples(st.just("import"), st.integers(0, 2), st.sampled_from(DAYS), st.integers(0, 3)),
    st.tuples(st.just("edit"), st.integers(0, 2), st.integers(0, 9)),
    st.tuples(st.just("rename"), st.integers(0, 2), st.sampled_from(["Ana", "Bea", "Cy"])),
    st.tuples(st.just("forget"), st.integers(0, 2), st.integers(0, 9)),
    st.tuples(st.just("grant"), st.integers(0, 2)),
    st.tuples(st.just("withdraw"), st.integers(0, 2), st.integers(0, 9)),
    st.tuples(st.just("sync"), st.integers(0, 2)),
)


_examples = itertools.count()


@pytest.fixture(params=["folder", "s3"])
def engine(request: pytest.FixtureRequest) -> Callable[[Path], tuple[str, dict[str, Any] | None]]:
    """Where each example's remote is: a new folder, or a new prefix on the real S3 server."""
    if request.param == "folder":

        def folder(base: Path) -> tuple[str, dict[str, Any] | None]:
            (base / "remote").mkdir()
            return (base / "remote").as_uri(), None

        return folder
    server = request.getfixturevalue("s3_server")
    keys = request.getfixturevalue("s3_keys").to_dict()

    def bucket(_base: Path) -> tuple[str, dict[str, Any] | None]:
        prefix = f"property-{os.getpid()}-{next(_examples)}"
        return S3Location(BUCKET, prefix, server.endpoint).url(), keys

    return bucket


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(devices=st.integers(2, 3), ops=st.lists(op, min_size=4, max_size=14))
# Found by hand: a day folded away on one device while another added samples to it.
@example(
    devices=3,
    ops=[
        ("edit", 2, 8),
        ("import", 1, "2026-10-01", 1),
        ("withdraw", 2, 3),
        ("sync", 0),
        ("grant", 1),
        ("grant", 0),
        ("sync", 1),
        ("import", 0, "2026-10-01", 0),
        ("import", 1, "2026-10-01", 3),
        ("note", 2),
    ],
)
def test_devices_converge_and_lose_nothing_acknowledged(
    tmp_path_factory: object,
    engine: Callable[[Path], tuple[str, dict[str, Any] | None]],
    devices: int,
    ops: list[tuple[object, ...]],
) -> None:
    base = tmp_path_factory.mktemp("p")  # type: ignore[attr-defined]
    url, credentials = engine(base)
    first = Vault.create(base / "d0", PASSPHRASE, kdf="minimum")
    remote.add_remote(first, "r", url, credentials=credentials)
    persona = identities.add_persona(first, "Me", []).id
    _secret, public = crypto.age_keygen()
    lab = consent.add_recipient(first, "Lab", public)
    remote.sync(first)
    vaults = [first] + [
        remote.clone(url, base / f"d{i}", PASSPHRASE, name="r", credentials=credentials)[0]
        for i in range(1, devices)
    ]
    notes: dict[str, str] = {}  # title -> item id, of every note added and not forgotten
    edits: dict[str, int] = {}  # item id -> versions made on its device(s)
    forgotten: set[str] = set()
    readings: set[float] = set()
    grants: dict[str, bool] = {}  # grant id -> withdrawn
    try:
        for step, (kind, who, *args) in enumerate(ops):
            v = vaults[int(who) % devices]  # type: ignore[call-overload]
            known = [i.id for i in content.list_items(v)]
            if kind == "note":
                title = f"note {step}"
                item = content.add(v, io.BytesIO(title.encode()), content.ItemMeta(title=title),
                                   persona=persona)  # fmt: skip
                notes[title] = item.id
            elif kind == "import":
                day, offset = str(args[0]), int(args[1])  # type: ignore[call-overload]
                import_csv_text(v, persona, _csv("heart_rate", "/min", 60 + 10 * offset, [day]))
                readings |= {60.0 + 10 * offset + h for h in HOURS}
            elif kind == "edit" and known:
                ref = known[int(args[0]) % len(known)]  # type: ignore[call-overload]
                content.edit(v, ref, body=io.BytesIO(f"edit {step}".encode()))
                edits[ref] = edits.get(ref, 1) + 1
            elif kind == "rename":
                identities.update_persona(v, persona, name=str(args[0]))
            elif kind == "forget" and known:
                ref = known[int(args[0]) % len(known)]  # type: ignore[call-overload]
                forget.forget(v, forget.Target.of_content(ref))
                forgotten.add(ref)
            elif kind == "grant":
                grant = consent.create_grant(
                    v,
                    recipient=lab.name,
                    persona=persona,
                    scope=consent.ScopeRequest(metrics="heart_rate"),
                    purpose="dpv:AcademicResearch",
                    valid_until="2099-12-31",
                )
                grants[grant.id] = False
            elif kind == "withdraw":
                mine = sorted(g.id for g in consent.list_grants(v) if g.id in grants)
                if mine:
                    gid = mine[int(args[0]) % len(mine)]  # type: ignore[call-overload]
                    if not grants[gid]:
                        revocation.revoke(v, gid)
                        grants[gid] = True
            elif kind == "sync":
                remote.sync(v)
        for _ in range(3):
            for v in vaults:
                remote.sync(v)
        digests = {replica_digest(v) for v in vaults}
        assert len(digests) == 1
        for v in vaults:
            ids = {i.id for i in content.list_items(v)}
            assert ids == set(notes.values()) - forgotten
            for ref, made in edits.items():
                if ref not in forgotten:
                    assert len(content.versions(v, ref)) >= made
            assert {s.value for s in samples(v, persona, "heart_rate")} == readings
            assert all(d["pending_forgets"] == 0 for d in remote.devices(v))
            held = {g.id: g.status == consent.grants.WITHDRAWN for g in consent.list_grants(v)}
            assert held == grants  # every grant made anywhere, withdrawn where it was
    finally:
        for v in vaults:
            v.close()
