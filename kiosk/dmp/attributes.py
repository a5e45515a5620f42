"""TD3.3: changing a stored document's attributes (IHE ITI-57 Update Document Set).

Pure: builds and reads ebRIM 3.0 trees. Three kinds of change (DOMAIN.md §1, §6):
- visibility for the three populations: a new version of the entry's metadata carrying
  the new confidentiality codes (``PreviousVersion`` says which version it replaces);
- archive and unarchive: the entry's availability status changes;
- delete (by its author only, which the service checks against the VIHF) and the
  wrong-record correction (TD3.3c, a document sent to another patient's DMP): the
  entry is withdrawn with a reason.
Ids are UUIDv5 of the update's own UUID, so a replayed outbox item is the same message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

from kiosk.dmp.cx import parse_cx
from kiosk.dmp.errors import DmpMessageInvalid, DmpRequestInvalid
from kiosk.dmp.vocabulary import NS, XDS
from kiosk.dmp.xds import VisibilitySource
from kiosk.domain.ins import Ins
from kiosk.errors import IdentityError
from kiosk.locale import msg

__all__ = [
    "AttributeChange",
    "AttributeUpdate",
    "UpdateSummary",
    "build_attribute_update",
    "read_attribute_update",
]

_RIM = f"{{{NS['rim']}}}"
_LCM = f"{{{NS['lcm']}}}"
_STATUS = "urn:oasis:names:tc:ebxml-regrep:StatusType:"
_UPDATE_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"


class AttributeChange(StrEnum):
    """What the update does to the document."""

    VISIBILITY = "visibility"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    DELETE = "delete"
    WRONG_PATIENT = "wrong_patient"


# Availability status before and after each status change (ITI-57; the DMP's deleted
# status is not a standard ebRIM one: verify).
_TRANSITIONS: dict[AttributeChange, tuple[str, str]] = {
    AttributeChange.ARCHIVE: (f"{_STATUS}Approved", f"{_STATUS}Deprecated"),
    AttributeChange.UNARCHIVE: (f"{_STATUS}Deprecated", f"{_STATUS}Approved"),
    AttributeChange.DELETE: (f"{_STATUS}Approved", "urn:asip:ci-sis:2010:StatusType:Deleted"),
    AttributeChange.WRONG_PATIENT: (
        f"{_STATUS}Approved",
        "urn:asip:ci-sis:2010:StatusType:Deleted",
    ),
}


@dataclass(frozen=True)
class AttributeUpdate:
    """One change to one stored document, identified by its entryUUID and uniqueId."""

    update_uuid: uuid.UUID
    patient: Ins
    entry_uuid: str
    unique_id: str
    change: AttributeChange
    visibility: VisibilitySource | None = None
    reason: str = ""
    version: int = 1
    """Version of the metadata being replaced (visibility changes only)."""

    def __post_init__(self) -> None:
        if (self.change is AttributeChange.VISIBILITY) != (self.visibility is not None):
            raise DmpRequestInvalid(
                msg("dmp.attributes.attribute_update_post_init"),
                detail=f"change={self.change}",
            )
        if self.change is AttributeChange.WRONG_PATIENT and not self.reason.strip():
            raise DmpRequestInvalid(
                msg("dmp.attributes.attribute_update_post_init_2"),
                detail="wrong_patient without reason",
            )


@dataclass(frozen=True)
class UpdateSummary:
    """What the simulator reads from an update request."""

    patient: Ins
    entry_uuid: str
    unique_id: str
    change: AttributeChange
    confidentiality: tuple[tuple[str, str], ...]
    reason: str
    previous_version: int


def _slot(parent: etree._Element, name: str, value: str) -> None:
    slot = etree.SubElement(parent, f"{_RIM}Slot", name=name)
    etree.SubElement(etree.SubElement(slot, f"{_RIM}ValueList"), f"{_RIM}Value").text = value


def _external(parent: etree._Element, scheme: str, target: str, ident: str, value: str) -> None:
    etree.SubElement(
        parent,
        f"{_RIM}ExternalIdentifier",
        id=ident,
        identificationScheme=XDS[scheme],
        registryObject=target,
        value=value,
    )


def build_attribute_update(update: AttributeUpdate) -> etree._Element:
    """The ``SubmitObjectsRequest`` of an ITI-57 update for ``update``."""

    def ident(name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(update.update_uuid, name)}"

    cx = update.patient.hl7_cx()
    root = etree.Element(f"{_LCM}SubmitObjectsRequest", nsmap={"lcm": NS["lcm"], "rim": NS["rim"]})
    objects = etree.SubElement(root, f"{_RIM}RegistryObjectList")
    package_id = ident("package")
    package = etree.SubElement(objects, f"{_RIM}RegistryPackage", id=package_id)
    _slot(package, "updateReason", update.change.value)
    _external(
        package, "ss_unique_id", package_id, ident("ss-uid"), f"2.25.{update.update_uuid.int}"
    )
    _external(package, "ss_patient_id", package_id, ident("ss-pid"), cx)
    etree.SubElement(
        objects,
        f"{_RIM}Classification",
        classificationNode=XDS["submission_set_node"],
        classifiedObject=package_id,
        id=ident("node"),
    )
    if update.visibility is not None:
        entry_id = ident("entry")
        entry = etree.SubElement(
            objects,
            f"{_RIM}ExtrinsicObject",
            id=entry_id,
            lid=update.entry_uuid,
            mimeType="text/xml",
            objectType=XDS["stable_entry"],
        )
        for code, system in update.visibility.confidentiality_codes():
            node = etree.SubElement(
                entry,
                f"{_RIM}Classification",
                classificationScheme=XDS["de_confidentiality"],
                classifiedObject=entry_id,
                id=ident(f"confidentiality:{code}"),
                nodeRepresentation=code,
            )
            _slot(node, "codingScheme", system)
        _external(entry, "de_patient_id", entry_id, ident("de-pid"), cx)
        _external(entry, "de_unique_id", entry_id, ident("de-uid"), update.unique_id)
        member = etree.SubElement(
            objects,
            f"{_RIM}Association",
            associationType=XDS["has_member"],
            id=ident("member"),
            sourceObject=package_id,
            targetObject=entry_id,
        )
        _slot(member, "SubmissionSetStatus", "Original")
        _slot(member, "PreviousVersion", str(update.version))
        return root
    original, new = _TRANSITIONS[update.change]
    association = etree.SubElement(
        objects,
        f"{_RIM}Association",
        associationType=_UPDATE_STATUS,
        id=ident("status"),
        sourceObject=package_id,
        targetObject=update.entry_uuid,
    )
    _slot(association, "OriginalStatus", original)
    _slot(association, "NewStatus", new)
    _slot(association, "uniqueId", update.unique_id)
    if update.reason:
        _slot(association, "reason", update.reason)
    return root


def _values(node: etree._Element, name: str) -> str:
    path = f"{_RIM}Slot[@name='{name}']/{_RIM}ValueList/{_RIM}Value"
    return (node.findtext(path) or "").strip()


def _invalid(detail: str) -> DmpMessageInvalid:
    return DmpMessageInvalid(msg("dmp.attributes.invalid"), detail=detail)


def read_attribute_update(request: etree._Element) -> UpdateSummary:
    """Read an ITI-57 update built by :func:`build_attribute_update`."""
    objects = request.find(f"{_RIM}RegistryObjectList")
    package = objects.find(f"{_RIM}RegistryPackage") if objects is not None else None
    if request.tag != f"{_LCM}SubmitObjectsRequest" or objects is None or package is None:
        raise _invalid(f"root={request.tag}")
    try:
        change = AttributeChange(_values(package, "updateReason"))
        pid = package.find(
            f"{_RIM}ExternalIdentifier[@identificationScheme='{XDS['ss_patient_id']}']"
        )
        patient = parse_cx(pid.get("value", "") if pid is not None else "")
    except (ValueError, IdentityError) as exc:
        raise _invalid(type(exc).__name__) from exc
    entry = objects.find(f"{_RIM}ExtrinsicObject")
    if entry is not None:
        member = objects.find(f"{_RIM}Association[@associationType='{XDS['has_member']}']")
        uid = entry.find(f"{_RIM}ExternalIdentifier[@identificationScheme='{XDS['de_unique_id']}']")
        previous = _values(member, "PreviousVersion") if member is not None else ""
        codes = tuple(
            (c.get("nodeRepresentation", ""), _values(c, "codingScheme"))
            for c in entry.iterfind(
                f"{_RIM}Classification[@classificationScheme='{XDS['de_confidentiality']}']"
            )
        )
        return UpdateSummary(
            patient=patient,
            entry_uuid=entry.get("lid", ""),
            unique_id=uid.get("value", "") if uid is not None else "",
            change=change,
            confidentiality=codes,
            reason="",
            previous_version=int(previous) if previous.isdigit() else 0,
        )
    status = objects.find(f"{_RIM}Association[@associationType='{_UPDATE_STATUS}']")
    if status is None:
        raise _invalid("no status association")
    return UpdateSummary(
        patient=patient,
        entry_uuid=status.get("targetObject", ""),
        unique_id=_values(status, "uniqueId"),
        change=change,
        confidentiality=(),
        reason=_values(status, "reason"),
        previous_version=0,
    )
