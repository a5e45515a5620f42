"""First-boot provisioning: one file from the boot partition becomes the kiosk's site.

IT staff write ``kiosk-provision.toml`` on the FAT partition a PC shows when the SD
card is plugged in. It holds either the site file and the establishment's
certificates, or a one-time enrolment token for the fleet::

    [provision]
    kiosk_id = "admission-02"              # with the establishment id, the hostname
    # enrolment_token = "…"                # instead of [settings]: the fleet sends the site
    # fleet_url = "https://fleet.example.org"

    [settings]                             # exactly a site.toml (firmware_cfg/site.example.toml)
    site.establishment_id = "3750100000"
    dmp.kind = "http"

    [certificates]                         # PEM texts, keyed by the setting they fill
    "dmp.client_cert" = \"\"\"-----BEGIN CERTIFICATE-----…\"\"\"

    [secrets]                              # token PINs, keyed by their *_pin_file setting
    "outbox.device_key_pin_file" = "…"

Keys are never accepted: on a production kiosk they live on a PKCS#11 token (a USB
HSM, or SoftHSM2 on the data partition). Everything is validated before anything is
written (the settings with the site schema, each certificate parsed and in date);
then the files are written into a staging directory on the data partition (0700
directories, 0600 files, fsynced) and swapped in with one ``rename``, so a cut power
leaves either the old site or the new one, never half of one. Only then is the boot
file erased. Any refusal leaves the boot file where it was, for the console to say why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.config import Settings, parse_settings
from kiosk.errors import ConfigError, InvalidInput
from kiosk.locale import msg

__all__ = [
    "BOOT_FILE",
    "DataLayout",
    "Provisioned",
    "factory_reset",
    "hostname_for",
    "install",
    "read_provision",
]

BOOT_FILE = "kiosk-provision.toml"
"""The provisioning file's name on the boot-selector partition."""

_CERT_SETTINGS = ("insi.sign_cert", "insi.client_cert", "dmp.client_cert", "dmp.sign_cert")
_CA_SETTINGS = ("insi.ca_file", "dmp.ca_file", "outbox.trusted_ca", "agents.ldap_ca_file")
_SECRET_SETTINGS = (
    "dmp.sign_pin_file",
    "dmp.client_pin_file",
    "insi.sign_pin_file",
    "insi.client_pin_file",
    "outbox.device_key_pin_file",
    "agents.establishment_pin_file",
)
_DATA_DEFAULTS = (
    ("paths", "data_dir", "@DATA@"),
    ("paths", "log_dir", "@DATA@/log"),
    ("outbox", "database", "@DATA@/outbox.sqlite3"),
    ("outbox", "device_key", "@DATA@/device.key"),
    ("agents", "file", "@DATA@/agents.toml"),
)
_KIOSK_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


@dataclass(frozen=True)
class DataLayout:
    """Where provisioning puts things on the data partition (``/var/lib/kiosk``)."""

    root: Path

    @property
    def site(self) -> Path:
        """The current site: a link to one complete ``site-<digest>`` directory."""
        return self.root / "site"

    @property
    def site_file(self) -> Path:
        """What ``KIOSK_CONFIG`` names on the appliance."""
        return self.site / "site.toml"

    @property
    def hostname_file(self) -> Path:
        """Read at boot (``/etc/hostname`` links here on the read-only root)."""
        return self.root / "system" / "hostname"

    @property
    def fleet_file(self) -> Path:
        """The enrolment token and fleet address, for the fleet client."""
        return self.site / "fleet.toml"

    def provisioned(self) -> bool:
        """Whether a complete site is in place."""
        return (self.site / "provisioned.json").is_file()


@dataclass(frozen=True)
class Provisioned:
    """What a valid provisioning file asks for, checked and ready to write."""

    kiosk_id: str
    hostname: str
    files: Mapping[str, bytes]
    """Relative path under the site directory → content (all written 0600)."""
    digest: str
    """SHA-256 of the provisioning file: names the site directory and the record."""
    enrolment: bool


def hostname_for(establishment_id: str, kiosk_id: str) -> str:
    """``kiosk-<establishment>-<kiosk>``: one DNS label (≤ 63 characters, RFC 1123)."""
    label = f"kiosk-{establishment_id}-{kiosk_id}".lower()
    return re.sub(r"[^a-z0-9-]", "-", label)[:63].strip("-")


def _refuse(source: Path, problems: list[str]) -> ConfigError:
    listing = "; ".join(f"{source.name}: {p}" for p in problems)
    return ConfigError(msg("provision.invalid", listing=listing), detail=listing)


def _check_certificate(setting: str, pem: object, now: datetime, problems: list[str]) -> None:
    from cryptography import x509

    if not isinstance(pem, str):
        problems.append(f"certificates.{setting}: a PEM text is expected")
        return
    if "PRIVATE KEY" in pem:
        problems.append(
            f"certificates.{setting}: a private key is refused (keys stay on a PKCS#11 token)"
        )
        return
    try:
        found = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        problems.append(f"certificates.{setting}: not a PEM certificate")
        return
    if setting in _CERT_SETTINGS and found and found[0].not_valid_after_utc <= now:
        day = found[0].not_valid_after_utc.date().isoformat()
        problems.append(f"certificates.{setting}: expired on {day}")


