"""Site and kiosk configuration: TOML validated at start-up into frozen settings.

Every problem is reported at once, each naming the file, the key and what was
expected (ARCHITECTURE.md §11). Unknown keys are errors: a typo in a site file must
not silently fall back to a default. Each device section has one discriminator,
``kind``, that picks the real adapter or the simulator; only ``kiosk/wiring/``
reads it to build objects.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kiosk.errors import ConfigError
from kiosk.locale import msg

__all__ = [
    "INSTALLATION",
    "AgentsConfig",
    "CardsConfig",
    "DmpConfig",
    "FleetConfig",
    "InsiConfig",
    "OutboxConfig",
    "PathsConfig",
    "PrinterConfig",
    "ScannerConfig",
    "SelfServiceConfig",
    "Settings",
    "SiteConfig",
    "load_settings",
    "parse_settings",
]


INSTALLATION = Path(__file__).resolve().parents[1]
"""Where ``hw/`` and ``firmware_cfg/`` live: relative data paths are taken from here."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SiteConfig(_Section):
    """Who runs this kiosk: establishment and software identifiers (DOMAIN.md §6)."""

    establishment_id: str = "3750100000"
    """National structure identifier (FINESS-based, ``3`` prefix in VIHF subjects)."""
    establishment_name: str = "Centre hospitalier de démonstration"
    """Printed on receipts and shown in the footer."""
    environment: Literal["test", "production"] = "test"
    """``test`` accepts only the INS test OID, ``production`` refuses test and demo OIDs."""
    lps_id: str = "KIOSK-DEMO-0001"
    """Installation instance id (LPS_ID)."""
    lps_name: str = "kiosk"
    """Software name (LPS_Nom)."""
    lps_version: str = "0.1.0"
    """Software version (LPS_Version)."""
    dmp_homologation: str = "TEST-DMP-HOMOLOGATION"
    """DMP homologation number (LPS_ID_HOMOLOGATION_DMP); site data, check with the GIE."""
    insi_authorisation: str = "TEST-CNDA-0000"
    """CNDA software authorisation number for INSi."""
    patient_portal_url: str = "https://www.monespacesante.fr"
    """The patient portal printed (text and QR code) on the credentials receipt."""
    brochure_version: str = "demo-2026"
    """The edition of the DMP leaflet this site hands out, as printed on it (site data):
    recorded with the information given, which a later consent relies on."""
    indirect_mode: bool = False
    """Whether agents may log in without a CPE, on the establishment's ``ORG_SIGN`` token
    (indirect mode, DOMAIN.md §5): off unless the site decides so, because nobody's card
    then vouches for the person at the desk."""
    daily_document_volume: int = Field(default=30_000, ge=1)
    """Documents a day the site may send to the DMP before ``kiosk report`` warns: the
    volume agreed with the service. Default 30,000, the figure above which seed 000 asks the
    establishment to warn the Assurance Maladie beforehand (« > 30 000 documents par jour »);
    a site feeding the training environment FO3 sets 20 (« 20 documents alimentés par jour »)."""


class CardsConfig(_Section):
    """Smart-card readers and the PKCS#11 module of CPS/CPE cards."""

    kind: Literal["pcsc", "sim"] = "sim"
    """``pcsc`` for real readers; ``sim`` runs pcscd with vpcd virtual readers."""
    pkcs11_module: Path = Path("/usr/lib/softhsm/libsofthsm2.so")
    """Cryptolib CPS in production (``libcps3_pkcs11_lux.so``); SoftHSM2 in simulation."""
    profiles_dir: Path = Path("hw/cards")
    """ATR patterns, as data (DOMAIN.md §5); a relative path is taken from the installation."""
    operation_timeout_s: float = Field(default=5.0, gt=0)
    """Upper bound of any single card operation."""

    @field_validator("profiles_dir")
    @classmethod
    def _from_installation(cls, value: Path) -> Path:
        return value if value.is_absolute() else INSTALLATION / value


