"""First-boot provisioning on a temporary tree that mimics the boot and data partitions.

Issue 19: "provisioning on a temporary tree mimicking the boot and data partitions
(valid file, bad schema, bad certificate, enrolment token, interrupted move → nothing
half-done)", and "validated with the site schema, moved to the data partition with
0600/0700 permissions, and erased from the boot partition; hostname from site and
kiosk ids; any failure shown on the console with the reason and the file left in place".
"""

from __future__ import annotations

import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.services.provisioning import (
    BOOT_FILE,
    DataLayout,
    hostname_for,
    install,
    read_provision,
)
from kiosk.sim.pki import TestPki
from tests import softhsm as tokens

test_pki = tokens.test_pki

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def partitions(tmp_path: Path) -> tuple[Path, DataLayout]:
    """``boot`` (the FAT a PC sees) and ``data`` (the ext4 at /var/lib/kiosk)."""
    boot, data = tmp_path / "boot", tmp_path / "data"
    boot.mkdir()
    data.mkdir()
    return boot, DataLayout(data)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _site(pki: TestPki, *, extra: str = "", cert: str | None = None) -> str:
    client = cert if cert is not None else _pem(pki.certificate("establishment", "auth"))
    return f'''[provision]
kiosk_id = "admission-02"

[settings.site]
establishment_id = "3750100000"
establishment_name = "Centre hospitalier de démonstration"
{extra}
[settings.dmp]
kind = "sim"

[certificates]
"dmp.client_cert" = """{client}"""
"dmp.ca_file" = """{_pem(pki.ca_certificate)}"""

[secrets]
"dmp.sign_pin_file" = "123456"
'''


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_valid_file_becomes_the_site_and_leaves_the_boot_partition(
    partitions: tuple[Path, DataLayout], test_pki: TestPki
) -> None:
    boot, layout = partitions
    source = boot / BOOT_FILE
    source.write_text(_site(test_pki))

    done = install(source, layout, NOW)

    assert not source.exists(), "the file with the PIN is erased from the FAT"
    assert done.hostname == "kiosk-3750100000-admission-02"
    assert layout.hostname_file.read_text() == "kiosk-3750100000-admission-02\n"
    settings = load_settings(layout.site_file)
    assert settings.site.establishment_name == "Centre hospitalier de démonstration"
    assert settings.paths.data_dir == layout.root, "state goes to the data partition"
    assert settings.outbox.database == layout.root / "outbox.sqlite3"
    assert settings.dmp.client_cert is not None
    installed = x509.load_pem_x509_certificate(settings.dmp.client_cert.read_bytes())
    assert installed == test_pki.certificate("establishment", "auth")
    assert settings.dmp.sign_pin_file is not None
    assert settings.dmp.sign_pin_file.read_text() == "123456"
    site_dir = layout.site.resolve()
    assert _mode(site_dir) == 0o700
    for path in site_dir.rglob("*"):
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert layout.provisioned()


def test_a_second_file_replaces_the_site_whole(
    partitions: tuple[Path, DataLayout], test_pki: TestPki
) -> None:
    boot, layout = partitions
    source = boot / BOOT_FILE
    source.write_text(_site(test_pki))
    install(source, layout, NOW)
    first = layout.site.resolve()
    source.write_text(_site(test_pki, extra='lps_id = "KIOSK-0002"\n'))

    install(source, layout, NOW)

    assert layout.site.resolve() != first
    assert not first.exists(), "the old site is gone, not mixed with the new"
    assert load_settings(layout.site_file).site.lps_id == "KIOSK-0002"


@pytest.mark.parametrize("before", ["empty", "by-hand"])
def test_a_site_directory_already_there_is_set_aside_whole(
    partitions: tuple[Path, DataLayout], test_pki: TestPki, before: str
) -> None:
    """The image ships an empty ``site/``; a technician may have put a site there by hand."""
    boot, layout = partitions
    layout.site.mkdir()
    if before == "by-hand":
        (layout.site / "site.toml").write_text("[site]\n")
    source = boot / BOOT_FILE
    source.write_text(_site(test_pki))

    install(source, layout, NOW)

    assert layout.site.is_symlink()
    assert load_settings(layout.site_file).site.establishment_id == "3750100000"
    assert not source.exists()


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('establishment_nme = "typo"\n', "site.establishment_nme: unknown key"),
        ('environment = "staging"\n', "site.environment"),
    ],
)
def test_a_file_against_the_site_schema_is_refused_and_left_in_place(
    partitions: tuple[Path, DataLayout], test_pki: TestPki, extra: str, named: str
) -> None:
    boot, layout = partitions
    source = boot / BOOT_FILE
    source.write_text(_site(test_pki, extra=extra))

    with pytest.raises(ConfigError) as refused:
        install(source, layout, NOW)

    assert named in (refused.value.detail or "")
    assert source.exists(), "left for the console to explain, and for IT to fix"
    assert _tree(layout.root) == [], "nothing written"