def read_provision(path: Path, now: datetime) -> Provisioned:
    """Read and check the provisioning file; every problem is reported at once."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(msg("provision.unreadable", path=path, reason=exc.strerror)) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _refuse(path, [f"not TOML ({exc})"]) from exc
    problems: list[str] = []
    head = data.get("provision")
    if not isinstance(head, dict):
        raise _refuse(path, ["[provision] table is missing"])
    unknown = set(data) - {"provision", "settings", "certificates", "secrets"}
    unknown_head = set(head) - {"kiosk_id", "enrolment_token", "fleet_url"}
    problems += [f"{name}: unknown table" for name in sorted(unknown)]
    problems += [f"provision.{name}: unknown key" for name in sorted(unknown_head)]
    kiosk_id = head.get("kiosk_id")
    if not isinstance(kiosk_id, str) or not _KIOSK_ID.match(kiosk_id):
        problems.append(
            f"provision.kiosk_id: 1 to 32 lower-case letters, digits or '-' (got {kiosk_id!r})"
        )
        kiosk_id = ""
    token = head.get("enrolment_token")
    settings_table = data.get("settings")
    if (token is None) == (settings_table is None):
        problems.append("give either [settings] or provision.enrolment_token, not both or none")
    files: dict[str, bytes] = {}
    establishment = ""
    if token is not None:
        fleet_url = head.get("fleet_url")
        if not isinstance(token, str) or len(token) < 16:
            problems.append("provision.enrolment_token: at least 16 characters")
        if not isinstance(fleet_url, str) or not fleet_url.startswith("https://"):
            problems.append("provision.fleet_url: an https:// address is required with a token")
        body = {"enrolment_token": token, "fleet_url": fleet_url}
        files["fleet.toml"] = "".join(f"{k} = {json.dumps(v)}\n" for k, v in body.items()).encode()
        establishment = "new"
    if isinstance(settings_table, dict):
        establishment = _site_files(path, data, settings_table, now, files, problems)
    elif settings_table is not None:
        problems.append("settings: a table is expected")
    if problems:
        raise _refuse(path, problems)
    digest = hashlib.sha256(raw).hexdigest()
    files["provisioned.json"] = json.dumps(
        {"at": now.isoformat(), "sha256": digest, "kiosk_id": kiosk_id}, sort_keys=True
    ).encode()
    return Provisioned(
        kiosk_id=kiosk_id,
        hostname=hostname_for(establishment, kiosk_id),
        files=files,
        digest=digest,
        enrolment=token is not None,
    )


def _site_files(
    path: Path,
    data: Mapping[str, Any],
    settings_table: dict[str, Any],
    now: datetime,
    files: dict[str, bytes],
    problems: list[str],
) -> str:
    """The site file and its certificates and PINs; the establishment id (or "")."""
    settings: dict[str, Any] = {
        name: dict(value) if isinstance(value, dict) else value
        for name, value in settings_table.items()
    }
    # State on the data partition unless the file says otherwise (a relative default
    # would land in whatever directory the unit starts in, on the read-only root).
    for section, key, where in _DATA_DEFAULTS:
        settings.setdefault(section, {}).setdefault(key, where)
    placed: dict[str, str] = {}
    for table, allowed, folder in (
        ("certificates", (*_CERT_SETTINGS, *_CA_SETTINGS), "certs"),
        ("secrets", _SECRET_SETTINGS, "secrets"),
    ):
        given = data.get(table, {})
        if not isinstance(given, dict):
            problems.append(f"{table}: a table is expected")
            continue
        for setting, value in given.items():
            if setting not in allowed:
                problems.append(f"{table}.{setting}: not a setting that takes a file")
                continue
            if table == "certificates":
                _check_certificate(setting, value, now, problems)
            elif not isinstance(value, str) or not value.strip():
                problems.append(f"secrets.{setting}: a non-empty text is expected")
                continue
            name = f"{folder}/{setting}" + (".pem" if table == "certificates" else "")
            files[name] = str(value).encode()
            placed[setting] = name
    for setting in ("insi.sign_key", "insi.client_key", "dmp.sign_key", "dmp.client_key"):
        section, _, key = setting.partition(".")
        if key in settings.get(section, {}):
            problems.append(f"settings.{setting}: key files are refused (use a PKCS#11 token)")
    try:
        checked = parse_settings(
            dict(_with_paths(settings, placed, Path("/placeholder"))),
            source=f"{path.name} [settings]",
        )
    except ConfigError as exc:
        problems.append(exc.detail or exc.message("en"))
        return ""
    _check_production(checked, problems)
    body = _toml(_with_paths(settings, placed, Path("@SITE@")))
    files["site.toml"] = body.encode()
    return checked.site.establishment_id


def _check_production(settings: Settings, problems: list[str]) -> None:
    """A production site names its tokens: no device-key file, no simulated part."""
    if settings.site.environment != "production":
        return
    simulated = [
        name
        for name, kind in (
            ("cards", settings.cards.kind),
            ("insi", settings.insi.kind),
            ("dmp", settings.dmp.kind),
            ("printer", settings.printer.kind),
            ("scanner", settings.scanner.kind),
        )
        if kind == "sim"
    ]
    problems += [f"settings.{name}.kind: 'sim' on a production kiosk" for name in simulated]
    if not settings.outbox.device_key_token:
        problems.append("settings.outbox.device_key_token: required in production (a token key)")
    for service, cfg in (("dmp", settings.dmp), ("insi", settings.insi)):
        for key in ("sign_token", "client_token"):
            if cfg.kind == "http" and not getattr(cfg, key):
                problems.append(
                    f"settings.{service}.{key}: required in production (ORG keys on a token)"
                )


def _with_paths(
    settings: Mapping[str, Any], placed: Mapping[str, str], site: Path
) -> dict[str, Any]:
    """The settings with each provided file's setting pointing at its place under ``site``."""
    out = {name: dict(v) if isinstance(v, dict) else v for name, v in settings.items()}
    for setting, name in placed.items():
        section, _, key = setting.partition(".")
        out.setdefault(section, {})[key] = str(site / name)
    return out


