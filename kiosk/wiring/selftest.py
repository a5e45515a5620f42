"""``kiosk selftest``: every configured device and service, each graded ok/warn/fail.

Each check opens what it looks at on its own, from the settings, so one broken part
(pcscd gone, a missing token, a dead printer) never hides the others; each is bounded
by a timeout and any error becomes that check's ``fail`` with its reason. Nothing
here holds a patient: readers are listed by name and ATR, databases by file.

The same report backs the mark-good decision after an update and the fleet's view
(issue 20). Grading thresholds are the domain's (:mod:`kiosk.domain.health`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from kiosk.clock import Clock, SystemClock
from kiosk.config import Settings
from kiosk.domain.health import (
    Check,
    HealthReport,
    Level,
    certificate_level,
    clock_level,
    disk_level,
)
from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.wiring.devices import build_card_reader, build_cps, build_printer, build_scanner
from kiosk.wiring.dmp import dmp_endpoint
from kiosk.wiring.insi import insi_endpoint
from kiosk.wiring.records import records_path
from kiosk.wiring.world import world_facts

__all__ = ["CHECKS", "SelfTest", "run_selftest", "save_report"]

CHECKS = (
    "readers",
    "pkcs11",
    "printer",
    "scanner",
    "database",
    "disk",
    "certificates",
    "insi",
    "dmp",
    "clock",
)
"""The checks, in the order they are reported."""


class DiskUsage(NamedTuple):
    """``shutil.disk_usage``'s answer."""

    total: int
    used: int
    free: int