def _expired_certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old establishment")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=800))
        .not_valid_after(NOW - timedelta(days=3))
        .sign(key, hashes.SHA256())
    )
    return _pem(cert)


def _private_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("cert", "reason"),
    [
        ("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", "not a PEM"),
        (_expired_certificate(), "expired on"),
        (_private_key(), "a private key is refused"),
    ],
    ids=["garbled", "expired", "private-key"],
)
def test_a_bad_certificate_is_refused(
    partitions: tuple[Path, DataLayout], test_pki: TestPki, cert: str, reason: str
) -> None:
    boot, layout = partitions
    source = boot / BOOT_FILE
    source.write_text(_site(test_pki, cert=cert))

    with pytest.raises(ConfigError) as refused:
        install(source, layout, NOW)

    assert f"certificates.dmp.client_cert: {reason}" in (refused.value.detail or "")
    assert source.exists()
    assert _tree(layout.root) == []


def test_every_problem_is_listed_at_once(partitions: tuple[Path, DataLayout]) -> None:
    boot, _layout = partitions
    source = boot / BOOT_FILE
    source.write_text(
        '[provision]\nkiosk_id = "Hall 1"\ncolour = "blue"\n'
        '[settings.insi]\nsign_key = "/boot/org_sign.key.pem"\n'
    )

    with pytest.raises(ConfigError) as refused:
        read_provision(source, NOW)

    listing = refused.value.detail or ""
    assert "provision.colour: unknown key" in listing
    assert "provision.kiosk_id" in listing
    assert "settings.insi.sign_key: key files are refused" in listing


def test_a_production_site_may_not_run_simulators_nor_keep_its_device_key_in_a_file(
    partitions: tuple[Path, DataLayout], test_pki: TestPki
) -> None:
    boot, _layout = partitions
    source = boot / BOOT_FILE
    source.write_text(_site(test_pki, extra='environment = "production"\n'))

    with pytest.raises(ConfigError) as refused:
        read_provision(source, NOW)

    listing = refused.value.detail or ""
    assert "settings.dmp.kind: 'sim' on a production kiosk" in listing
    assert "settings.outbox.device_key_token: required in production" in listing


def test_an_enrolment_token_is_kept_for_the_fleet(partitions: tuple[Path, DataLayout]) -> None:
    boot, layout = partitions
    source = boot / BOOT_FILE
    source.write_text(
        '[provision]\nkiosk_id = "hall-1"\n'
        'enrolment_token = "Zk3p9Qw7Xr2Lm5Tn8Vb1"\nfleet_url = "https://fleet.example.org"\n'
    )

    done = install(source, layout, NOW)

    assert done.enrolment
    assert not source.exists()
    assert 'enrolment_token = "Zk3p9Qw7Xr2Lm5Tn8Vb1"' in layout.fleet_file.read_text()
    assert _mode(layout.fleet_file) == 0o600
    assert not layout.site_file.exists(), "the site comes from the fleet"


def test_a_short_token_or_a_plain_http_fleet_is_refused(
    partitions: tuple[Path, DataLayout],
) -> None:
    boot, _layout = partitions
    source = boot / BOOT_FILE
    source.write_text(
        '[provision]\nkiosk_id = "hall-1"\nenrolment_token = "abc"\nfleet_url = "http://fleet"\n'
    )

    with pytest.raises(ConfigError) as refused:
        read_provision(source, NOW)

    assert "enrolment_token: at least 16 characters" in (refused.value.detail or "")
    assert "fleet_url: an https:// address" in (refused.value.detail or "")


class PowerCut(Exception):
    """The kiosk lost power between two steps."""


@pytest.mark.parametrize("cut_after", ["staged", "swapped"])
def test_a_power_cut_leaves_the_old_site_or_the_new_never_half(
    partitions: tuple[Path, DataLayout], test_pki: TestPki, cut_after: str
) -> None:
    boot, layout = partitions
    source = boot / BOOT_FILE
    source.write_text(_site(test_pki))
    install(source, layout, NOW)
    old = load_settings(layout.site_file)
    source.write_text(_site(test_pki, extra='lps_id = "KIOSK-0002"\n'))

    def cut(step: str) -> None:
        if step == cut_after:
            raise PowerCut(step)

    with pytest.raises(PowerCut):
        install(source, layout, NOW, step=cut)

    now = load_settings(layout.site_file)  # a whole site, whichever
    assert now.site.lps_id == (old.site.lps_id if cut_after == "staged" else "KIOSK-0002")
    assert source.exists(), "the boot file stays until the site is in place: next boot retries"
    install(source, layout, NOW)  # the next boot
    assert load_settings(layout.site_file).site.lps_id == "KIOSK-0002"
    assert [p.name for p in layout.root.iterdir() if p.name.startswith(".")] == []
    assert len(list(layout.root.glob("site-*"))) == 1


