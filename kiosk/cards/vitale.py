"""Reading a Vitale card's open files through any :class:`~kiosk.cards.ports.ApduChannel`.

The sequence (DOMAIN.md §5, **verify** on site): SELECT the VITALE application by
AID, read EF 2001 (the map), then every file the map lists, selecting the owning
application first when it changes. Files are read with ``00 B0`` in 256-byte
chunks from offset 0, stopping at a short chunk, at ``6282`` (end reached; its data
is the last chunk) or at ``6B00`` (offset beyond the end). Any other status word is
a :class:`CardReadError` naming the file. Nothing is returned until every file is
read and parsed: a card pulled mid-read gives ``CardRemoved`` and no partial list.

The card serial comes from the ``66`` object when the card has one (simulation
extension), otherwise from a fingerprint of the files read, so that a card swapped
after the beneficiary was chosen is detected either way (DOMAIN.md §4).

Seam for the certified path: the GIE SESAM-Vitale licensed library (and the ApCV
app) reads cards through its own API. A ``SesamVitaleReader`` would implement
:class:`~kiosk.cards.ports.VitaleReader` (``async read(reader) -> VitaleCardData``)
by calling that library in a worker thread and mapping its beneficiary records and
error codes to the same domain objects and ``CardError`` subclasses; wiring picks it
by configuration. It is deliberately not written here (licence and SDK required).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from kiosk.cards.ports import ApduChannel
from kiosk.domain.vitale import (
    MAP_FID,
    MF_VITALE_AID,
    VITALE_AID,
    Beneficiary,
    VitaleCardData,
    content_serial,
    parse_beneficiaries,
    parse_card_description,
    parse_map,
)
from kiosk.errors import CardReadError
from kiosk.locale import msg

__all__ = [
    "MAP_FID",
    "MF_VITALE_AID",
    "VITALE_AID",
    "NotVitale",
    "PcscVitaleReader",
    "ReadJob",
    "read_file",
    "read_vitale",
]

_CHUNK = 256
_MAX_FILE = 0x8000  # offsets are 15 bits in READ BINARY with P1 bit 8 clear

_SW_TEXT = {
    0x6A82: msg("cards.vitale.sw.file_not_found"),
    0x6982: msg("cards.vitale.sw.access_denied"),
    0x6983: msg("cards.vitale.sw.blocked"),
    0x6986: msg("cards.vitale.sw.no_file_selected"),
    0x6D00: msg("cards.vitale.sw.unknown_instruction"),
}


class NotVitale(CardReadError):
    """The card has no VITALE application."""

    code = "CARD_NOT_VITALE"


def _sw_error(file: str, step: str, sw: int) -> CardReadError:
    status = _SW_TEXT.get(sw) or msg("cards.vitale.sw.unexpected")
    return CardReadError(
        msg("cards.vitale.unreadable", file=file, step=step, status=status, sw=sw),
        detail=f"file={file} step={step} sw={sw:04X}",
    )


async def _select_aid(channel: ApduChannel, aid: bytes, label: str) -> None:
    _, sw = await channel.transmit(bytes([0x00, 0xA4, 0x04, 0x00, len(aid)]) + aid)
    if sw == 0x6A82 and aid == VITALE_AID:
        raise NotVitale(
            msg("cards.vitale.select_aid"),
            detail="SELECT VITALE: 6A82",
        )
    if sw != 0x9000 and sw >> 8 != 0x61:
        raise _sw_error(label, "SELECT", sw)


async def read_file(channel: ApduChannel, fid: int, label: str) -> bytes:
    """SELECT ``fid`` in the current application and read it whole (stop rules above)."""
    _, sw = await channel.transmit(bytes([0x00, 0xA4, 0x02, 0x00, 0x02]) + fid.to_bytes(2, "big"))
    if sw != 0x9000 and sw >> 8 != 0x61:
        raise _sw_error(label, "SELECT", sw)
    content = b""
    while True:
        if len(content) >= _MAX_FILE:
            raise _sw_error(label, "READ BINARY", 0x6700)
        offset = len(content)
        data, sw = await channel.transmit(bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, 0x00]))
        if sw == 0x9000:
            content += data
            if len(data) < _CHUNK:
                return content
        elif sw == 0x6282:
            return content + data
        elif sw == 0x6B00:
            return content
        else:
            raise _sw_error(label, "READ BINARY", sw)


async def read_vitale(channel: ApduChannel) -> VitaleCardData:
    """Read the map and every file it lists; all beneficiaries or an error."""
    await _select_aid(channel, VITALE_AID, "VITALE")
    raw_map = await read_file(channel, MAP_FID, "2001")
    vmap = parse_map(raw_map, file="2001")
    files: dict[str, bytes] = {"2001": raw_map}
    people: list[Beneficiary] = []
    serial: str | None = None
    current = VITALE_AID
    for ref in vmap.files:
        label = f"{ref.fid:04X}"
        aid = vmap.aid_of(ref)
        if aid != current:
            await _select_aid(channel, aid, label)
            current = aid
        data = await read_file(channel, ref.fid, label)
        files[label] = data
        people.extend(parse_beneficiaries(data, file=label))
        description = parse_card_description(data, file=label)
        if description is not None and description.serial:
            serial = description.serial
    if not people:
        raise CardReadError(
            msg("cards.vitale.read_vitale"),
            detail=f"files={sorted(files)}",
        )
    return VitaleCardData(serial or content_serial(files), tuple(people))


ReadJob = Callable[[ApduChannel], Coroutine[Any, Any, VitaleCardData]]
"""A whole Vitale read over one channel (:func:`read_vitale`)."""


class PcscVitaleReader:
    """``VitaleReader`` over PC/SC: the whole read as one exchange with the card, always released.

    ``exchange(reader, job)`` connects, runs ``job`` on the channel and releases it
    (:func:`kiosk.cards.pcsc.exchange`: on the channel's thread, in one hop).
    """

    def __init__(self, exchange: Callable[[str, ReadJob], Awaitable[VitaleCardData]]) -> None:
        self._exchange = exchange

    async def read(self, reader: str) -> VitaleCardData:
        """Read the Vitale card in ``reader``."""
        return await self._exchange(reader, read_vitale)
