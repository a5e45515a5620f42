"""A real OpenLDAP ``slapd`` for the agent directory's tests: private config, port and data.

:func:`running_slapd` builds a ``cn=config`` directory with ``slapadd`` (mdb backend,
core/cosine/inetorgperson schemas, suffix ``dc=kiosk,dc=test``), loads the fixture people
below with ``slapadd``, and starts ``slapd -d 0`` in the foreground on 127.0.0.1 and a free
port — no systemd, nothing of the system's own slapd. The process is terminated (then
killed) when the block ends. The people are fictitious; their passwords are test values.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PEOPLE", "SUFFIX", "Slapd", "running_slapd", "slapd_available", "user_dn"]

SUFFIX = "dc=kiosk,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "admin-test-only"
PEOPLE = {
    # login: (given name, family name, employeeType, password)
    "cmartin": ("Claire", "MARTIN-TEST", "secretary", "secret-claire-1"),
    "pdurand": ("Paul", "DURAND-TEST", "admission", "secret-paul-22"),
    "jdoe": ("Jean", "DOE-TEST", "", "secret-jean-333"),
}
_SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
_SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"


def slapd_available() -> bool:
    """Whether slapd and slapadd are installed (scripts/bootstrap installs them)."""
    return Path(_SLAPD).exists() and Path(_SLAPADD).exists()


def user_dn(login: str) -> str:
    """The DN a fixture person binds as."""
    return f"uid={login},ou=people,{SUFFIX}"


@dataclass(frozen=True)
class Slapd:
    """A running test directory."""

    url: str
    port: int
    process: subprocess.Popen[bytes]


def _config_ldif(data_dir: Path, run_dir: Path) -> str:
    schema = Path("/etc/ldap/schema")
    includes = "".join(
        f"include: file://{schema / name}.ldif\n" for name in ("core", "cosine", "inetorgperson")
    )
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {run_dir / "slapd.pid"}
olcArgsFile: {run_dir / "slapd.args"}

dn: cn=module,cn=config
objectClass: olcModuleList
cn: module
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}
dn: olcDatabase=frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: frontend

dn: olcDatabase=mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: mdb
olcSuffix: {SUFFIX}
olcRootDN: {ROOT_DN}
olcRootPW: {ROOT_PW}
olcDbDirectory: {data_dir}
olcDbMaxSize: 10485760
olcAccess: to attrs=userPassword by self read by anonymous auth by * none
olcAccess: to * by self read by users read by * none
"""


def _data_ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: kiosk\n"
        "o: Kiosk test\n",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
    ]
    for login, (given, family, kind, password) in PEOPLE.items():
        entry = (
            f"dn: {user_dn(login)}\nobjectClass: inetOrgPerson\nuid: {login}\n"
            f"cn: {given} {family}\ngivenName: {given}\nsn: {family}\nuserPassword: {password}\n"
        )
        if kind:
            entry += f"employeeType: {kind}\n"
        entries.append(entry)
    return "\n".join(entries)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[bytes], deadline_s: float = 20.0) -> None:
    # Start-up readiness, not a timing assertion: poll until slapd accepts connections.
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("slapd did not start listening")


@contextlib.contextmanager
def running_slapd(base: Path) -> Iterator[Slapd]:
    """slapd with the fixture people, on 127.0.0.1 and a free port, for the block."""
    if not slapd_available():
        pytest.skip("slapd is not installed (scripts/bootstrap installs slapd and ldap-utils)")
    config_dir, data_dir, run_dir = base / "slapd.d", base / "data", base / "run"
    for directory in (config_dir, data_dir, run_dir):
        directory.mkdir(parents=True)
    (base / "config.ldif").write_text(_config_ldif(data_dir, run_dir))
    (base / "data.ldif").write_text(_data_ldif())
    for args in (
        [_SLAPADD, "-n", "0", "-F", str(config_dir), "-l", str(base / "config.ldif")],
        [_SLAPADD, "-n", "1", "-F", str(config_dir), "-l", str(base / "data.ldif")],
    ):
        subprocess.run(args, check=True, capture_output=True, timeout=60)
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen(
        [_SLAPD, "-d", "0", "-F", str(config_dir), "-h", f"{url}/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(port, process)
        yield Slapd(url, port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