@given(
    establishment=st.text(alphabet="0123456789", min_size=1, max_size=14),
    kiosk=st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?", fullmatch=True),
)
def test_a_hostname_is_always_one_dns_label(establishment: str, kiosk: str) -> None:
    name = hostname_for(establishment, kiosk)
    assert 1 <= len(name) <= 63
    assert name[0].isalnum()
    assert name[-1].isalnum()
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


def _kiosk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--lang", "en", "provision", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_first_boot_says_why_and_keeps_a_refused_file(
    partitions: tuple[Path, DataLayout], test_pki: TestPki
) -> None:
    boot, layout = partitions
    where = ("--boot", str(boot), "--data", str(layout.root))

    waiting = _kiosk("--first-boot", *where)
    assert waiting.returncode == 1
    assert "not provisioned: put kiosk-provision.toml" in waiting.stderr

    (boot / BOOT_FILE).write_text(_site(test_pki, extra='environment = "staging"\n'))
    refused = _kiosk("--first-boot", *where)
    assert refused.returncode == 1
    assert "Provisioning file refused, nothing was written" in refused.stderr
    assert "site.environment" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    assert (boot / BOOT_FILE).exists()

    (boot / BOOT_FILE).write_text(_site(test_pki))
    done = _kiosk("--first-boot", *where)
    assert done.returncode == 0, done.stderr
    assert "kiosk-3750100000-admission-02" in done.stdout
    assert not (boot / BOOT_FILE).exists()
    again = _kiosk("--first-boot", *where)
    assert again.returncode == 0
    assert "already provisioned" in again.stdout


def test_a_factory_reset_wipes_the_data_partition_only_when_the_name_is_typed(
    partitions: tuple[Path, DataLayout], test_pki: TestPki
) -> None:
    boot, layout = partitions
    (boot / BOOT_FILE).write_text(_site(test_pki))
    install(boot / BOOT_FILE, layout, NOW)
    (layout.root / "outbox.sqlite3").write_bytes(b"queued writes")

    wrong = _kiosk("--reset", "--data", str(layout.root), stdin="yes\n")
    assert wrong.returncode == 1
    assert "'kiosk-3750100000-admission-02' had to be typed" in wrong.stderr
    assert (layout.root / "outbox.sqlite3").exists()

    right = _kiosk("--reset", "--data", str(layout.root), stdin="kiosk-3750100000-admission-02\n")
    assert right.returncode == 0, right.stderr
    assert "Factory reset done" in right.stdout
    assert _tree(layout.root) == []
    assert layout.root.is_dir(), "the mount point stays"


def test_a_production_site_with_its_keys_on_tokens_is_accepted(
    partitions: tuple[Path, DataLayout], test_pki: TestPki
) -> None:
    boot, layout = partitions
    source = boot / BOOT_FILE
    source.write_text(
        '[provision]\nkiosk_id = "admission-01"\n'
        '[settings]\nmode = "desk"\n'
        '[settings.site]\nenvironment = "production"\nestablishment_id = "3750100000"\n'
        '[settings.cards]\nkind = "pcsc"\n'
        '[settings.printer]\nkind = "usb"\n'
        '[settings.scanner]\nkind = "hid"\n'
        '[settings.outbox]\ndevice_key_token = "KIOSK DEVICE"\n'
        '[settings.insi]\nkind = "http"\nendpoint = "https://insi.example/insi"\n'
        'sign_token = "ORG 3750100000"\nclient_token = "ORG 3750100000"\n'
        '[settings.dmp]\nkind = "http"\nendpoint = "https://dmp.example/dmp"\n'
        'sign_token = "ORG 3750100000"\nclient_token = "ORG 3750100000"\n'
        f'[certificates]\n"dmp.ca_file" = """{_pem(test_pki.ca_certificate)}"""\n'
        f'"insi.ca_file" = """{_pem(test_pki.ca_certificate)}"""\n'
        '[secrets]\n"dmp.sign_pin_file" = "1234"\n"dmp.client_pin_file" = "1234"\n'
        '"insi.sign_pin_file" = "1234"\n"insi.client_pin_file" = "1234"\n'
        '"outbox.device_key_pin_file" = "5678"\n'
    )

    install(source, layout, NOW)

    settings = load_settings(layout.site_file)
    assert settings.dmp.client_token == "ORG 3750100000"
    assert settings.dmp.client_key is None, "no key file anywhere"
    assert settings.outbox.device_key_pin_file is not None
    assert _mode(settings.outbox.device_key_pin_file) == 0o600
