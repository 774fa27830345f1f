"""The recipient's side: decrypt a bundle, check every hash and both signatures, and only
then write its files. A platform needs nothing else (or the `age` and `minisign` tools).

Verification reads the age file once, streaming the authenticated plaintext through a tar
reader that hashes every member and refuses unsafe ones; nothing is written. Opening does
the same, then decrypts a second time into a private staging directory next to the target
(files 0600), checks every hash again and renames it into place: on any failure nothing is
left behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from vault.core import crypto, minisign, process
from vault.core.clock import SYSTEM_CLOCK
from vault.core.errors import (
    BadSignature,
    InvalidParameter,
    MalformedAgeKey,
    MalformedInput,
    NotForThisIdentity,
    TamperedBundle,
    TruncatedBundle,
    UnsafeArchive,
)
from vault.core.i18n import N_, Text
from vault.core.outputs import create_private, staging_directory
from vault.core.progress import Progress, ProgressCallback
from vault.sharing.bundles.export import FORMAT, MANIFEST, MANIFEST_SIG, RECEIPT, RECEIPT_SIG
from vault.sharing.bundles.tarstream import MemberSink, TarReader

AGE_MAGIC: Final = b"age-encryption.org/v1\n"
_KEPT: Final = frozenset({MANIFEST, MANIFEST_SIG, RECEIPT, RECEIPT_SIG})
_KEPT_LIMIT: Final = 64 * 1024 * 1024


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose every file and signature checked out."""

    bundle_id: str
    grant_id: str
    manifest: dict[str, Any]
    receipt: dict[str, Any]
    persona_key: str
    expired: bool
    files: int
    size: int

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `bundle verify|open --json`, in the command line's vocabulary:
        the manifest's `persona_id` is the pairwise pseudonym, named so as in `grant show`."""
        m = self.manifest
        return {
            "id": self.bundle_id,
            "grant": self.grant_id,
            "created": m.get("created"),
            "pseudonym": m.get("persona_id"),
            "persona_minisign_key": self.persona_key,
            "recipient_fingerprint": m.get("recipient_fingerprint"),
            "purpose": m.get("purpose"),
            "valid_until": m.get("valid_until"),
            "expired": self.expired,
            "previous_bundle": m.get("previous_bundle"),
            "counts": m.get("counts"),
            "files": self.files,
            "size": self.size,
            "receipt": {
                "id": m.get("receipt_id"),
                "controller": _controller(self.receipt.get("dataController")),
                "principal": self.receipt.get("piiPrincipalId"),
                "purposes": self.receipt.get("purposes"),
                "data_categories": self.receipt.get("personalDataCategories"),
                "time_range": self.receipt.get("timeRange"),
                "retention": self.receipt.get("retention"),
                "valid_until": self.receipt.get("validUntil"),
                "compensation": self.receipt.get("compensation"),
                "withdrawal": self.receipt.get("withdrawalMethod"),
            },
        }


def _controller(controller: Any) -> Any:
    """The controller's name, when the receipt names one the way the format says."""
    return controller.get("name") if isinstance(controller, dict) else None


class _Source(io.RawIOBase):
    """The age file, remembering whether its end was reached (truncation vs tampering)."""

    def __init__(self, handle: io.BufferedReader, progress: Progress) -> None:
        super().__init__()
        self._h = handle
        self._progress = progress
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._h.readinto(b)
        if not n:
            self.eof = True
        self._progress.advance(n)
        return n


class _Member:
    """Hashes one member; keeps the small documents the checks need; optionally writes."""

    def __init__(self, name: str, size: int, keep: bool, out: io.BufferedWriter | None) -> None:
        self.name, self.size = name, size
        self.digest = hashlib.sha256()
        self.kept = bytearray() if keep else None
        self.out = out
        self.done = False

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        if self.kept is not None:
            self.kept += data
        if self.out is not None:
            self.out.write(data)

    def close(self) -> None:
        self.done = True
        if self.out is not None:
            self.out.close()