class InsiConfig(_Section):
    """The INS teleservice."""

    kind: Literal["http", "sim"] = "sim"
    """``sim`` signs with the simulated world's test PKI; ``http`` with the files below."""
    endpoint: str = "http://127.0.0.1:8471/insi"
    timeout_s: float = Field(default=10.0, gt=0)
    max_response_bytes: int = Field(default=1 << 20, gt=0)
    """Answers larger than this are refused before parsing."""
    sign_key: Path | None = None
    """PEM key of the establishment's ``ORG_SIGN`` pair (``http``; development only: a
    production kiosk names ``sign_token``)."""
    sign_cert: Path | None = None
    """PEM certificate of that key."""
    ca_file: Path | None = None
    """CA bundle for the service's TLS certificate; None uses the system store."""
    client_cert: Path | None = None
    """``ORG_AUTH_CLI`` certificate for mutual TLS."""
    client_key: Path | None = None
    """``ORG_AUTH_CLI`` key for mutual TLS."""
    client_token: str = ""
    """Label of the PKCS#11 token holding the ``ORG_AUTH_CLI`` pair (key and certificate
    labelled ``ORG_AUTH_CLI``): mutual TLS through a local stunnel holding the token's key,
    as a production kiosk keeps no key file; takes precedence over ``client_key``."""
    client_pin_file: Path | None = None
    """File (0600) holding that token's PIN, read when the proxy starts, never logged."""
    sign_token: str = ""
    """Label of the PKCS#11 token holding ``ORG_SIGN`` (module ``cards.pkcs11_module``);
    takes precedence over ``sign_key``. The same label as ``dmp.sign_token`` shares the
    DMP's session (PKCS#11 logs a process in to a token once)."""
    sign_pin_file: Path | None = None
    """File (0600) holding that token's PIN, read once at start and never logged."""


class DmpConfig(_Section):
    """The DMP web services."""

    kind: Literal["http", "sim"] = "sim"
    endpoint: str = "http://127.0.0.1:8471/dmp"
    timeout_s: float = Field(default=15.0, gt=0)
    max_tx_per_second: float = Field(default=5.0, gt=0, le=5.0)
    """Feeding transactions per second for this establishment + software (≤ 5, seed 000)."""
    sender_oid: str = "1.2.250.1.999.1.4"
    """OID of this installation (HL7 sender device, XDS sourceId); a fictitious demo arc."""
    document_root: str = "1.2.250.1.999.1.1"
    """OID arc under which the establishment numbers its documents (site data; a fictitious
    demo arc): the CDA ``id/@root``, the DMP's duplicate key with its extension."""
    ca_file: Path | None = None
    """CA bundle of the DMP's TLS certificate (``kind = "http"``)."""
    client_cert: Path | None = None
    """``ORG_AUTH_CLI`` certificate for mutual TLS in indirect mode."""
    client_key: Path | None = None
    """``ORG_AUTH_CLI`` key for mutual TLS in indirect mode."""
    client_token: str = ""
    """Label of the PKCS#11 token holding the ``ORG_AUTH_CLI`` pair: mutual TLS through a
    local stunnel holding the token's key (no key file on a production kiosk); takes
    precedence over ``client_key``."""
    client_pin_file: Path | None = None
    """File (0600) holding that token's PIN, read when the proxy starts, never logged."""
    sign_cert: Path | None = None
    """``ORG_SIGN`` certificate: signs the VIHF in indirect mode."""
    sign_key: Path | None = None
    """``ORG_SIGN`` key (loaded once)."""
    sign_token: str = ""
    """Label of the PKCS#11 token holding ``ORG_SIGN`` (module ``cards.pkcs11_module``);
    takes precedence over ``sign_key``/``sign_cert``."""
    sign_pin_file: Path | None = None
    """File (0600) holding that token's PIN, read once at start and never logged."""
    habilitations: Path | None = None
    """The site's habilitation table (TOML, as ``kiosk/data/habilitations.toml``), checked
    before every DMP call; unset: the shipped table."""


