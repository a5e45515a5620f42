"""PC/SC through pyscard: the multi-slot monitor and the APDU channel.

The only module that imports ``smartcard``. pyscard's ``CardMonitor`` and
``ReaderMonitor`` are not used: they miss the initial state, deadlock with several
readers under fast churn and call observers on foreign threads (issue 5). Instead
one worker thread runs one ``SCardGetStatusChange`` loop over every reader plus
``\\\\?PnP?\\Notification`` and hands typed events to asyncio with
``loop.call_soon_threadsafe``.

- Start-up is reconciled: readers present give ``ReaderAdded``, cards already in
  them give ``CardInserted``.
- pcsc-lite counts card events in the upper 16 bits of ``dwEventState``. When a
  card was swapped between two polls (presence unchanged, counter moved by two or
  more) the monitor reports ``CardRemoved`` then ``CardInserted``, so a swapped
  Vitale card is never mistaken for the one already read. A card that came and
  went while the slot looked empty is not reported: nothing could have read it.
- When the PC/SC service goes away (pcscd restarted) every card and reader is
  reported gone, the context is re-established by polling every 100 ms, and the
  state is announced again.

Blocking PC/SC calls run on daemon threads owned by this module (not
``asyncio.to_thread``): a hung card can block ``SCardTransmit`` until it is pulled,
and a stuck executor thread would otherwise hold up the event loop's shutdown.
Connections use ``SCARD_LEAVE_CARD`` and are released explicitly (FIELD-NOTES.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from smartcard import scard

from kiosk.cards.atr import CardProfiles, format_atr
from kiosk.cards.ports import (
    ApduChannel,
    CardEvent,
    CardInserted,
    CardRemoved,
    ReaderAdded,
    ReaderRemoved,
)
from kiosk.errors import CardError, NotFound, Unavailable
from kiosk.errors import CardRemoved as CardRemovedError
from kiosk.locale import msg

__all__ = [
    "PNP_READER",
    "CardTimeout",
    "PcscChannel",
    "PcscMonitor",
    "slot_states",
]

log = logging.getLogger(__name__)

PNP_READER = "\\\\?PnP?\\Notification"
_T = TypeVar("_T")

_SERVICE_LOST = {
    scard.SCARD_E_NO_SERVICE,
    scard.SCARD_E_SERVICE_STOPPED,
    scard.SCARD_E_INVALID_HANDLE,
    scard.SCARD_F_COMM_ERROR,
    scard.SCARD_E_NO_READERS_AVAILABLE,
}
_CARD_GONE = {
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_E_NO_SMARTCARD,
    scard.SCARD_W_RESET_CARD,
    scard.SCARD_W_UNPOWERED_CARD,
    scard.SCARD_E_READER_UNAVAILABLE,
    scard.SCARD_E_INVALID_HANDLE,
}


class CardTimeout(CardError):
    """The card did not answer within the operation timeout."""

    code = "CARD_TIMEOUT"


def _unavailable(hr: int) -> Unavailable:
    return Unavailable(
        msg("cards.pcsc.unavailable"),
        detail=f"hr={hr & 0xFFFFFFFF:#x}",
    )


def _removed(reader: str) -> CardRemovedError:
    return CardRemovedError(
        msg("cards.pcsc.removed", reader=reader),
        detail=f"reader={reader}",
    )


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    # pyscard raises SystemError instead of returning a code on some dead handles.
    try:
        return fn(*args)
    except SystemError:
        return scard.SCARD_E_INVALID_HANDLE


class PcscMonitor:
    """One ``SCardGetStatusChange`` loop over all readers, as an async iterator of events."""

    def __init__(self, profiles: CardProfiles, *, poll_ms: int = 1000) -> None:
        self.profiles = profiles
        self.poll_ms = poll_ms
        self._queue: asyncio.Queue[CardEvent] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._ctx_lock = threading.Lock()
        self._ctx: int | None = None
        self._thread: threading.Thread | None = None
        self._present: dict[str, bool] = {}

    def start(self) -> None:
        """Start the worker thread (``events()`` does it on first use)."""
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name="pcsc-monitor", daemon=True)
            self._thread.start()

    async def events(self) -> AsyncIterator[CardEvent]:
        """Reconciled events, in order, until :meth:`aclose`."""
        self.start()
        while True:
            yield await self._queue.get()

    async def next_event(self, wait_s: float | None = None) -> CardEvent:
        """The next event (tests and the CLI); ``TimeoutError`` after ``wait_s``."""
        self.start()
        return await asyncio.wait_for(self._queue.get(), wait_s)

    async def aclose(self) -> None:
        """Stop the loop and release the context."""
        self._stop.set()
        with self._ctx_lock:
            if self._ctx is not None:
                _call(scard.SCardCancel, self._ctx)
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 5.0)

    def _emit(self, event: CardEvent) -> None:
        if self._loop is not None and not self._stop.is_set():
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def _run(self) -> None:
        while not self._stop.is_set():
            hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hr != scard.SCARD_S_SUCCESS:
                self._stop.wait(0.1)  # pcscd down or restarting: poll, don't give up
                continue
            with self._ctx_lock:
                self._ctx = ctx
            try:
                self._watch(ctx)
            except Exception:  # never let the worker die silently
                log.exception("card monitor loop failed; reconnecting")
            finally:
                with self._ctx_lock:
                    self._ctx = None
                _call(scard.SCardReleaseContext, ctx)
            for reader in list(self._present):
                self._forget(reader)
            if not self._stop.is_set():
                self._stop.wait(0.1)

    def _forget(self, reader: str) -> None:
        if self._present.pop(reader, False):
            self._emit(CardRemoved(reader))
        self._emit(ReaderRemoved(reader))

    def _list(self, ctx: int) -> list[str] | None:
        hr, readers = scard.SCardListReaders(ctx, [])
        if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hr != scard.SCARD_S_SUCCESS:
            return None
        return list(readers)

    def _inserted(self, reader: str, atr: bytes) -> None:
        kind, profile = self.profiles.kind(atr)
        log.info("card in %s: %s (%s)", reader, format_atr(atr), kind.value)
        self._emit(CardInserted(reader, atr, kind, profile))

    def _watch(self, ctx: int) -> None:
        states: dict[str, int] = {}
        pnp_state = 0
        relist = True
        while not self._stop.is_set():
            if relist:
                readers = self._list(ctx)
                if readers is None:
                    return
                for gone in [r for r in states if r not in readers]:
                    del states[gone]
                    self._forget(gone)
                for new in readers:
                    if new not in states:
                        states[new] = scard.SCARD_STATE_UNAWARE
                        self._present[new] = False
                        self._emit(ReaderAdded(new))
                relist = False
            query = [(PNP_READER, pnp_state), *states.items()]
            hr, result = scard.SCardGetStatusChange(ctx, self.poll_ms, query)
            if hr in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
                continue
            if hr == scard.SCARD_E_UNKNOWN_READER:
                relist = True
                continue
            if hr != scard.SCARD_S_SUCCESS:
                log.info("SCardGetStatusChange: %#x; reconnecting", hr & 0xFFFFFFFF)
                return
            for name, event_state, atr in result:
                if name == PNP_READER:
                    if event_state & scard.SCARD_STATE_CHANGED:
                        relist = True
                    pnp_state = event_state & ~scard.SCARD_STATE_CHANGED
                    continue
                if name not in states:
                    continue
                if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_IGNORE):
                    del states[name]
                    self._forget(name)
                    continue
                self._reader_state(name, states[name], event_state, bytes(atr))
                states[name] = event_state & ~scard.SCARD_STATE_CHANGED

    def _reader_state(self, reader: str, before: int, now: int, atr: bytes) -> None:
        was = self._present.get(reader, False)
        present = bool(now & scard.SCARD_STATE_PRESENT) and not now & scard.SCARD_STATE_MUTE
        if before != scard.SCARD_STATE_UNAWARE and present and was:
            moved = ((now >> 16) - (before >> 16)) & 0xFFFF
            if moved >= 2:  # swapped between two polls
                self._emit(CardRemoved(reader))
                self._inserted(reader, atr)
                return
        if present and not was:
            self._present[reader] = True
            self._inserted(reader, atr)
        elif was and not present:
            self._present[reader] = False
            self._emit(CardRemoved(reader))


class _Worker:
    """A daemon thread running one channel's blocking calls in order."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    async def call(self, fn: Callable[..., _T], *args: Any, wait_s: float | None = None) -> _T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()

        def settle(outcome: Callable[[], None]) -> None:
            if not future.done():
                outcome()

        def job() -> None:
            try:
                value = fn(*args)
            except BaseException as exc:  # delivered to the awaiting task
                err = exc
                deliver(lambda: future.set_exception(err))
            else:
                deliver(lambda: future.set_result(value))

        def deliver(outcome: Callable[[], None]) -> None:
            # A call stuck past its timeout may return after its loop has closed: no one waits.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, outcome)

        self._jobs.put(job)
        return await asyncio.wait_for(future, wait_s)

    def close(self) -> None:
        self._jobs.put(None)


