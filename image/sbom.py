"""The image's SBOM: every Debian package and every Python distribution in the venv,
with its version, as CycloneDX 1.5 JSON.

    sbom.py ROOTFS PACKAGES_INSTALLED > kiosk.sbom.json

PACKAGES_INSTALLED is `name=version` a line (image/build's packages.installed).
Deterministic: the timestamp is SOURCE_DATE_EPOCH and the serial number is derived
from the content.
"""

from __future__ import annotations

import datetime
import email.parser
import json
import os
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

VENV_SITE = "opt/kiosk/.venv/lib/python3.11/site-packages"


def _dpkg_fields(root: Path) -> dict[str, dict[str, str]]:
    packages: dict[str, dict[str, str]] = {}
    for stanza in (root / "var/lib/dpkg/status").read_text().split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line.startswith(" ") and key:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if fields.get("Package"):
            packages[fields["Package"]] = fields
    return packages


def debian(root: Path, installed: Path) -> list[dict[str, object]]:
    fields = _dpkg_fields(root)
    components = []
    for line in installed.read_text().splitlines():
        name, _, version = line.partition("=")
        base = name.split(":")[0]
        info = fields.get(base, {})
        arch = info.get("Architecture", "arm64")
        purl = f"pkg:deb/debian/{base}@{quote(version)}?arch={arch}&distro=debian-12"
        component: dict[str, object] = {
            "type": "application",
            "bom-ref": purl,
            "name": base,
            "version": version,
            "purl": purl,
        }
        if info.get("Source"):
            component["properties"] = [{"name": "debian:source", "value": info["Source"]}]
        components.append(component)
    return components


def python(root: Path) -> list[dict[str, object]]:
    site = root / VENV_SITE
    components = []
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        message = email.parser.Parser().parsestr(meta.read_text(errors="replace"), headersonly=True)
        name, version = message["Name"], message["Version"]
        purl = f"pkg:pypi/{name.lower().replace('_', '-')}@{version}"
        component: dict[str, object] = {
            "type": "library",
            "bom-ref": purl,
            "name": name,
            "version": version,
            "purl": purl,
        }
        license_expr = message.get("License-Expression") or message.get("License")
        if license_expr and len(license_expr) < 100:
            component["licenses"] = [{"expression": license_expr}]
        components.append(component)
    return components


def main() -> None:
    root, installed = Path(sys.argv[1]), Path(sys.argv[2])
    components = debian(root, installed) + python(root)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    stamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps(components, sort_keys=True)
    serial = uuid.uuid5(uuid.NAMESPACE_URL, "kiosk-image:" + body)
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": stamp,
            "component": {
                "type": "operating-system",
                "bom-ref": "kiosk-image",
                "name": "kiosk-image",
                "description": "kiosk appliance image, Debian 12 arm64, Raspberry Pi 4/5",
            },
        },
        "components": components,
    }
    json.dump(bom, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