class AgentsConfig(_Section):
    """Named local agents for indirect mode (seed 000: « identification nominative »).

    ``kind`` picks the :class:`~kiosk.agents.ports.AgentDirectory`: ``none`` (no
    directory: indirect mode is then refused in production), ``file`` (the site file of
    argon2id hashes written by ``kiosk agents add``) or ``ldap`` (the hospital's
    LDAP/Active Directory, a bind as the user)."""

    kind: Literal["none", "file", "ldap"] = "none"
    file: Path = Path("var/agents.toml")
    """The site file of agents (mode 0600), with ``kind = "file"`` or as the LDAP's fallback."""
    fallback_file: bool = False
    """With ``kind = "ldap"``: when the directory cannot be reached, check the site file."""
    ldap_url: str = ""
    """``ldap://host:389`` or ``ldaps://host:636``."""
    ldap_user_dn: str = "uid={name},ou=people,dc=example,dc=org"
    """The DN (or, for Active Directory, the ``{name}@domain`` UPN) to bind as; ``{name}``
    is the login typed, escaped."""
    ldap_base: str = ""
    """Where to find the person's entry after the bind; empty: the bound DN itself."""
    ldap_filter: str = "(uid={name})"
    """The entry's filter under ``ldap_base`` (``(sAMAccountName={name})`` for AD)."""
    ldap_given_name: str = "givenName"
    ldap_family_name: str = "sn"
    ldap_role_attribute: str = ""
    """An attribute holding ``admission``, ``secretary`` or ``professional``; empty or
    another value: ``ldap_default_role``."""
    ldap_default_role: Literal["admission", "secretary", "professional"] = "admission"
    ldap_start_tls: bool = False
    ldap_ca_file: Path | None = None
    """CA bundle of the directory's certificate (ldaps or StartTLS); unset: the system's."""
    ldap_timeout_s: float = Field(default=5.0, gt=0)
    max_failures: int = Field(default=5, ge=1)
    """Wrong passwords in a row before a name is locked."""
    lockout_s: float = Field(default=900.0, gt=0)
    """How long a locked name stays locked."""
    establishment_pin_file: Path | None = None
    """File (0600) holding the PIN of the establishment token a named login opens (``ORG
    <establishment_id>``), read at each login and never logged: agents then type only
    their name and password. Unset: the desk asks for that PIN too."""


