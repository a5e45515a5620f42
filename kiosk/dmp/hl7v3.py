"""The HL7 v3 message wrapper of the DMP's management transactions (TD0.x, TD1.x).

Pure: transmission wrapper (id, creation time, interaction, sender and receiver
devices), control act with its reason code, acknowledgement, ``attentionLine``
keywords and the patient's ``administrativeObservation`` values. The transactions of
:mod:`kiosk.dmp.transactions` fill the payload; the simulator reads with the same
functions. Names and codes come from :data:`kiosk.dmp.vocabulary.HL7V3`.

Shapes follow the HL7 v3 Normative Edition 2008 schemas (``../shared/schemas``):

* the acknowledgement's type is a child element, ``<acknowledgement><typeCode
  code="AA"/>…`` (MCCI_MT000200UV01/MCCI_MT000300UV01); the attribute form an earlier
  version of this module wrote is refused when read (:class:`AcknowledgementShapeInvalid`);
* every ``value`` of an ``attentionLine`` or an ``administrativeObservation`` is of the
  abstract type ``ANY`` and so carries its ``xsi:type`` (``BL``, ``INT``, ``TS``, ``ST``,
  ``CD``); a value without one is refused when read. The type of each DMP keyword is
  ours, from its meaning (verify against the DMP guide);
* an accept acknowledgement (MCCI_IN000002UV01) has no ``controlActProcess``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid
from kiosk.dmp.vocabulary import DMP_DEVICE_OID, HL7V3, NS
from kiosk.locale import msg

__all__ = [
    "V3",
    "XSI_TYPE",
    "Acknowledgement",
    "AcknowledgementShapeInvalid",
    "MessageHeader",
    "ValueType",
    "build_message",
    "child",
    "observation",
    "read_acknowledgement",
    "read_attention",
    "read_header",
    "read_observations",
    "read_value",
    "typed_value",
]

V3 = f"{{{NS['hl7']}}}"
"""Clark prefix of the HL7 v3 namespace."""

XSI_TYPE = f"{{{NS['xsi']}}}type"
"""Clark name of ``xsi:type``."""

ValueType = Literal["BL", "INT", "TS", "ST", "CD"]
"""The HL7 v3 data types a DMP keyword or observation value is sent as."""


class AcknowledgementShapeInvalid(DmpMessageInvalid):
    """An answer whose acknowledgement type is an attribute, not the schema's element."""

    code = "DMP_ACK_SHAPE"


@dataclass(frozen=True)
class MessageHeader:
    """Transmission wrapper: message id, time, sender (this installation) and receiver."""

    message_id: str
    created: datetime
    sender_oid: str
    sender_name: str
    receiver_oid: str = DMP_DEVICE_OID


@dataclass(frozen=True)
class Acknowledgement:
    """``AA`` accepted, or ``AE`` with the service's code and text."""

    accepted: bool
    code: str = ""
    text: str = ""
    target_message_id: str = ""


def child(
    parent: etree._Element, local: str, text: str | None = None, **attrib: str
) -> etree._Element:
    """Append ``<local>`` in the HL7 v3 namespace."""
    element = etree.SubElement(parent, f"{V3}{local}", attrib)
    if text is not None:
        element.text = text
    return element


def _device(parent: etree._Element, type_code: str, oid: str, name: str) -> None:
    role = "receiver" if type_code == "RCV" else "sender"
    device = child(child(parent, role, typeCode=type_code), "device")
    device.set("classCode", "DEV")
    device.set("determinerCode", "INSTANCE")
    child(device, "id", root=oid)
    if name:
        child(device, "softwareName", name)