@dataclass
class SelfTest:
    """One run's inputs: the settings, the clock, and what the checks read the world with."""

    settings: Settings
    lang: str = "fr"
    clock: Clock = field(default_factory=SystemClock)
    state_dir: Path | None = None
    """The simulated world's directory (``--state-dir``), for ``kind = "sim"`` parts."""
    timeout_s: float = 10.0
    """Upper bound of one check."""
    disk_usage: Callable[[Path], DiskUsage] = field(
        default=lambda path: DiskUsage(*shutil.disk_usage(path))
    )
    _server_dates: dict[str, float] = field(default_factory=dict, init=False)
    """Service name → our clock minus the server's ``Date`` (s), filled by insi/dmp."""

    def _t(self, key: str, **params: object) -> str:
        return text(f"selftest.{key}", self.lang, **params)

    def _check(
        self, name: str, level: Level, detail: str, action: str = "", /, **data: object
    ) -> Check:
        return Check(name, level, detail, action, dict(data))

    @property
    def _facts(self) -> Mapping[str, object]:
        return world_facts(self.settings, self.state_dir)

    async def run(self) -> HealthReport:
        """Every check; insi and dmp before the clock, which compares with their ``Date``."""
        first = await asyncio.gather(*(self._bounded(n) for n in CHECKS if n != "clock"))
        clock = await self._bounded("clock")
        return HealthReport(self.clock.now(), (*first, clock))

    async def _bounded(self, name: str) -> Check:
        look: Callable[[], Awaitable[Check]] = getattr(self, f"check_{name}")
        try:
            return await asyncio.wait_for(look(), self.timeout_s)
        except TimeoutError:
            return self._check(
                name, Level.FAIL, self._t("timeout", seconds=self.timeout_s), self._t(f"{name}.fix")
            )
        except KioskError as exc:
            return self._check(
                name, Level.FAIL, exc.message(self.lang), self._t(f"{name}.fix"), code=exc.code
            )
        except OSError as exc:
            return self._check(
                name, Level.FAIL, exc.strerror or type(exc).__name__, self._t(f"{name}.fix")
            )

    # -- devices --------------------------------------------------------------------------

    async def check_readers(self) -> Check:
        """Every PC/SC slot, and the kind and ATR of each card present."""
        from kiosk.cards.atr import CardProfiles

        readers = build_card_reader(self.settings, self.state_dir)
        slots = await asyncio.to_thread(readers.slots)
        if not slots:
            return self._check(
                "readers", Level.FAIL, self._t("readers.none"), self._t("readers.fix")
            )
        profiles = CardProfiles.load(self.settings.cards.profiles_dir)
        found: list[dict[str, object]] = []
        for name, atr in slots:
            entry: dict[str, object] = {"reader": name, "atr": atr.hex(" ").upper() if atr else ""}
            if atr is not None:
                kind, _label = profiles.kind(atr)
                entry["card"] = kind.value
            found.append(entry)
        cards = sum(1 for entry in found if entry["atr"])
        return self._check(
            "readers", Level.OK, self._t("readers.ok", slots=len(slots), cards=cards), slots=found
        )

    async def check_pkcs11(self) -> Check:
        """The PKCS#11 modules load, and every token the site names is present."""
        from kiosk.cards.pkcs11 import CpsModule

        settings = self.settings
        cards_module = build_cps(settings, self.state_dir)
        wanted: list[tuple[Path, str]] = []
        for label in (
            settings.dmp.sign_token,
            settings.dmp.client_token,
            settings.insi.sign_token,
            settings.insi.client_token,
        ):
            if label:
                wanted.append((settings.cards.pkcs11_module, label))
        if settings.outbox.device_key_token:
            module = settings.outbox.device_key_module or settings.cards.pkcs11_module
            wanted.append((module, settings.outbox.device_key_token))
        if settings.site.indirect_mode and settings.cards.kind != "sim":
            wanted.append((settings.cards.pkcs11_module, f"ORG {settings.site.establishment_id}"))
        listed: dict[Path, list[str]] = {}
        for module in {settings.cards.pkcs11_module, *(m for m, _ in wanted)}:
            adapter = cards_module if module == cards_module.module_path else CpsModule(module)
            listed[module] = [t.label for t in await adapter.tokens()]
        missing = sorted({label for module, label in wanted if label not in listed[module]})
        tokens = sorted({label for labels in listed.values() for label in labels})
        if missing:
            return self._check(
                "pkcs11",
                Level.FAIL,
                self._t("pkcs11.missing", labels=", ".join(missing)),
                self._t("pkcs11.fix"),
                tokens=tokens,
                missing=missing,
            )
        return self._check(
            "pkcs11",
            Level.OK,
            self._t("pkcs11.ok", modules=len(listed), tokens=len(tokens)),
            tokens=tokens,
        )

    async def check_printer(self) -> Check:
        """The receipt printer answers, with paper and its cover closed."""
        from kiosk.printing.profiles import load_profile

        if self.settings.printer.kind == "none":
            return self._check(
                "printer", Level.WARN, self._t("printer.none"), self._t("printer.fix")
            )
        profile = load_profile(self.settings.printer.profile)
        target = build_printer(self.settings, profile, self.state_dir)
        if target is None:
            return self._check("printer", Level.WARN, self._t("printer.no_world"))
        status = await target.printer.status()
        data = {"printer": target.name, **status.as_dict()}
        if status.paper_out:
            return self._check(
                "printer", Level.FAIL, self._t("printer.paper_out"), self._t("printer.load"), **data
            )
        if status.cover_open:
            return self._check(
                "printer",
                Level.FAIL,
                self._t("printer.cover_open"),
                self._t("printer.close"),
                **data,
            )
        if not status.online:
            return self._check(
                "printer", Level.FAIL, self._t("printer.offline"), self._t("printer.fix"), **data
            )
        if status.paper_low:
            return self._check(
                "printer", Level.WARN, self._t("printer.paper_low"), self._t("printer.load"), **data
            )
        if not status.known:
            return self._check("printer", Level.OK, self._t("printer.no_status"), **data)
        return self._check("printer", Level.OK, self._t("printer.ok", name=target.name), **data)

    async def check_scanner(self) -> Check:
        """The scanner's device is there and the kiosk may open it."""
        cfg = self.settings.scanner
        if cfg.kind == "none":
            return self._check("scanner", Level.OK, self._t("scanner.none"))
        scanner = build_scanner(cfg, self._facts)
        device = getattr(scanner, "path", None) or getattr(scanner, "port", None)
        await scanner.close()
        if device is None:  # in memory: nothing to open
            return self._check("scanner", Level.OK, self._t("scanner.memory"))
        where = str(device)
        if not await asyncio.to_thread(os.path.exists, where):
            return self._check(
                "scanner",
                Level.FAIL,
                self._t("scanner.absent", device=where),
                self._t("scanner.fix"),
                device=where,
            )
        if not os.access(where, os.R_OK | os.W_OK):
            return self._check(
                "scanner",
                Level.FAIL,
                self._t("scanner.denied", device=where),
                self._t("scanner.fix"),
                device=where,
            )
        return self._check("scanner", Level.OK, self._t("scanner.ok", device=where), device=where)

    # -- the data partition -------------------------------------------------------------

    async def check_database(self) -> Check:
        """``PRAGMA integrity_check`` of the outbox and the records, and the audit chain."""
        from kiosk.audit.store import AuditLog
        from kiosk.storage.sqlite import integrity_problems

        files = {
            "outbox": self.settings.outbox.database,
            "records": records_path(self.settings),
        }
        present = {name: path for name, path in files.items() if path.exists()}
        for path in present.values():
            problems = await asyncio.to_thread(integrity_problems, path)
            if problems:
                return self._check(
                    "database",
                    Level.FAIL,
                    self._t("database.damaged", file=path, problem=problems[0]),
                    self._t("database.fix"),
                    file=str(path),
                    problems=problems[:10],
                )
        events = 0
        if "outbox" in present:
            report = await AuditLog(files["outbox"]).verify()
            if not report.ok:
                return self._check(
                    "database",
                    Level.FAIL,
                    self._t("database.audit_broken", row=report.broken_at, reason=report.reason),
                    self._t("database.audit_fix"),
                    broken_at=report.broken_at,
                )
            events = report.count
        if not present:
            return self._check("database", Level.OK, self._t("database.empty"))
        return self._check(
            "database",
            Level.OK,
            self._t("database.ok", files=len(present), events=events),
            files=sorted(str(p) for p in present.values()),
            audit_events=events,
        )

    async def check_disk(self) -> Check:
        """Free space where the outbox, the audit and the records live."""
        where = self.settings.paths.data_dir
        usage = await asyncio.to_thread(self.disk_usage, where if where.exists() else Path("/"))
        level = disk_level(usage.free)
        mib = usage.free // (1024 * 1024)
        detail = self._t("disk.free", mib=mib, percent=round(100 * usage.free / usage.total))
        action = self._t("disk.fix") if level is not Level.OK else ""
        return self._check(
            "disk", level, detail, action, free_bytes=usage.free, total_bytes=usage.total
        )

    async def check_certificates(self) -> Check:
        """The establishment's certificates named by the site file, by the days they have left."""
        from cryptography import x509

        named = {
            "insi.sign_cert": self.settings.insi.sign_cert,
            "insi.client_cert": self.settings.insi.client_cert,
            "dmp.sign_cert": self.settings.dmp.sign_cert,
            "dmp.client_cert": self.settings.dmp.client_cert,
        }
        files = {key: path for key, path in named.items() if path is not None}
        if not files:
            return self._check("certificates", Level.OK, self._t("certificates.none"))
        now = self.clock.now()
        worst: tuple[Level, str, int] = (Level.OK, "", 1 << 30)
        days: dict[str, int] = {}
        for key, path in files.items():
            cert = x509.load_pem_x509_certificate(await asyncio.to_thread(path.read_bytes))
            left = (cert.not_valid_after_utc - now).days
            days[key] = left
            level = certificate_level(cert.not_valid_after_utc, now)
            if level.rank > worst[0].rank or (level is worst[0] and left < worst[2]):
                worst = (level, key, left)
        level, key, left = worst
        if level is Level.OK:
            detail = self._t("certificates.ok", count=len(files), days=left)
            return self._check("certificates", level, detail, days_left=days)
        detail = self._t(
            "certificates.expired" if level is Level.FAIL else "certificates.soon",
            setting=key,
            days=left,
        )
        return self._check(
            "certificates", level, detail, self._t("certificates.fix"), days_left=days
        )

    # -- the services ---------------------------------------------------------------------

    async def check_insi(self) -> Check:
        """INSi answers, and its TLS certificate is not about to expire."""
        return await self._remote(
            "insi", insi_endpoint(self.settings, self._facts), self.settings.insi.ca_file
        )

    async def check_dmp(self) -> Check:
        """The DMP answers, and its TLS certificate is not about to expire."""
        return await self._remote(
            "dmp", dmp_endpoint(self.settings, self._facts), self.settings.dmp.ca_file
        )

    async def _remote(self, name: str, url: str, ca_file: Path | None) -> Check:
        import httpx

        parts = urlsplit(url)
        data: dict[str, object] = {"url": f"{parts.scheme}://{parts.netloc}"}
        context = _tls_context(ca_file) if parts.scheme == "https" else None
        not_after: datetime | None = None
        if context is not None:
            not_after = await _peer_not_after(parts.hostname or "", parts.port or 443, context)
            data["tls_not_after"] = not_after.isoformat()
        try:
            async with httpx.AsyncClient(verify=context or False, timeout=5.0) as http:
                before = time.monotonic()
                answer = await http.head(url)
                spent = time.monotonic() - before
        except httpx.HTTPError as exc:
            return self._check(
                name,
                Level.FAIL,
                self._t("remote.down", error=type(exc).__name__),
                self._t(f"{name}.fix"),
                **data,
            )
        data["status"] = answer.status_code
        data["ms"] = round(spent * 1000)
        date = answer.headers.get("date")
        if date:
            server = parsedate_to_datetime(date).timestamp() + spent / 2
            self._server_dates[name] = self.clock.now().timestamp() - spent / 2 - server
        if not_after is None:
            return self._check(name, Level.OK, self._t("remote.ok_plain", ms=data["ms"]), **data)
        now = self.clock.now()
        level = certificate_level(not_after, now)
        left = (not_after - now).days
        if level is Level.OK:
            return self._check(name, level, self._t("remote.ok", ms=data["ms"], days=left), **data)
        key = "remote.tls_expired" if level is Level.FAIL else "remote.tls_soon"
        return self._check(name, level, self._t(key, days=left), self._t("remote.tls_fix"), **data)

    async def check_clock(self) -> Check:
        """Our clock against the services' ``Date`` and against the software's own date."""
        now = self.clock.now()
        built = datetime.fromtimestamp(_BUILT, UTC)
        if now < built.replace(microsecond=0) - _SLACK:
            return self._check(
                "clock",
                Level.FAIL,
                self._t("clock.before_build", built=built.date().isoformat()),
                self._t("clock.fix"),
                now=now.isoformat(),
            )
        if not self._server_dates:
            return self._check(
                "clock", Level.WARN, self._t("clock.unchecked"), self._t("clock.fix_sync")
            )
        offsets = {name: round(offset, 1) for name, offset in self._server_dates.items()}
        offset = max(offsets.values(), key=abs)
        level = clock_level(offset)
        detail = self._t("clock.offset", seconds=round(offset))
        action = self._t("clock.fix") if level is not Level.OK else ""
        return self._check("clock", level, detail, action, offsets_s=offsets)


