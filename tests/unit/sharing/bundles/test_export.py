"""Export and the recipient's side: exactly the scope leaves, refusals, dry-run, since-last,
atomic writes, streaming, and every way a bundle can be wrong (tampered anywhere, another
recipient, a wrong identity, truncated, traversal), with nothing written on any failure."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.builders import (
    HOURS,
    IN_DAYS,
    MARK,
    World,
    add_audience_posts,
    bundle_members,
    encrypt_to,
    make_grant,
    tar_of,
)
from vault import content
from vault import sharing as consent
from vault.core import crypto, minisign
from vault.core.errors import (
    BadSignature,
    GrantExpired,
    GrantWithdrawn,
    InvalidParameter,
    MalformedInput,
    NotForThisIdentity,
    NothingInScope,
    TamperedBundle,
    TruncatedBundle,
    UnsafeArchive,
)
from vault.core.vault import Vault
from vault.sharing import ScopeRequest, ledger
from vault.sharing import bundles as bundle
from vault.sharing.bundles import export as bundle_export

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _export(vault: Vault, grant: consent.Grant, path: Path, **kw: object) -> bundle.BundleResult:
    return bundle.export_bundle(vault, grant.id, path, now=NOW, **kw)  # type: ignore[arg-type]


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


# --- exactly the scope leaves -------------------------------------------------------------------


def test_bundle_holds_exactly_what_is_inside_every_dimension(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    add_audience_posts(fresh_vault, world)  # a grant naming no audience: public only
    g = make_grant(fresh_vault, world)
    result = _export(fresh_vault, g, tmp_path / "b.age")
    files = bundle_members(tmp_path / "b.age", world.identity)
    slug = f"inside-post-{world.items['in'].id[:8]}"
    expected = {
        "README.md",
        "receipt.json",
        "receipt.json.minisig",
        "data/identity.vcf",
        "manifest.json",
        "manifest.json.minisig",
        f"data/content/{slug}.md",
    }
    # steps (named) and body_mass (in pd:PhysicalCharacteristic); not heart_rate.
    for metric in ("steps", "body_mass"):
        expected |= {f"data/qs/{metric}.{ext}" for ext in ("fhir.json", "omh.json", "csv")}
    assert set(files) == expected
    # Time: only the samples from 10 to 19 October, all of them.
    instants = {f"{d}T{h:02d}:00:00+00:00" for d in IN_DAYS for h in HOURS}
    for metric in ("steps", "body_mass"):
        rows = _csv_rows(files[f"data/qs/{metric}.csv"])
        assert {r["start"] for r in rows} == instants
        assert len(rows) == len(instants)
        fhir = json.loads(files[f"data/qs/{metric}.fhir.json"])
        assert len(fhir["entry"]) == len(instants)
        assert len(json.loads(files[f"data/qs/{metric}.omh.json"])) == len(instants)
    # Persona: the other persona's steps (values from 5000) never leave.
    assert all(float(r["value"]) < 5000 for r in _csv_rows(files["data/qs/steps.csv"]))
    # Content: only the post tagged blog, of this persona, inside the range.
    everything = b"".join(files.values())
    assert f"{MARK}Inside-post".encode() in files[f"data/content/{slug}.md"]
    for leak in ("A-note", "Private-post", "Old-post", "Other-post"):
        assert f"{MARK}{leak}".encode() not in everything
    assert b"audience-post" not in everything
    assert b"audience: public" in files[f"data/content/{slug}.md"]
    # Attributes: email and age_over:18 only; nothing else about the persona.
    card = files["data/identity.vcf"].decode()
    assert "ada@example.org" in card and 'X-KEY="age_over:18":true' in card
    for leak in ("+33123456789", "1990", "Ada", "Lovelace", "Paris", "Pro self"):
        assert leak not in card
    for leak in (world.persona.id, world.persona.uid, world.persona.name):
        assert leak.encode() not in everything
    assert result.manifest["counts"]["metrics"] == {"body_mass": 40, "steps": 40}
    assert result.manifest["counts"]["content_items"] == 1


@pytest.mark.parametrize(
    "granted",
    [
        ("public",),
        ("public", "unlisted"),
        ("followers", "direct"),
        ("private", "draft"),
        content.AUDIENCES,
    ],
)
def test_only_the_granted_audiences_leave(
    fresh_vault: Vault, world: World, tmp_path: Path, granted: tuple[str, ...]
) -> None:
    posts = {"public": world.items["in"], **add_audience_posts(fresh_vault, world)}
    scope = ScopeRequest(content_kinds="post", content_tags="blog", content_audiences=granted)
    g = make_grant(fresh_vault, world, scope=scope)
    assert g.scope.content_audiences == granted
    plan = bundle.prepare(fresh_vault, g.id, now=NOW).as_dict()
    listed = {(c["id"], c["audience"]) for c in plan["content"]}
    assert listed == {(posts[a].id, a) for a in granted}
    _export(fresh_vault, g, tmp_path / "b.age")
    files = bundle_members(tmp_path / "b.age", world.identity)
    everything = b"".join(files.values())
    for audience, item in posts.items():
        marker = f"{MARK}{item.title.replace(' ', '-')}".encode()
        assert (marker in everything) == (audience in granted), audience


def test_day_granularity_sends_daily_aggregates_only(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    g = make_grant(
        fresh_vault, world, scope=ScopeRequest(metrics="steps,heart_rate"), granularity="day"
    )
    _export(fresh_vault, g, tmp_path / "b.age")
    files = bundle_members(tmp_path / "b.age", world.identity)
    steps = _csv_rows(files["data/qs/steps.csv"])
    assert list(steps[0]) == ["start", "end", "metric", "count", "sum", "min", "avg", "max", "unit"]
    assert [r["start"][:10] for r in steps] == IN_DAYS
    # Sum for counts: 100+106+112+118 each day; min/avg/max for rates.
    assert {float(r["sum"]) for r in steps} == {436.0}
    hr = _csv_rows(files["data/qs/heart_rate.csv"])
    assert {(float(r["min"]), float(r["avg"]), float(r["max"])) for r in hr} == {(60, 69, 78)}
    assert len(json.loads(files["data/qs/steps.fhir.json"])["entry"]) == len(IN_DAYS)
    raw_instant = "T06:00:00"
    assert raw_instant.encode() not in files["data/qs/steps.csv"]


def test_rolling_day_range_sends_only_whole_days(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    rng = consent.TimeRange.build(last="7d")
    g = make_grant(
        fresh_vault, world, scope=ScopeRequest(metrics="steps"), granularity="day", time_range=rng
    )
    now = datetime(2026, 10, 20, 15, 30, tzinfo=UTC)
    plan = bundle.prepare(fresh_vault, g.id, now=now)
    (sel,) = plan.metrics
    # 13 Oct 15:30 to 20 Oct 15:30: whole days 14..19 only.
    assert sel.count == 6
    assert plan.as_dict()["time_range"] == {
        "from": "2026-10-14T00:00:00Z",
        "to": "2026-10-20T00:00:00Z",
    }


def test_dry_run_lists_exactly_what_leaves_and_writes_nothing(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    g = make_grant(
        fresh_vault, world, scope=ScopeRequest(metrics="steps", attributes="email,phone.work")
    )
    before = fresh_vault.store.state().writes
    plan = bundle.prepare(fresh_vault, g.id, now=NOW).as_dict()
    assert fresh_vault.store.state().writes == before
    assert [(m["metric"], m["count"]) for m in plan["metrics"]] == [("steps", 40)]
    assert plan["metrics"][0]["first"] == "2026-10-10T00:00:00Z"
    assert plan["metrics"][0]["last"] == "2026-10-19T18:00:00Z"
    assert plan["attributes"] == ["email"] and plan["missing_attributes"] == ["phone.work"]
    assert plan["content"] == []
    result = _export(fresh_vault, g, tmp_path / "b.age")
    assert result.manifest["counts"]["metrics"] == {"steps": 40}
    assert ledger.bundles_for_grant(fresh_vault, g.id)[0].bundle_id == result.bundle_id


# --- refusals -----------------------------------------------------------------------------------


def test_refusals_say_which_and_write_nothing(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "b.age"
    g = make_grant(fresh_vault, world, valid_until="2030-01-01")
    with pytest.raises(GrantExpired, match="expired"):
        bundle.export_bundle(fresh_vault, g.id, out, now=datetime(2031, 1, 1, tzinfo=UTC))
    w = make_grant(fresh_vault, world)
    consent.set_grant_status(fresh_vault, w.id, "withdrawn")
    with pytest.raises(GrantWithdrawn, match="withdrawn"):
        _export(fresh_vault, w, out)
    empty = make_grant(
        fresh_vault,
        world,
        scope=ScopeRequest(metrics="steps", attributes="nickname"),
        time_range=consent.TimeRange.build("2020-01-01", "2020-12-31"),
    )
    with pytest.raises(NothingInScope, match=r"selects no data.*no value for nickname"):
        _export(fresh_vault, empty, out)
    assert not out.exists() and list(tmp_path.glob(".b.age*")) == []
    assert ledger.all_bundles(fresh_vault) == []
    for error in (GrantExpired, GrantWithdrawn, NothingInScope):
        assert error.exit_code == 6


def test_since_last_sends_only_what_is_new(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    rng = consent.TimeRange.build("2026-10-10", "2026-12-31")
    g = make_grant(
        fresh_vault, world, scope=ScopeRequest(metrics="steps", content_tags="blog"), time_range=rng
    )
    first = _export(fresh_vault, g, tmp_path / "1.age", since_last=True)
    assert first.manifest["previous_bundle"] is None
    with pytest.raises(NothingInScope, match=f"nothing new since bundle {first.bundle_id}"):
        _export(fresh_vault, g, tmp_path / "2.age", since_last=True)
    from vault.data.csvfmt import import_csv_text

    import_csv_text(
        fresh_vault,
        world.persona.id,
        "start,end,metric,value,unit,source\n2026-11-02T10:00:00Z,2026-11-02T10:30:00Z,steps,42,count,Watch\n",
    )
    new = content.add(
        fresh_vault,
        io.BytesIO(b"new post"),
        content.ItemMeta(
            title="New post",
            kind="post",
            tags=("blog",),
            created="2026-11-03T08:00:00Z",
            audience="public",
        ),
        persona=world.persona.id,
    )
    second = _export(fresh_vault, g, tmp_path / "2.age", since_last=True)
    assert second.manifest["previous_bundle"] == first.bundle_id
    assert second.manifest["counts"]["metrics"] == {"steps": 1}
    files = bundle_members(tmp_path / "2.age", world.identity)
    assert [p for p in files if p.startswith("data/content/")] == [
        f"data/content/new-post-{new.id[:8]}.md"
    ]
    assert len(_csv_rows(files["data/qs/steps.csv"])) == 1
    # Without --since-last everything in scope leaves again.
    full = _export(fresh_vault, g, tmp_path / "3.age")
    assert full.manifest["counts"]["metrics"] == {"steps": 22 * 4 + 1}


# --- writing ------------------------------------------------------------------------------------


def test_a_failure_mid_export_leaves_no_file_and_no_ledger_entry(
    fresh_vault: Vault, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = make_grant(fresh_vault, world)

    def broken(*args: object, **kw: object) -> int:
        raise InvalidParameter("simulated failure while writing the CSV")

    monkeypatch.setattr(bundle_export.qs_export, "export_csv", broken)
    monkeypatch.setattr(bundle_export.qs_export, "csv_document", broken)  # raw granularity
    with pytest.raises(InvalidParameter, match="simulated failure"):
        _export(fresh_vault, g, tmp_path / "b.age")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipient.key", "vault"]
    assert ledger.all_bundles(fresh_vault) == []


def test_a_failure_to_write_the_file_leaves_no_file_and_no_ledger_entry(
    fresh_vault: Vault, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output is written on a second thread: what fails there fails the export."""
    g = make_grant(fresh_vault, world)

    def full(self: object, n: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle_export.writeback.Writeback, "wrote", full)
    with pytest.raises(OSError, match="No space left"):
        _export(fresh_vault, g, tmp_path / "b.age")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipient.key", "vault"]
    assert ledger.all_bundles(fresh_vault) == []