class OutboxConfig(_Section):
    """The offline outbox."""

    database: Path = Path("var/outbox.sqlite3")
    device_key: Path = Path("var/device.key")
    """AES-GCM key file (0600) in simulation; a token key in production."""
    device_key_token: str = ""
    """Label of the PKCS#11 token holding the AES-256 key ``KIOSK_OUTBOX`` (module
    ``device_key_module``); takes precedence over ``device_key``. A token of its own,
    not ``dmp.sign_token``: PKCS#11 logs a process in to a token once."""
    device_key_module: Path | None = None
    """PKCS#11 module of that token (e.g. OpenSC's for a SmartCard-HSM); default
    ``cards.pkcs11_module``. The CPS cards' Cryptolib module shows CPS cards only."""
    device_key_pin_file: Path | None = None
    """File (0600) holding that token's PIN, read once at start and never logged."""
    kiosk_share: float = Field(default=1.0, gt=0, le=1.0)
    """This kiosk's share of the site's rate when several kiosks run on one site."""
    max_attempts: int = Field(default=12, ge=1)
    """Faults answered by the service before a row goes to dead letters (outages never count)."""
    max_crashes: int = Field(default=5, ge=1)
    """Workers that may die while sending one row before it goes to dead letters."""
    offhours_start: int = Field(default=20, ge=0, le=23)
    offhours_end: int = Field(default=6, ge=0, le=23)
    bulk_kinds: tuple[str, ...] = ()
    """Kinds sent only inside the off-hours window (e.g. historical documents)."""
    timezone: str = "Europe/Paris"
    """Site time zone (IANA name): the off-hours window, and the local days of ``kiosk report``."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/Paris)"
            ) from exc
        return value

    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_cap_s: float = Field(default=900.0, gt=0)
    offline_cap_s: float = Field(default=60.0, gt=0)
    """Longest wait between two probes while the service cannot be reached."""
    lease_s: float = Field(default=120.0, gt=0)
    """How long a row stays in flight before another worker may take it again."""
    busy_timeout_ms: int = Field(default=5000, ge=0)
    sender: Literal["dmp", "feed_sink"] | None = None
    """Where ``kiosk sync`` sends: the DMP, or the simulated feed sink (benchmarks);
    unset: the DMP, unless ``feed_sink_url`` is set."""
    feed_sink_url: str = ""
    """Simulation only: the feed sink to send to when ``sender = "feed_sink"`` (default: the
    running demo world's)."""
    trusted_ca: Path | None = None
    """PEM file of the CA certificates whose signers' rows may be sent (IGC Santé in
    production, the test PKI's CA in simulation); unset: any signature that verifies."""
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """Prometheus exporter on 127.0.0.1 for the long-running worker; 0 disables it."""


class PrinterConfig(_Section):
    """The receipt printer."""

    kind: Literal["usb", "network", "file", "sim", "none"] = "sim"
    host: str = "127.0.0.1"
    port: int = Field(default=9100, ge=1, le=65535)
    device: Path = Path("/dev/usb/lp0")
    profile: str = "generic-80mm"
    """A file name in ``hw/printers/`` without ``.toml``."""


class ScannerConfig(_Section):
    """The 2D barcode scanner."""

    kind: Literal["hid", "serial", "sim", "none"] = "sim"
    device: str = ""
    """evdev path or serial port; empty means the first matching profile in ``hw/scanners/``."""
    keymap: Literal["azerty", "qwerty"] = "azerty"
    gs_substitutes: tuple[str, ...] = ("\x1d", "<GS>", "^]", "~")
    """What keyboard-wedge scanners send in place of GS (DOMAIN.md §3)."""


class SelfServiceConfig(_Section):
    """Patient self-service mode."""

    inactivity_timeout_s: float = Field(default=60.0, gt=0)
    languages: tuple[Literal["fr", "en"], ...] = ("fr", "en")
    font_size: int = Field(default=18, ge=8, le=72)
    """The kiosk terminal's (foot's) font size in points: 18 makes 56×15 cells of an
    800×480 panel (bench_kiosk_display), the 50×15 the screens are designed for."""


class FleetConfig(_Section):
    """Check-in with the fleet server over hawkBit's Direct Device Integration API (issue 20)."""

    kind: Literal["none", "ddi", "sim"] = "none"
    """``none``: no check-in; ``ddi``: the hawkBit server at ``url``; ``sim``: the simulator."""
    url: str = "http://127.0.0.1:8480"
    """The server's base address: the kiosk polls ``{url}/{tenant}/controller/v1/{id}``."""
    tenant: str = "DEFAULT"
    controller_id: str = ""
    """This kiosk's controller id on the server; empty: ``<establishment_id>-<lps_id>``."""
    token_file: Path | None = None
    """File (0600) holding the security token, read at start and never logged."""
    auth: Literal["target", "gateway"] = "target"
    """``target``: ``Authorization: TargetToken``; ``gateway``: ``GatewayToken`` (tenant-wide)."""
    timeout_s: float = Field(default=15.0, gt=0)
    """Upper bound of each request (a download's chunk included)."""
    max_backoff_s: float = Field(default=3600.0, gt=0)
    """Longest wait between two check-ins while the server is down or refuses us."""


class PathsConfig(_Section):
    """Where the kiosk keeps its state."""

    data_dir: Path = Path("var")
    log_dir: Path = Path("var/log")


class Settings(_Section):
    """The whole validated configuration."""

    site: SiteConfig = SiteConfig()
    mode: Literal["desk", "selfservice"] = "desk"
    cards: CardsConfig = CardsConfig()
    insi: InsiConfig = InsiConfig()
    dmp: DmpConfig = DmpConfig()
    agents: AgentsConfig = AgentsConfig()
    outbox: OutboxConfig = OutboxConfig()
    printer: PrinterConfig = PrinterConfig()
    scanner: ScannerConfig = ScannerConfig()
    selfservice: SelfServiceConfig = SelfServiceConfig()
    paths: PathsConfig = PathsConfig()
    fleet: FleetConfig = FleetConfig()


def _describe(error: dict[str, object]) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ())) or "(root)"  # type: ignore[attr-defined]
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: required key is missing"
    got = error.get("input")
    return f"{loc}: {error.get('msg')} (got {got!r})"


def parse_settings(data: dict[str, object], *, source: str = "<config>") -> Settings:
    """Validate an already parsed TOML document; every problem is listed at once."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(dict(err)) for err in exc.errors()]
        listing = "; ".join(f"{source}: {p}" for p in problems)
        raise ConfigError(
            msg("config.parse_settings", listing=listing),
            detail=listing,
        ) from exc


def load_settings(path: Path | None) -> Settings:
    """Read and validate a TOML file; ``None`` gives the built-in simulation defaults."""
    if path is None:
        return Settings()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            msg("config.load_settings", path=path, strerror=exc.strerror),
        ) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            msg("config.load_settings_2", path=path, exc=exc),
        ) from exc
    return parse_settings(data, source=str(path))
