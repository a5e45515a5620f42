"""The serial number of the CPS/CPE card in a reader, which the PKCS#11 adapter finds it by.

GET DATA ``00 CA 00 5A`` as the virtual CPE answers it (verify on a real CPS3). A
card that does not answer, or answers something unreadable, has no serial: that is
no failure, because the Cryptolib CPS also finds a card by its reader's slot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kiosk.cards.ports import ApduChannel
from kiosk.errors import CardError

__all__ = ["GET_SERIAL", "read_card_serial"]

GET_SERIAL = bytes.fromhex("00CA005A00")


async def read_card_serial(
    open_channel: Callable[[str], Awaitable[ApduChannel]], reader: str
) -> str | None:
    """The card serial in ``reader``, or None when the card gives none."""
    try:
        channel = await open_channel(reader)
        try:
            data, sw = await channel.transmit(GET_SERIAL)
        finally:
            await channel.aclose()
    except CardError:
        return None
    return data.decode("ascii", errors="replace").strip() or None if sw == 0x9000 else None