def test_output_file_holds_only_ciphertext_and_matches_the_ledger(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    g = make_grant(fresh_vault, world)
    result = _export(fresh_vault, g, tmp_path / "b.age")
    raw = (tmp_path / "b.age").read_bytes()
    assert raw.startswith(b"age-encryption.org/v1\n")
    assert MARK.encode() not in raw and b"ada@example.org" not in raw
    assert hashlib.sha256(raw).hexdigest() == result.sha256 and len(raw) == result.size
    (entry,) = ledger.bundles_for_grant(fresh_vault, g.id)
    assert (entry.sha256, entry.size, entry.status) == (result.sha256, result.size, "complete")
    actions = [e.action for e in fresh_vault.audit_log()]
    assert actions[-1] == "bundle.export"


def test_export_streams_to_a_binary_stream(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    g = make_grant(fresh_vault, world)
    sink = io.BytesIO()
    result = bundle.export_bundle(fresh_vault, g.id, sink, now=NOW)
    assert result.path is None and hashlib.sha256(sink.getvalue()).hexdigest() == result.sha256
    (tmp_path / "s.age").write_bytes(sink.getvalue())
    verified = bundle.verify_bundle(tmp_path / "s.age", [world.identity], now=NOW)
    assert verified.bundle_id == result.bundle_id


def test_an_interrupted_stream_is_recorded_as_such(fresh_vault: Vault, world: World) -> None:
    g = make_grant(fresh_vault, world)

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.n = 0

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.n += len(b)
            if self.n > 70_000:
                raise BrokenPipeError("reader went away")
            return len(b)

    with pytest.raises(BrokenPipeError):
        bundle.export_bundle(fresh_vault, g.id, Pipe(), now=NOW)  # type: ignore[arg-type]
    (entry,) = ledger.bundles_for_grant(fresh_vault, g.id)
    assert entry.status == "interrupted"


def test_media_and_non_text_items_travel_next_to_their_markdown(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    meta = content.ItemMeta(
        title="Sunset",
        kind="photo",
        tags=("blog",),
        created="2026-10-15T19:00:00Z",
        media_type="image/png",
        filename="../../sunset.png",
        audience="public",
    )
    photo = content.add(fresh_vault, io.BytesIO(png), meta, persona=world.persona.id)
    g = make_grant(fresh_vault, world, scope=ScopeRequest(content_ids=photo.id))
    bundle.export_bundle(fresh_vault, g.id, tmp_path / "b.age", now=NOW)
    out = tmp_path / "opened"
    bundle.open_bundle(tmp_path / "b.age", [world.identity], out, now=NOW)
    slug = f"sunset-{photo.id[:8]}"
    assert (out / "data" / "content" / slug / "sunset.png").read_bytes() == png
    md = (out / "data" / "content" / f"{slug}.md").read_text()
    assert f"path: {slug}/sunset.png" in md and "kind: photo" in md


# --- recipient side -----------------------------------------------------------------------------


@pytest.fixture
def exported(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> tuple[Path, World, bundle.BundleResult]:
    g = make_grant(fresh_vault, world)
    result = _export(fresh_vault, g, tmp_path / "b.age")
    return tmp_path / "b.age", world, result


def test_open_writes_verified_files_and_reports_the_receipt(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    path, world, result = exported
    out = tmp_path / "opened"
    vb = bundle.open_bundle(path, [world.identity], out, now=NOW)
    d = vb.as_dict()
    assert d["id"] == result.bundle_id and not d["expired"]
    assert d["receipt"]["controller"] == "Health Lab"
    assert d["receipt"]["compensation"] == "a free annual check-up"
    manifest = json.loads((out / "manifest.json").read_text())
    for f in manifest["files"]:
        data = (out / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["size"]
    assert list(tmp_path.glob(".opened*")) == []
    later = bundle.verify_bundle(path, [world.identity], now=datetime(2100, 1, 2, tzinfo=UTC))
    assert later.expired


def test_open_refuses_a_non_empty_target(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    path, world, _ = exported
    target = tmp_path / "busy"
    target.mkdir()
    (target / "x").write_text("mine")
    with pytest.raises(InvalidParameter, match="not an empty directory"):
        bundle.open_bundle(path, [world.identity], target)
    assert [p.name for p in target.iterdir()] == ["x"]


def _refused(path: Path, identity: str, error: type[Exception], tmp: Path, **kw: object) -> None:
    """Both verify and open must refuse, and open must leave nothing behind."""
    with pytest.raises(error):
        bundle.verify_bundle(path, [identity], now=NOW, **kw)  # type: ignore[arg-type]
    before = sorted(p.name for p in tmp.iterdir())
    with pytest.raises(error):
        bundle.open_bundle(path, [identity], tmp / "out", now=NOW, **kw)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp.iterdir()) == before


def test_wrong_identity(exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path) -> None:
    path, _, _ = exported
    other, _ = crypto.age_keygen()
    _refused(path, other, NotForThisIdentity, tmp_path)


def test_truncated_bundles(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    path, world, _ = exported
    raw = path.read_bytes()
    for n, error in (
        (len(raw) - 1, TruncatedBundle),
        (len(raw) // 2, TruncatedBundle),
        (40, TruncatedBundle),
        (0, TruncatedBundle),
    ):
        cut = tmp_path / f"cut{n}.age"
        cut.write_bytes(raw[:n])
        _refused(cut, world.identity, error, tmp_path)


def test_tampering_anywhere_in_the_age_file(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    path, world, _ = exported
    raw = path.read_bytes()
    header_end = raw.index(b"\n---") + 4
    for offset in (25, header_end + 5, header_end + 60, len(raw) // 2, len(raw) - 5):
        bad = bytearray(raw)
        bad[offset] ^= 0x01
        target = tmp_path / f"flip{offset}.age"
        target.write_bytes(bytes(bad))
        with pytest.raises((TamperedBundle, TruncatedBundle, NotForThisIdentity)):
            bundle.verify_bundle(target, [world.identity])
        with pytest.raises((TamperedBundle, TruncatedBundle, NotForThisIdentity)):
            bundle.open_bundle(target, [world.identity], tmp_path / "out")
        assert not (tmp_path / "out").exists()
    # A flip in the middle of a multi-chunk payload names tampering, not truncation.
    bad = bytearray(raw)
    bad[header_end + 100] ^= 0x01
    (tmp_path / "mid.age").write_bytes(bytes(bad))
    _refused(tmp_path / "mid.age", world.identity, TamperedBundle, tmp_path)


def _rebuild(
    path: Path,
    world: World,
    change: dict[str, bytes | None],
    tmp: Path,
    recipient: str | None = None,
) -> Path:
    """Decrypt, alter members (None removes one), re-tar and re-encrypt: what an attacker
    who knows the recipient's public key can do without the persona's pairwise key."""
    files = bundle_members(path, world.identity)
    for name, data in change.items():
        if data is None:
            files.pop(name, None)
        else:
            files[name] = data
    return encrypt_to(tar_of(files), recipient or world.recipient.age_key, tmp / "forged.age")


def test_forged_contents_are_caught_by_hashes_and_signatures(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    path, world, _result = exported
    files = bundle_members(path, world.identity)
    cases: list[tuple[dict[str, bytes | None], type[Exception]]] = [
        ({"data/qs/steps.csv": files["data/qs/steps.csv"] + b"x"}, TamperedBundle),
        ({"data/extra.txt": b"smuggled"}, TamperedBundle),
        ({"data/identity.vcf": None}, TamperedBundle),
        (
            {"manifest.json": files["manifest.json"].replace(b'"steps": 40', b'"steps": 41')},
            BadSignature,
        ),
        ({"manifest.json.minisig": None}, TamperedBundle),
        ({"receipt.json": files["receipt.json"].replace(b"P1Y", b"P9Y")}, TamperedBundle),
    ]
    for change, error in cases:
        forged = _rebuild(path, world, change, tmp_path)
        _refused(forged, world.identity, error, tmp_path)
        forged.unlink()


def test_a_forwarded_bundle_is_evident(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    path, world, _ = exported
    third_secret, third_public = crypto.age_keygen()
    forwarded = _rebuild(path, world, {}, tmp_path, recipient=third_public)
    _refused(forwarded, third_secret, NotForThisIdentity, tmp_path)


def test_a_pinned_key_must_match(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    path, world, result = exported
    key = result.manifest["persona_minisign_key"]
    assert bundle.verify_bundle(path, [world.identity], expect_key=key).persona_key == key
    stranger = minisign.public_key_line(crypto.ed25519_public_key(crypto.signing_seed()))
    _refused(path, world.identity, BadSignature, tmp_path, expect_key=stranger)


def test_traversal_and_links_in_the_tar_are_refused(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    _path, world, _ = exported
    for name, kind in (
        ("../evil.txt", tarfile.REGTYPE),
        ("/etc/evil", tarfile.REGTYPE),
        ("data/link", tarfile.SYMTYPE),
    ):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            ok = tarfile.TarInfo("README.md")
            ok.size = 2
            tar.addfile(ok, io.BytesIO(b"hi"))
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            else:
                info.size = 4
            tar.addfile(info, io.BytesIO(b"evil") if kind == tarfile.REGTYPE else None)
        evil = encrypt_to(buf.getvalue(), world.recipient.age_key, tmp_path / "evil.age")
        _refused(evil, world.identity, UnsafeArchive, tmp_path)
        assert not (tmp_path.parent / "evil.txt").exists()


def test_not_an_age_file(world: World, tmp_path: Path) -> None:
    junk = tmp_path / "junk.age"
    junk.write_bytes(b"PK\x03\x04 definitely a zip")
    _refused(junk, world.identity, MalformedInput, tmp_path)


# --- interop with the age and minisign tools ------------------------------------------------


@pytest.mark.interop
def test_age_tool_decrypts_and_minisign_tool_verifies(
    exported: tuple[Path, World, bundle.BundleResult], tmp_path: Path
) -> None:
    path, world, result = exported
    done = subprocess.run(
        ["age", "-d", "-i", str(world.identity_file), str(path)], capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "x"
    out.mkdir()
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        tar.extractall(out, filter="data")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["bundle_id"] == result.bundle_id
    check = subprocess.run(
        ["minisign", "-Vm", str(out / "manifest.json"), "-P", manifest["persona_minisign_key"]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert f"coffre bundle {result.bundle_id} for {world.recipient.fingerprint}" in check.stdout
    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    fp = subprocess.run(
        ["sha256sum"], input=world.recipient.age_key.encode(), capture_output=True, check=True
    )
    assert fp.stdout.split()[0].decode() == manifest["recipient_fingerprint"]


@pytest.mark.interop
def test_a_bundle_encrypted_by_the_age_tool_opens(world: World, tmp_path: Path) -> None:
    done = subprocess.run(
        ["age", "-r", world.recipient.age_key],
        input=tar_of({"README.md": b"hello\n"}),
        capture_output=True,
        check=True,
    )
    (tmp_path / "t.age").write_bytes(done.stdout)
    # Decrypts and parses; refused only because it carries no signed manifest.
    with pytest.raises(TamperedBundle, match=r"manifest\.json is missing"):
        bundle.verify_bundle(tmp_path / "t.age", [world.identity])