class _Collector:
    """Opens a `_Member` per tar member, writing under `root` when one is given."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.members: dict[str, _Member] = {}

    def __call__(self, name: str, size: int) -> MemberSink:
        keep = name in _KEPT
        if keep and size > _KEPT_LIMIT:
            raise TamperedBundle(N_("{name} is implausibly large"), name=name)
        out = None
        if self.root is not None:
            # The staging directory is new and private: a member is a new 0600 file in it,
            # never one already there and never through a link.
            target = self.root / name
            try:
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                out = os.fdopen(create_private(target), "wb")
            except OSError:
                raise UnsafeArchive(
                    N_("{name} clashes with another member of the bundle"), name=name
                ) from None
        member = _Member(name, size, keep, out)
        self.members[name] = member
        return member


def _decrypt(
    path: Path,
    identities: Sequence[str],
    collector: _Collector,
    progress: ProgressCallback | None,
    stage: str,
) -> None:
    process.harden()  # the identity and the plaintext are in memory from here on
    reader = TarReader(path.name, collector)
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InvalidParameter(
            N_("cannot read {file} ({reason})"), file=path.name, reason=exc.strerror
        ) from None
    with handle:
        head = handle.peek(len(AGE_MAGIC))[: len(AGE_MAGIC)]
        if not head:
            raise TruncatedBundle(N_("{file} is empty"), file=path.name)
        if not AGE_MAGIC.startswith(head[: len(AGE_MAGIC)]) or (
            len(head) == len(AGE_MAGIC) and head != AGE_MAGIC
        ):
            raise MalformedInput(N_("{file} is not an age file"), file=path.name)
        prog = Progress(stage, progress, unit="bytes")
        prog.start(os.fstat(handle.fileno()).st_size)
        source = _Source(handle, prog)
        try:
            crypto.age_decrypt_stream(source, reader, identities)
        except crypto.AgeFailure as exc:
            if exc.reason == "identity":
                raise NotForThisIdentity(
                    N_(
                        "none of the identities given opens it (it was encrypted for another "
                        "recipient, or its header was damaged)"
                    )
                ) from None
            if source.eof:
                raise TruncatedBundle(
                    N_("{file} ends early (or its last block was modified)"), file=path.name
                ) from None
            where = "header" if exc.reason == "header" else "encrypted payload"
            raise TamperedBundle(
                N_("{file}: the age {where} does not authenticate"), file=path.name, where=where
            ) from None
        except crypto.CryptoFailure:
            raise MalformedAgeKey(N_("the identity is not a valid age X25519 identity")) from None
        prog.finish()
    reader.close()


def _kept(collector: _Collector, name: str) -> bytes:
    member = collector.members.get(name)
    if member is None or member.kept is None:
        raise TamperedBundle(N_("{name} is missing from the bundle"), name=name)
    return bytes(member.kept)


def _check(
    collector: _Collector,
    identities: Sequence[str],
    expect_key: str | None,
    now: datetime | None,
) -> VerifiedBundle:
    raw = _kept(collector, MANIFEST)
    signature = _kept(collector, MANIFEST_SIG)
    try:
        manifest = json.loads(raw)
        key = str(manifest["persona_minisign_key"])
        bundle_id = str(manifest["bundle_id"])
        files = list(manifest["files"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise TamperedBundle(N_("manifest.json is not a Coffre manifest")) from None
    if manifest.get("format") != FORMAT:
        raise TamperedBundle(N_("manifest.json is not in the {format} format"), format=FORMAT)
    if expect_key:
        pinned = minisign.parse_public_key(expect_key)
        if minisign.public_key_line(pinned.key, pinned.key_id) != key:
            raise BadSignature(N_("the manifest is signed by another key than the one expected"))
    trusted = minisign.verify(key, raw, signature)
    if bundle_id not in trusted:
        raise BadSignature(N_("the signature's trusted comment names another bundle"))
    mine = {
        hashlib.sha256(crypto.age_identity_public(i).encode("ascii")).hexdigest()
        for i in identities
    }
    if manifest.get("recipient_fingerprint") not in mine:
        raise NotForThisIdentity(
            N_("the signed manifest names another recipient (the bundle was forwarded)")
        )
    listed: dict[str, dict[str, Any]] = {}
    for f in files:
        try:
            listed[str(f["path"])] = f
        except (KeyError, TypeError):
            raise TamperedBundle(N_("manifest.json lists a file without a path")) from None
    present = set(collector.members) - {MANIFEST, MANIFEST_SIG}
    for name in sorted(present - set(listed)):
        raise TamperedBundle(
            N_("{name} is in the bundle but not in the signed manifest"), name=name
        )
    for name in sorted(set(listed) - present):
        raise TamperedBundle(N_("{name} is in the manifest but missing from the bundle"), name=name)
    size = 0
    for name, f in listed.items():
        member = collector.members[name]
        if member.digest.hexdigest() != f.get("sha256") or member.size != f.get("size"):
            raise TamperedBundle(N_("{name} does not match its SHA-256 in the manifest"), name=name)
        size += member.size
    receipt_raw = _kept(collector, RECEIPT)
    receipt_sig = _kept(collector, RECEIPT_SIG)
    try:
        receipt = json.loads(receipt_raw)
    except (ValueError, RecursionError):
        raise TamperedBundle(N_("receipt.json is not valid JSON")) from None
    if not isinstance(receipt, dict):
        raise TamperedBundle(N_("receipt.json is not a consent receipt (a JSON object)"))
    if receipt.get("publicKey") != key:
        raise BadSignature(N_("the receipt and the manifest are signed by different keys"))
    minisign.verify(key, receipt_raw, receipt_sig)
    if receipt.get("consentReceiptID") != manifest.get("receipt_id"):
        raise TamperedBundle(N_("the manifest names another receipt than the one included"))
    now = now or SYSTEM_CLOCK.now()  # the recipient's side: no vault, its own clock
    ends = (
        _instant(manifest.get("valid_until"), Text(N_("the manifest's valid_until"))),
        _instant(receipt.get("validUntil"), Text(N_("the receipt's validUntil"))),
    )
    expired = any(end is not None and end <= now for end in ends)
    return VerifiedBundle(
        bundle_id,
        str(manifest.get("grant_id", "")),
        manifest,
        receipt,
        key,
        expired,
        len(listed),
        size,
    )


def _instant(value: Any, what: str) -> datetime | None:
    """An expiry as Coffre writes it, a date and time with its offset (`...T23:59:59Z`), or
    None when there is none. A bare date or a time without an offset means no instant: it
    is refused rather than guessed."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise TamperedBundle(N_("{what} is not a date and time"), what=what) from None
    if moment.tzinfo is None:
        raise TamperedBundle(N_("{what} is not a date and time with an offset"), what=what)
    return moment