_BUILT = Path(__file__).stat().st_mtime
"""When this software was installed: the image gives its files the build's date."""

_SLACK = datetime.fromtimestamp(86_400, UTC) - datetime.fromtimestamp(0, UTC)
"""A day: a file's date may run ahead of a clock that NTP set a little behind."""


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    from kiosk.soap.transport import default_tls_context

    if ca_file is None:
        return default_tls_context()
    context = ssl.create_default_context(cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def _peer_not_after(host: str, port: int, context: ssl.SSLContext) -> datetime:
    """The end of validity of the certificate ``host:port`` presents (verified)."""
    from cryptography import x509

    _reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        tls: Any = writer.get_extra_info("ssl_object")
        der: bytes = tls.getpeercert(binary_form=True)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    return x509.load_der_x509_certificate(der).not_valid_after_utc


async def run_selftest(
    settings: Settings,
    *,
    lang: str = "fr",
    clock: Clock | None = None,
    state_dir: Path | None = None,
) -> HealthReport:
    """Every check of ``settings``, with the system clock unless one is given."""
    test = SelfTest(settings, lang, clock or SystemClock(), state_dir)
    return await test.run()


def save_report(settings: Settings, report: HealthReport) -> None:
    """Keep the report as ``<data_dir>/selftest/last.json`` (the metrics read it)."""
    import json

    folder = settings.paths.data_dir / "selftest"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = folder / ".last.json.new"
    scratch.write_text(json.dumps(report.as_dict(), sort_keys=True), encoding="utf-8")
    os.replace(scratch, folder / "last.json")