class PcscChannel:
    """An APDU channel to the card in one reader (``ApduChannel``), with a timeout per call."""

    def __init__(self, reader: str, timeout_s: float) -> None:
        self.reader = reader
        self.timeout_s = timeout_s
        self._worker = _Worker(f"pcsc-{reader}")
        self._ctx: int | None = None
        self._card: int | None = None
        self._protocol = 0
        self._hung = False

    @classmethod
    async def open(cls, reader: str, *, timeout_s: float = 5.0) -> PcscChannel:
        """Connect (shared, T=0 or T=1) to the card in ``reader``."""
        channel = cls(reader, timeout_s)
        try:
            await channel._worker.call(channel._connect, wait_s=timeout_s)
        except TimeoutError:
            # A card gone silent mid-read can keep the reader busy: a read error, as transmit's.
            channel._hung = True  # the connect may stay blocked until the card is pulled
            await channel.aclose()
            raise channel._timeout() from None
        except BaseException:
            await channel.aclose()
            raise
        return channel

    def _connect(self) -> None:
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            raise _unavailable(hr)
        self._ctx = ctx
        hr, card, protocol = scard.SCardConnect(
            ctx,
            self.reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hr == scard.SCARD_E_UNKNOWN_READER:
            raise NotFound(
                msg("cards.pcsc.pcsc_channel_connect", reader=self.reader),
            )
        if hr in _CARD_GONE or hr == scard.SCARD_W_REMOVED_CARD:
            raise _removed(self.reader)
        if hr != scard.SCARD_S_SUCCESS:
            raise _unavailable(hr)
        self._card, self._protocol = card, protocol

    def _transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if self._card is None:
            raise _removed(self.reader)
        result = _call(scard.SCardTransmit, self._card, self._protocol, list(apdu))
        if isinstance(result, int):
            hr, response = result, []
        else:
            hr, response = result
        if hr == scard.SCARD_S_SUCCESS and len(response) >= 2:
            return bytes(response[:-2]), (response[-2] << 8) | response[-1]
        if hr in _CARD_GONE or self._card_absent():
            raise _removed(self.reader)
        if hr in _SERVICE_LOST:
            raise _unavailable(hr)
        raise CardError(
            msg("cards.pcsc.pcsc_channel_transmit"),
            detail=f"reader={self.reader} hr={hr & 0xFFFFFFFF:#x}",
        )

    def _card_absent(self, within_s: float = 1.5) -> bool:
        # vpcd and CCID report a vanished card at their next poll: look for a little while.
        if self._ctx is None:
            return True
        deadline = time.monotonic() + within_s
        state = scard.SCARD_STATE_UNAWARE
        while time.monotonic() < deadline:
            hr, result = scard.SCardGetStatusChange(self._ctx, 200, [(self.reader, state)])
            if hr not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
                return True
            if hr == scard.SCARD_S_SUCCESS:
                state = result[0][1] & ~scard.SCARD_STATE_CHANGED
                if not state & scard.SCARD_STATE_PRESENT:
                    return True
        return False

    async def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU; ``CardRemoved``, ``CardTimeout`` or ``CardError`` on failure."""
        if self._hung:
            raise self._timeout()
        try:
            return await self._worker.call(self._transmit, apdu, wait_s=self.timeout_s)
        except TimeoutError:
            self._hung = True  # the worker may stay blocked until the card is pulled
            raise self._timeout() from None

    def _timeout(self) -> CardTimeout:
        return CardTimeout(
            msg("cards.pcsc.pcsc_channel_timeout", reader=self.reader),
            detail=f"reader={self.reader} timeout_s={self.timeout_s}",
        )

    def _release(self) -> None:
        card, self._card = self._card, None
        ctx, self._ctx = self._ctx, None
        if card is not None:
            _call(scard.SCardDisconnect, card, scard.SCARD_LEAVE_CARD)
        if ctx is not None:
            _call(scard.SCardReleaseContext, ctx)

    async def aclose(self) -> None:
        """Disconnect leaving the card powered, release the context, stop the worker."""
        if self._hung:
            self._worker._jobs.put(self._release)  # runs once the stuck call returns
        else:
            with contextlib.suppress(TimeoutError):
                await self._worker.call(self._release, wait_s=self.timeout_s)
        self._worker.close()


async def exchange(
    reader: str, job: Callable[[ApduChannel], Coroutine[Any, Any, _T]], *, timeout_s: float
) -> _T:
    """Connect to the card in ``reader``, run ``job`` on it, release: one hop to a thread.

    :meth:`PcscChannel.transmit` is a hop to the channel's thread and back to the event
    loop for every APDU (and one more each to connect and release); while the loop draws
    a screen — the beneficiaries one, as the Vitale is read — every hop waits for it.
    Here the whole conversation runs on the channel's thread, ``job`` in a private loop
    over a channel that transmits directly; one timeout bounds it all.
    """
    channel = PcscChannel(reader, timeout_s)
    direct = _DirectChannel(channel)

    def whole() -> _T:
        channel._connect()
        try:
            return asyncio.run(job(direct))
        finally:
            channel._release()  # also after a stuck call returns, once the card is pulled

    try:
        return await channel._worker.call(whole, wait_s=timeout_s)
    except TimeoutError:
        raise channel._timeout() from None
    finally:
        channel._worker.close()


class _DirectChannel:
    """The channel as seen from its own thread: each APDU a blocking call, no hop."""

    def __init__(self, channel: PcscChannel) -> None:
        self._channel = channel

    async def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        return self._channel._transmit(apdu)

    async def aclose(self) -> None:
        """The outer channel closes: nothing here."""


def slot_states() -> list[tuple[str, bytes | None]]:
    """Every slot now, with the ATR of its card or None (blocking, one status query)."""
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        raise _unavailable(hr)
    try:
        hr, readers = scard.SCardListReaders(ctx, [])
        if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hr != scard.SCARD_S_SUCCESS:
            raise _unavailable(hr)
        query = [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
        hr, result = scard.SCardGetStatusChange(ctx, 0, query)
        if hr != scard.SCARD_S_SUCCESS:
            raise _unavailable(hr)
        return [
            (name, bytes(atr) if state & scard.SCARD_STATE_PRESENT else None)
            for name, state, atr in result
        ]
    finally:
        scard.SCardReleaseContext(ctx)
