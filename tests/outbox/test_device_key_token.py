"""The outbox's device key in a PKCS#11 token (issue 8), on the real SoftHSM2 stack."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.cards.pkcs11 import SecretKeyNotFound, TokenNotFound
from kiosk.clock import FrozenClock
from kiosk.commands.context import CliContext
from kiosk.commands.outbox import outbox
from kiosk.errors import CardError, CardRemoved, ConfigError, KioskError, PinIncorrect
from kiosk.outbox.keys import FileDeviceKey, TokenDeviceKey
from kiosk.outbox.ports import PayloadTampered
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import Step, SyncPolicy, SyncWorker
from kiosk.signing import KeySigner
from kiosk.sim.hsm import DEVICE, DEVICE_LABEL, SoftHsm, import_secret_key
from tests import softhsm as tokens
from tests.outbox.fakes import RecordingSender, VirtualTime

test_pki = tokens.test_pki
softhsm = tokens.softhsm

# Known test bytes, not a key of anything real.
KNOWN = bytes(range(32))
PAYLOAD = b"<ClinicalDocument>patient fictif 253072B07300470</ClinicalDocument>"


def device_pin(hsm: SoftHsm) -> str:
    return hsm.device_pin_file.read_text().strip()


@pytest.fixture
async def token_key(softhsm: SoftHsm) -> AsyncIterator[TokenDeviceKey]:
    key = await TokenDeviceKey.login(softhsm.module, device_pin(softhsm), token_label=DEVICE_LABEL)
    yield key
    await key.aclose()


@pytest.fixture
async def known_label(softhsm: SoftHsm) -> str:
    """A token key made from :data:`KNOWN`, under a label of this test only."""
    label = f"KNOWN-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(import_secret_key, softhsm, DEVICE, label, KNOWN)
    return label


async def test_enqueued_rows_are_delivered_in_clear_and_stored_sealed(
    token_key: TokenDeviceKey, signer: KeySigner, tmp_path: Path
) -> None:
    clock = FrozenClock()
    store = await OutboxStore.open(tmp_path / "outbox.sqlite3", token_key, clock)
    try:
        for i in range(3):
            await store.enqueue(
                kind="dmp.submit",
                idempotency_key=f"k{i}",
                payload=PAYLOAD + bytes([i]),
                signer=signer,
            )
        sender = RecordingSender(clock)
        sync = SyncWorker(
            store,
            sender,
            clock=clock,
            policy=SyncPolicy(),
            rng=random.Random(3),
            sleep=VirtualTime(clock),
        )
        report = await sync.run_once()
    finally:
        await store.close()
    assert report.sent == 3
    assert sender.stored == {f"k{i}": PAYLOAD + bytes([i]) for i in range(3)}
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        key_ids = {row[0] for row in db.execute("SELECT key_id FROM outbox")}
    assert key_ids == {token_key.key_id}


async def test_sealed_rows_never_hold_the_payload_in_clear(
    token_key: TokenDeviceKey, signer: KeySigner, tmp_path: Path
) -> None:
    store = await OutboxStore.open(tmp_path / "outbox.sqlite3", token_key, FrozenClock())
    try:
        await store.enqueue(kind="dmp.submit", idempotency_key="k", payload=PAYLOAD, signer=signer)
        (row,) = await store.lease("w", lease_s=60, include_bulk=True)
        assert store.unseal(row) == PAYLOAD
    finally:
        await store.close()
    raw = await asyncio.to_thread(
        lambda: b"".join(p.read_bytes() for p in tmp_path.glob("outbox.sqlite3*"))
    )
    assert b"253072B07300470" not in raw
    assert row.sealed is not None
    assert len(row.sealed) == 12 + len(PAYLOAD) + 16  # the file key's format


async def test_a_moved_payload_or_a_flipped_byte_does_not_open(
    token_key: TokenDeviceKey, signer: KeySigner, tmp_path: Path
) -> None:
    store = await OutboxStore.open(tmp_path / "outbox.sqlite3", token_key, FrozenClock())
    try:
        for key in ("a", "b", "c", "d"):
            await store.enqueue(
                kind="k", idempotency_key=key, payload=b"secret " + key.encode(), signer=signer
            )
        with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
            (sealed_a,) = db.execute(
                "SELECT payload FROM outbox WHERE idempotency_key='a'"
            ).fetchone()
            flipped = bytearray(sealed_a)
            flipped[len(flipped) // 2] ^= 0x01
            db.execute("UPDATE outbox SET payload = ? WHERE idempotency_key = 'b'", (sealed_a,))
            db.execute(
                "UPDATE outbox SET payload = ? WHERE idempotency_key = 'c'", (bytes(flipped),)
            )
            db.execute(
                "UPDATE outbox SET payload = ? WHERE idempotency_key = 'd'", (sealed_a[:20],)
            )
        rows = await store.lease("w", lease_s=60, include_bulk=True, limit=4)
        assert store.unseal(rows[0]) == b"secret a"
        for row in rows[1:]:
            with pytest.raises(PayloadTampered):
                store.unseal(row)
        # A refusal leaves the token's session usable.
        assert store.unseal(rows[0]) == b"secret a"
    finally:
        await store.close()


async def test_a_file_key_and_a_token_key_with_the_same_bytes_read_each_others_rows(
    softhsm: SoftHsm, known_label: str, signer: KeySigner, tmp_path: Path
) -> None:
    file_key = FileDeviceKey(KNOWN)
    token = await TokenDeviceKey.login(
        softhsm.module, device_pin(softhsm), token_label=DEVICE_LABEL, key_label=known_label
    )
    try:
        assert token.open(file_key.seal(PAYLOAD, b"row-1"), b"row-1") == PAYLOAD
        assert file_key.open(token.seal(PAYLOAD, b"row-2"), b"row-2") == PAYLOAD
        with pytest.raises(PayloadTampered):
            file_key.open(token.seal(PAYLOAD, b"row-2"), b"row-3")
        # Rows written under the file key, then read by a store on the token key.
        path = tmp_path / "outbox.sqlite3"
        before = await OutboxStore.open(path, file_key, FrozenClock())
        await before.enqueue(kind="k", idempotency_key="x", payload=PAYLOAD, signer=signer)
        await before.close()
        after = await OutboxStore.open(path, token, FrozenClock())
        try:
            (row,) = await after.lease("w", lease_s=60, include_bulk=True)
            assert after.unseal(row) == PAYLOAD
        finally:
            await after.close()
    finally:
        await token.aclose()


async def test_any_payload_sealed_by_either_key_opens_with_the_other(
    softhsm: SoftHsm, known_label: str
) -> None:
    file_key = FileDeviceKey(KNOWN)
    token = await TokenDeviceKey.login(
        softhsm.module, device_pin(softhsm), token_label=DEVICE_LABEL, key_label=known_label
    )

    @settings(max_examples=60, deadline=None)
    @given(payload=st.binary(max_size=3000), aad=st.binary(max_size=80))
    def both_ways(payload: bytes, aad: bytes) -> None:
        assert token.open(file_key.seal(payload, aad), aad) == payload
        assert file_key.open(token.seal(payload, aad), aad) == payload

    try:
        await asyncio.to_thread(both_ways)
    finally:
        await token.aclose()


def test_the_provisioned_key_was_generated_on_the_token_and_never_left_it(
    softhsm: SoftHsm,
) -> None:
    token = softhsm.token(DEVICE)
    argv = ["pkcs11-tool", "--module", str(softhsm.module), "--token-label", token.label]
    listing = subprocess.run(
        [*argv, "--login", "--pin", token.pin, "--list-objects", "--type", "secrkey"],
        env=softhsm.env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    block = listing.split("label:      KIOSK_OUTBOX", 1)[1].split("Secret Key Object", 1)[0]
    assert "AES length 32" in listing
    assert "always sensitive, never extractable, local" in block


async def test_the_key_id_names_the_key_material_not_the_label(
    softhsm: SoftHsm, known_label: str
) -> None:
    pin = device_pin(softhsm)
    ids = []
    for label in (known_label, known_label, "KIOSK_OUTBOX"):
        key = await TokenDeviceKey.login(
            softhsm.module, pin, token_label=DEVICE_LABEL, key_label=label
        )
        ids.append(key.key_id)
        await key.aclose()
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]
    assert len(ids[0]) == 16


async def test_seals_and_opens_from_many_threads_at_once(token_key: TokenDeviceKey) -> None:
    async def one(i: int) -> bytes:
        aad = f"row-{i}".encode()
        sealed = await asyncio.to_thread(token_key.seal, PAYLOAD * (i + 1), aad)
        return await asyncio.to_thread(token_key.open, sealed, aad)

    opened = await asyncio.gather(*(one(i) for i in range(40)))
    assert opened == [PAYLOAD * (i + 1) for i in range(40)]


async def test_a_closed_key_says_so_instead_of_sealing(softhsm: SoftHsm) -> None:
    key = await TokenDeviceKey.login(softhsm.module, device_pin(softhsm), token_label=DEVICE_LABEL)
    await key.aclose()
    with pytest.raises(CardRemoved):
        key.seal(b"x", b"aad")


async def test_wrong_pin_missing_token_and_missing_key_are_clear_errors(softhsm: SoftHsm) -> None:
    pin = device_pin(softhsm)
    with pytest.raises(PinIncorrect) as wrong:
        await TokenDeviceKey.login(softhsm.module, pin + "-wrong", token_label=DEVICE_LABEL)
    assert DEVICE_LABEL in wrong.value.message("fr")
    assert pin not in wrong.value.message("en") + wrong.value.detail
    with pytest.raises(TokenNotFound) as missing:
        await TokenDeviceKey.login(softhsm.module, pin, token_label="KIOSK ABSENT")
    assert "KIOSK ABSENT" in missing.value.message("en")
    with pytest.raises(SecretKeyNotFound) as no_key:
        await TokenDeviceKey.login(
            softhsm.module, pin, token_label=DEVICE_LABEL, key_label="NO_SUCH_KEY"
        )
    assert "NO_SUCH_KEY" in no_key.value.message("fr")
    # Every failure logged out again: the right PIN still opens the key.
    key = await TokenDeviceKey.login(softhsm.module, pin, token_label=DEVICE_LABEL)
    await key.aclose()


async def test_a_key_that_can_leave_its_token_is_refused(softhsm: SoftHsm, tmp_path: Path) -> None:
    label = f"LEAKY-{uuid.uuid4().hex[:8]}"
    secret = tmp_path / "key.bin"
    secret.write_bytes(KNOWN)
    token = softhsm.token(DEVICE)
    await asyncio.to_thread(
        subprocess.run,
        [
            "pkcs11-tool",
            "--module",
            str(softhsm.module),
            "--token-label",
            token.label,
            "--login",
            "--pin",
            token.pin,
            "--write-object",
            str(secret),
            "--type",
            "secrkey",
            "--key-type",
            "AES:32",
            "--label",
            label,
            "--extractable",
        ],
        env=softhsm.env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    with pytest.raises(CardError, match="can leave"):
        await TokenDeviceKey.login(
            softhsm.module, token.pin, token_label=DEVICE_LABEL, key_label=label
        )


def write_config(
    tmp_path: Path, hsm: SoftHsm, cards_module: Path | None = None, **outbox_keys: str
) -> CliContext:
    config = tmp_path / "kiosk.toml"
    lines = [f'[cards]\npkcs11_module = "{cards_module or hsm.module}"\n[outbox]\n']
    lines += [f'database = "{tmp_path / "outbox.sqlite3"}"\n']
    lines += [f'{key} = "{value}"\n' for key, value in outbox_keys.items()]
    config.write_text("".join(lines))
    return CliContext(config_path=config, lang="en")


def run(context: CliContext, *args: str) -> tuple[object, BaseException | None]:
    result = CliRunner().invoke(outbox, list(args), obj=context)
    if result.exception is None or isinstance(result.exception, SystemExit):
        return json.loads(result.stdout), None  # a log line may go to stderr
    return None, result.exception


async def test_outbox_status_opens_the_store_with_the_token_key(
    softhsm: SoftHsm, signer: KeySigner, tmp_path: Path
) -> None:
    key = await TokenDeviceKey.login(softhsm.module, device_pin(softhsm), token_label=DEVICE_LABEL)
    store = await OutboxStore.open(tmp_path / "outbox.sqlite3", key, FrozenClock())
    for i in range(2):
        await store.enqueue(kind="k", idempotency_key=f"k{i}", payload=PAYLOAD, signer=signer)
    await store.close()
    await key.aclose()
    context = write_config(
        tmp_path,
        softhsm,
        device_key_token=DEVICE_LABEL,
        device_key_pin_file=str(softhsm.device_pin_file),
        device_key=str(tmp_path / "unused.key"),
    )
    status, error = await asyncio.to_thread(run, context, "status", "--json")
    assert error is None
    assert status["counts"]["pending"] == 2  # type: ignore[index]
    assert not (tmp_path / "unused.key").exists()  # the token took precedence


async def test_the_device_token_may_live_on_another_module_than_the_cps_cards(
    softhsm: SoftHsm, tmp_path: Path
) -> None:
    # In production the CPS cards' Cryptolib module shows CPS cards only: the device
    # token (a SmartCard-HSM, say) comes through a module of its own.
    context = write_config(
        tmp_path,
        softhsm,
        cards_module=tmp_path / "no-cryptolib-here.so",
        device_key_token=DEVICE_LABEL,
        device_key_pin_file=str(softhsm.device_pin_file),
        device_key_module=str(softhsm.module),
    )
    status, error = await asyncio.to_thread(run, context, "status", "--json")
    assert error is None
    assert status["counts"]["pending"] == 0  # type: ignore[index]


@pytest.mark.parametrize(
    ("token", "pin", "expected"),
    [
        (DEVICE_LABEL, "wrong-pin", PinIncorrect),
        ("KIOSK ABSENT", None, TokenNotFound),
        (DEVICE_LABEL, "", ConfigError),  # the PIN file is readable by others
    ],
)
async def test_a_token_that_cannot_be_opened_stops_the_command_before_any_write(
    softhsm: SoftHsm, tmp_path: Path, token: str, pin: str | None, expected: type[KioskError]
) -> None:
    pin_file = tmp_path / "device.pin"
    pin_file.write_text((pin or device_pin(softhsm)) + "\n")
    pin_file.chmod(0o644 if expected is ConfigError else 0o600)
    context = write_config(
        tmp_path, softhsm, device_key_token=token, device_key_pin_file=str(pin_file)
    )
    _, error = await asyncio.to_thread(run, context, "status", "--json")
    assert isinstance(error, expected)
    assert not (tmp_path / "outbox.sqlite3").exists()
    assert not (tmp_path / "var").exists()


async def test_a_second_login_in_the_same_process_is_refused_and_the_first_keeps_working(
    token_key: TokenDeviceKey, softhsm: SoftHsm
) -> None:
    # PKCS#11 logs in once per process and token: a second holder (for instance the same
    # token named for dmp.sign_token) is refused rather than sharing the first's login.
    with pytest.raises(CardError, match="already open"):
        await TokenDeviceKey.login(softhsm.module, device_pin(softhsm), token_label=DEVICE_LABEL)
    assert token_key.open(token_key.seal(PAYLOAD, b"aad"), b"aad") == PAYLOAD


async def test_a_device_token_that_fails_holds_the_rows_back_without_blaming_them(
    softhsm: SoftHsm, signer: KeySigner, tmp_path: Path
) -> None:
    """The token is pulled mid-run: nothing is dead-lettered, everything goes once it is back."""
    clock = FrozenClock()
    path = tmp_path / "outbox.sqlite3"
    key = await TokenDeviceKey.login(softhsm.module, device_pin(softhsm), token_label=DEVICE_LABEL)
    store = await OutboxStore.open(path, key, clock)
    sender = RecordingSender(clock)
    try:
        await store.enqueue(kind="dmp.submit", idempotency_key="a", payload=PAYLOAD, signer=signer)
        await key.aclose()  # what the worker sees of a token that went away
        worker = SyncWorker(
            store, sender, clock=clock, rng=random.Random(1), sleep=VirtualTime(clock)
        )
        assert await worker.step() is Step.OFFLINE
        assert sender.sends == []
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT state, faults, crashes, last_error FROM outbox").fetchone()
        assert row == ("pending", 0, 0, "CARD_REMOVED")
    finally:
        await store.close()

    key = await TokenDeviceKey.login(softhsm.module, device_pin(softhsm), token_label=DEVICE_LABEL)
    store = await OutboxStore.open(path, key, clock)
    try:
        worker = SyncWorker(
            store, sender, clock=clock, rng=random.Random(1), sleep=VirtualTime(clock)
        )
        assert await worker.step() is Step.SENT
        assert sender.stored == {"a": PAYLOAD}
    finally:
        await store.close()
        await key.aclose()