def build_message(
    interaction: str,
    header: MessageHeader,
    *,
    reason: str = "",
    ack: Acknowledgement | None = None,
    attention: tuple[tuple[str, ValueType, str], ...] = (),
    control_act: bool = True,
) -> tuple[etree._Element, etree._Element | None]:
    """The wrapper and its ``controlActProcess``, to which the caller adds the payload.

    Element order follows MCCI_MT000100UV01/MCCI_MT000300UV01: receiver, sender, then
    the ``attentionLine`` keywords (DMP outputs), then the acknowledgement. An accept
    acknowledgement (``control_act=False``, MCCI_IN000002UV01) stops there.
    """
    root = etree.Element(
        f"{V3}{interaction}",
        {"ITSVersion": HL7V3["its_version"]},
        nsmap={None: NS["hl7"], "xsi": NS["xsi"]},  # type: ignore[dict-item]
    )
    child(root, "id", root=f"{header.sender_oid}.1", extension=header.message_id)
    created = header.created.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    child(root, "creationTime", value=created)
    child(root, "interactionId", root=HL7V3["interaction_root"], extension=interaction)
    child(root, "processingCode", code=HL7V3["processing_code"])
    child(root, "processingModeCode", code=HL7V3["processing_mode"])
    child(root, "acceptAckCode", code=HL7V3["accept_ack"])
    _device(root, "RCV", header.receiver_oid, "DMP" if ack is None else "")
    _device(root, "SND", header.sender_oid, header.sender_name)
    for keyword, kind, value in attention:
        line = child(root, "attentionLine")
        child(line, "keyWordText", code=keyword)
        typed_value(line, kind, value)
    if ack is not None:
        code = HL7V3["ack_ok"] if ack.accepted else HL7V3["ack_error"]
        acknowledgement = child(root, "acknowledgement")
        child(acknowledgement, "typeCode", code=code)
        target = child(acknowledgement, "targetMessage")
        child(target, "id", extension=ack.target_message_id)
        if not ack.accepted:
            detail = child(acknowledgement, "acknowledgementDetail", typeCode="E")
            child(detail, "code", code=ack.code)
            child(detail, "text", ack.text)
    if not control_act:
        return root, None
    control = child(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    if reason:
        child(control, "reasonCode", code=reason, codeSystem=HL7V3["reason_system"])
    return root, control


def typed_value(parent: etree._Element, kind: ValueType, value: str) -> etree._Element:
    """A ``value`` of the abstract type ``ANY`` with its ``xsi:type``: text, code or value."""
    element = child(parent, "value")
    element.set(XSI_TYPE, kind)
    if kind == "ST":
        element.text = value
    elif kind == "CD":
        element.set("code", value)
    else:
        element.set("value", value)
    return element


def read_value(element: etree._Element) -> str:
    """The text, code or value of a typed ``value``; DmpMessageInvalid without ``xsi:type``."""
    kind = element.get(XSI_TYPE, "").rpartition(":")[2]
    if kind == "ST":
        return element.text or ""
    if kind in ("CD", "CE", "CS", "CV"):
        return element.get("code", "")
    if kind in ("BL", "INT", "TS", "REAL"):
        return element.get("value", "")
    raise _invalid(f"value without a known xsi:type ({kind or 'none'})")


def observation(parent: etree._Element, code: str, kind: ValueType, value: str) -> None:
    """A patient ``subjectOf/administrativeObservation`` with a code and a typed value."""
    obs = child(child(parent, "subjectOf", typeCode="SBJ"), "administrativeObservation")
    obs.set("classCode", "OBS")
    obs.set("moodCode", "EVN")
    child(obs, "code", code=code, codeSystem=HL7V3["reason_system"])
    typed_value(obs, kind, value)


def _invalid(what: str) -> DmpMessageInvalid:
    return DmpMessageInvalid(
        msg("dmp.hl7v3.invalid"),
        detail=what,
    )


def read_header(message: etree._Element) -> tuple[str, MessageHeader, str]:
    """The interaction id, header and reason code of a message; DmpMessageInvalid if absent."""
    if not isinstance(message.tag, str) or not message.tag.startswith(V3):
        raise _invalid(f"root={message.tag!r}")
    interaction = message.find(f"{V3}interactionId")
    ident = message.find(f"{V3}id")
    created = message.find(f"{V3}creationTime")
    sender = message.find(f"{V3}sender/{V3}device")
    receiver = message.find(f"{V3}receiver/{V3}device/{V3}id")
    if interaction is None or ident is None or created is None or sender is None:
        raise _invalid("incomplete transmission wrapper")
    try:
        moment = datetime.strptime(created.get("value", ""), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise _invalid("creationTime") from exc
    sender_id = sender.find(f"{V3}id")
    header = MessageHeader(
        message_id=ident.get("extension", ""),
        created=moment,
        sender_oid=sender_id.get("root", "") if sender_id is not None else "",
        sender_name=sender.findtext(f"{V3}softwareName", ""),
        receiver_oid=receiver.get("root", "") if receiver is not None else "",
    )
    reason = message.find(f"{V3}controlActProcess/{V3}reasonCode")
    return (
        interaction.get("extension", ""),
        header,
        reason.get("code", "") if reason is not None else "",
    )


def read_acknowledgement(message: etree._Element) -> Acknowledgement:
    """The acknowledgement of a response; DmpMessageInvalid when there is none."""
    ack = message.find(f"{V3}acknowledgement")
    if ack is None:
        raise _invalid("no acknowledgement")
    if ack.get("typeCode") is not None:
        raise AcknowledgementShapeInvalid(
            msg("dmp.hl7v3.ack_attribute"), detail="acknowledgement/@typeCode (not HL7 v3)"
        )
    type_code = ack.find(f"{V3}typeCode")
    if type_code is None:
        raise _invalid("acknowledgement without typeCode")
    detail = ack.find(f"{V3}acknowledgementDetail")
    target = ack.find(f"{V3}targetMessage/{V3}id")
    code = detail.find(f"{V3}code") if detail is not None else None
    return Acknowledgement(
        accepted=type_code.get("code") == HL7V3["ack_ok"],
        code=code.get("code", "") if code is not None else "",
        text=detail.findtext(f"{V3}text", "") if detail is not None else "",
        target_message_id=target.get("extension", "") if target is not None else "",
    )


def read_attention(message: etree._Element) -> dict[str, str]:
    """Every ``attentionLine`` keyword and its value."""
    lines = message.iterfind(f"{V3}attentionLine")
    found: dict[str, str] = {}
    for line in lines:
        keyword = line.find(f"{V3}keyWordText")
        value = line.find(f"{V3}value")
        if keyword is not None and value is not None:
            found[keyword.get("code", "")] = read_value(value)
    return found


def read_observations(patient: etree._Element) -> dict[str, str]:
    """Every ``subjectOf/administrativeObservation`` code and value of a patient element."""
    found: dict[str, str] = {}
    for obs in patient.iterfind(f"{V3}subjectOf/{V3}administrativeObservation"):
        code = obs.find(f"{V3}code")
        value = obs.find(f"{V3}value")
        if code is not None and value is not None:
            found[code.get("code", "")] = read_value(value)
    return found