def verify_bundle(
    path: Path,
    identities: Sequence[str],
    *,
    expect_key: str | None = None,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> VerifiedBundle:
    """Decrypt and check a bundle without writing anything; raise a specific error if any
    part fails (wrong identity, truncated, tampered, unsafe path, bad signature)."""
    collector = _Collector(None)
    _decrypt(path, identities, collector, progress, N_("verify"))
    return _check(collector, identities, expect_key, now)


def open_bundle(
    path: Path,
    identities: Sequence[str],
    out_dir: Path,
    *,
    expect_key: str | None = None,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> VerifiedBundle:
    """Verify a bundle, then write its files into `out_dir` (new, or an empty directory; never
    a link): filled under a temporary name beside it (`vault.core.outputs`), then renamed."""
    _check_target(out_dir)
    verified = verify_bundle(path, identities, expect_key=expect_key, now=now, progress=progress)
    staging = staging_directory(out_dir)
    try:
        collector = _Collector(staging)
        _decrypt(path, identities, collector, progress, N_("open"))
        again = _check(collector, identities, expect_key, now)
        if again.manifest != verified.manifest:
            raise TamperedBundle(N_("{file} changed while it was being opened"), file=path.name)
        _check_target(out_dir)
        try:
            if out_dir.is_dir():
                out_dir.rmdir()
            os.replace(staging, out_dir)
        except OSError as exc:
            raise InvalidParameter(
                N_("cannot move the files to {folder} ({reason})"),
                folder=out_dir,
                reason=exc.strerror,
            ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return again


def _check_target(out_dir: Path) -> None:
    """Refuse a target that is a link, or anything but a new name or an empty directory."""
    try:
        st = os.lstat(out_dir)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise InvalidParameter(
            N_("{folder} is a link; give a new or empty directory"), folder=out_dir
        )
    if not stat.S_ISDIR(st.st_mode) or any(out_dir.iterdir()):
        raise InvalidParameter(N_("{folder} exists and is not an empty directory"), folder=out_dir)