def _toml(settings: Mapping[str, Any]) -> str:
    """A TOML text of the two-level site settings (values as JSON literals TOML reads)."""
    lines = ["# Written by `kiosk provision`; edit the provisioning file, not this one.\n"]
    lines += [f"{k} = {_literal(v)}\n" for k, v in settings.items() if not isinstance(v, dict)]
    for section, values in settings.items():
        if not isinstance(values, dict):
            continue
        lines.append(f"\n[{section}]\n")
        for key, value in values.items():
            lines.append(f"{key} = {_literal(value)}\n")
    return "".join(lines)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    raise TypeError(f"unsupported value in [settings]: {value!r}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)


def link_to(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` (a sibling) in one ``rename``, durably."""
    scratch = link.with_name(f".{link.name}-link")
    with contextlib.suppress(FileNotFoundError):
        scratch.unlink()
    scratch.symlink_to(target.name)
    os.replace(scratch, link)
    _fsync_dir(link.parent)


def install(
    source: Path,
    layout: DataLayout,
    now: datetime,
    *,
    erase_source: bool = True,
    owner: tuple[int, int] | None = None,
    step: Callable[[str], None] = lambda _name: None,
) -> Provisioned:
    """Check ``source``, put its site in place atomically, then erase ``source``.

    ``owner`` (uid, gid) gets the site's files; the hostname stays root's.
    ``step`` is told each stage (``staged``, ``swapped``, ``erased``) as it ends: a test
    hook to cut the power between two of them.
    """
    wanted = read_provision(source, now)
    layout.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in layout.root.glob(".provision-*"):  # a staging a cut power left behind
        shutil.rmtree(stale, ignore_errors=True)
    final = layout.root / f"site-{wanted.digest[:16]}"
    staging = layout.root / f".provision-{wanted.digest[:16]}"
    for name, content in wanted.files.items():
        if name == "site.toml":
            content = content.replace(b"@SITE@", str(layout.site).encode())
            content = content.replace(b"@DATA@", str(layout.root).encode())
        _write_private(staging / name, content)
    for folder in {staging, *(p.parent for p in staging.rglob("*"))}:
        folder.chmod(0o700)
        _fsync_dir(folder)
    if owner is not None:  # the kiosk user reads its site; the unit runs as root
        for path in (staging, *staging.rglob("*")):
            os.chown(path, *owner)
    step("staged")
    if layout.site.is_dir() and not layout.site.is_symlink():
        # A plain directory (an image's empty placeholder, or a site put there by hand):
        # set aside whole, like any earlier site, so the link can take its place.
        aside = layout.root / f"site-before-{wanted.digest[:16]}"
        os.rename(layout.site, aside)
        link_to(layout.site, aside)
    previous = layout.site.resolve() if layout.site.is_symlink() else None
    if final.exists() and final != previous:
        shutil.rmtree(final)
    if final != previous:
        os.rename(staging, final)
    else:
        shutil.rmtree(staging)
    link_to(layout.site, final)  # the one atomic step: old site or new, never half
    if previous is not None and previous != final:
        shutil.rmtree(previous, ignore_errors=True)
    hostname = layout.hostname_file
    hostname.parent.mkdir(mode=0o755, exist_ok=True)
    scratch = hostname.with_suffix(".new")
    scratch.write_text(wanted.hostname + "\n")
    os.replace(scratch, hostname)
    step("swapped")
    if erase_source:
        source.unlink()
        _fsync_dir(source.parent)
        step("erased")
    return wanted


def factory_reset(layout: DataLayout) -> int:
    """Delete everything on the data partition (not the mount point); how many entries went."""
    removed = 0
    for child in layout.root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
        removed += 1
    _fsync_dir(layout.root)
    return removed
