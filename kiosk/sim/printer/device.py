"""Simulated receipt printer: an asyncio TCP server that speaks ESC/POS like a port-9100 printer.

It keeps each job's raw bytes and a PNG of what would come out of the head, by
interpreting what ``kiosk.printing.receipt`` emits (``ESC @``, ``GS v 0`` raster,
``ESC d``/``ESC J`` feeds, ``GS V`` cut) and plain text lines (drawn in Pillow's
default font). It answers ``DLE EOT n`` status queries in stream order, like a printer
that processes its buffer, and can be told to run out of paper (now, or after some
rows of the next job), to open its cover, to go offline, or to drop the connection
after some bytes. A job ends at a cut or when the connection closes.

Driver methods: ``paper_out()``, ``run_out_after(rows)``, ``cover_open()``,
``offline()``, ``drop_after(nbytes)``, ``refill()``; recorder: ``jobs[-1].png``.
In the demo world it runs in its own thread (``kiosk.sim.printer.control``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["SimJob", "SimulatedPrinter"]

log = logging.getLogger(__name__)

_LINE_DOTS: Final = 30
"""Default ESC/POS line spacing (1/6 inch at 203 dpi, rounded)."""
_ONE_ARG: Final = frozenset(b"!-3EGMRaftU{")  # ESC x n commands taken and ignored
_GS_ONE_ARG: Final = frozenset(b"!BHfhw")


@dataclass
class SimJob:
    """One job as the simulated printer received and printed it."""

    raw: bytes = field(repr=False)
    image: Image.Image = field(repr=False)
    cut: bool
    dropped: bool
    paper_ran_out: bool

    @property
    def png(self) -> bytes:
        """PNG of the printed paper."""
        out = io.BytesIO()
        self.image.save(out, format="PNG")
        return out.getvalue()

    def __repr__(self) -> str:
        return (
            f"SimJob(bytes={len(self.raw)}, size={self.image.size}, cut={self.cut}, "
            f"dropped={self.dropped}, paper_ran_out={self.paper_ran_out})"
        )


class _Paper:
    """The rows printed so far in the current job."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: list[np.ndarray] = []
        self.raw = bytearray()
        self.text = bytearray()
        self.lost = False

    def count(self) -> int:
        return sum(r.shape[0] for r in self.rows)

    def add(self, black: np.ndarray) -> None:
        if black.shape[1] < self.width:
            black = np.pad(black, ((0, 0), (0, self.width - black.shape[1])))
        self.rows.append(black[:, : self.width])

    def feed(self, dots: int) -> None:
        self.flush_text()
        if dots:
            self.add(np.zeros((dots, self.width), dtype=bool))

    def flush_text(self) -> None:
        if not self.text:
            return
        line = self.text.decode("cp437", errors="replace")
        self.text.clear()
        img = Image.new("L", (self.width, _LINE_DOTS), 255)
        ImageDraw.Draw(img).text((0, 4), line, font=ImageFont.load_default(20), fill=0)
        self.add(np.asarray(img) < 128)

    def image(self) -> Image.Image:
        self.flush_text()
        if not self.rows:
            return Image.new("1", (self.width, 1), 1)
        black = np.vstack(self.rows)
        return Image.fromarray(np.where(black, 0, 255).astype(np.uint8)).convert("1")


class SimulatedPrinter:
    """A TCP ESC/POS printer living in the current event loop."""

    def __init__(
        self,
        *,
        width_dots: int = 576,
        host: str = "127.0.0.1",
        port: int = 0,
        jobs_dir: Path | None = None,
    ) -> None:
        self.width_dots = width_dots
        self.jobs_dir = jobs_dir
        self.host = host
        self._port = port
        self.jobs: list[SimJob] = []
        self.queries = 0
        self.connections = 0
        self._paper_out = False
        self._cover_open = False
        self._offline = False
        self._rows_left: int | None = None
        self._drop_after: int | None = None
        self._server: asyncio.Server | None = None
        self._job_done = asyncio.Event()

    # --- drivers --------------------------------------------------------------------

    def paper_out(self) -> None:
        """The roll is empty from now on."""
        self._paper_out = True

    def run_out_after(self, rows: int) -> None:
        """The roll ends after ``rows`` more printed dot rows."""
        self._rows_left = rows

    def cover_open(self, is_open: bool = True) -> None:
        """Open (or close) the cover."""
        self._cover_open = is_open

    def offline(self, is_offline: bool = True) -> None:
        """Take the printer offline (or back)."""
        self._offline = is_offline

    def drop_after(self, nbytes: int | None) -> None:
        """Close the next connection abruptly after ``nbytes`` bytes of data."""
        self._drop_after = nbytes

    def refill(self) -> None:
        """A fresh roll, cover closed, online, no pending fault."""
        self._paper_out = self._cover_open = self._offline = False
        self._rows_left = self._drop_after = None

    # --- server ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port it listens on (ephemeral unless given)."""
        if self._server is None:
            return self._port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Listen on ``host:port``."""
        self._server = await asyncio.start_server(self._serve, self.host, self._port)

    async def stop(self) -> None:
        """Stop listening and close the server."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> SimulatedPrinter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_for_jobs(self, count: int, timeout_s: float = 30.0) -> list[SimJob]:
        """Wait until ``count`` jobs have been recorded."""
        async with asyncio.timeout(timeout_s):
            while len(self.jobs) < count:
                self._job_done.clear()
                await self._job_done.wait()
        return self.jobs

    def status_byte(self, n: int) -> int:
        """The answer to ``DLE EOT n`` now."""
        stopped = self._paper_out or self._cover_open or self._offline
        if n == 1:
            return 0x12 | (0x08 if stopped else 0)
        if n == 2:
            return 0x12 | (0x04 if self._cover_open else 0) | (0x20 if self._paper_out else 0)
        if n == 4:
            return 0x12 | (0x60 if self._paper_out else 0)
        return 0x12

    # --- one connection ---------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        paper = _Paper(self.width_dots)
        buf = bytearray()
        received = 0
        limit, self._drop_after = self._drop_after, None
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                if limit is not None and received + len(chunk) >= limit:
                    chunk = chunk[: limit - received]
                    paper.raw += chunk
                    buf += chunk
                    self._interpret(buf, paper, writer.write)
                    self._finish(paper, cut=False, dropped=True)
                    writer.transport.abort()
                    return
                received += len(chunk)
                buf += chunk
                paper.raw += chunk
                cut = self._interpret(buf, paper, writer.write)
                while cut:
                    self._finish(paper, cut=True, dropped=False)
                    paper = _Paper(self.width_dots)
                    cut = self._interpret(buf, paper, writer.write)
                await writer.drain()
        except (ConnectionError, OSError):
            self._finish(paper, cut=False, dropped=True)
            return
        self._finish(paper, cut=False, dropped=False)
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()
            await writer.wait_closed()

    def feed(self, data: bytes, *, chunk: int = 0) -> bytes:
        """Interpret ``data`` as one connection would, without a socket; returns the replies.

        ``chunk`` > 0 delivers it in pieces of that size, as TCP may.
        """
        replies = bytearray()
        paper = _Paper(self.width_dots)
        buf = bytearray()
        step = chunk or max(1, len(data))
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            buf += piece
            paper.raw += piece
            while self._interpret(buf, paper, replies.extend):
                self._finish(paper, cut=True, dropped=False)
                paper = _Paper(self.width_dots)
        self._finish(paper, cut=False, dropped=False)
        return bytes(replies)

    def _finish(self, paper: _Paper, *, cut: bool, dropped: bool) -> None:
        if not paper.rows and not paper.text and not paper.lost and not cut and not dropped:
            return  # a status-only connection prints nothing
        job = SimJob(bytes(paper.raw), paper.image(), cut, dropped, paper.lost)
        self.jobs.append(job)
        if self.jobs_dir is not None:
            stem = self.jobs_dir / f"job-{len(self.jobs):04d}"
            stem.with_suffix(".png").write_bytes(job.png)
            stem.with_suffix(".bin").write_bytes(job.raw)
        self._job_done.set()
        log.info("simulated printer: %r", job)

    def _print_rows(self, paper: _Paper, black: np.ndarray) -> None:
        if self._paper_out or self._cover_open or self._offline:
            paper.lost = True  # the head does not print; a real printer discards or stalls
            return
        if self._rows_left is not None:
            if black.shape[0] >= self._rows_left:
                black = black[: self._rows_left]
                paper.lost = True
                self._paper_out = True
                self._rows_left = None
            else:
                self._rows_left -= black.shape[0]
        paper.add(black)

    def _interpret(self, buf: bytearray, paper: _Paper, reply: Callable[[bytes], object]) -> bool:
        """Consume complete commands from ``buf``; True when a cut ended the job."""
        i = 0
        cut = False
        n = len(buf)
        while i < n and not cut:
            b = buf[i]
            need = 1
            if b == 0x10:  # DLE EOT n: real-time status
                if i + 3 > n:
                    break
                if buf[i + 1] == 0x04:
                    self.queries += 1
                    reply(bytes((self.status_byte(buf[i + 2]),)))
                need = 3
            elif b == 0x1B:  # ESC
                if i + 2 > n:
                    break
                c = buf[i + 1]
                need = 2 if c == 0x40 else 3
                if i + need > n:
                    break
                if c == 0x40:
                    paper.flush_text()
                elif c == 0x64:  # ESC d n: feed n lines
                    paper.feed(buf[i + 2] * _LINE_DOTS)
                elif c == 0x4A:  # ESC J n: feed n dots
                    paper.feed(buf[i + 2])
                elif c not in _ONE_ARG:
                    log.warning("simulated printer: unknown ESC %#04x", c)
            elif b == 0x1D:  # GS
                if i + 2 > n:
                    break
                c = buf[i + 1]
                if c == 0x76:  # GS v 0 m xL xH yL yH data
                    if i + 8 > n:
                        break
                    xb = buf[i + 4] | buf[i + 5] << 8
                    rows = buf[i + 6] | buf[i + 7] << 8
                    need = 8 + xb * rows
                    if i + need > n:
                        break
                    data = np.frombuffer(bytes(buf[i + 8 : i + need]), dtype=np.uint8)
                    bits = np.unpackbits(data.reshape(rows, xb), axis=1).astype(bool)
                    paper.flush_text()
                    self._print_rows(paper, bits)
                elif c == 0x56:  # GS V m [n]: cut
                    if i + 3 > n:
                        break
                    need = 4 if buf[i + 2] in (65, 66) else 3
                    if i + need > n:
                        break
                    cut = True
                else:
                    need = 3 if c in _GS_ONE_ARG else 2
                    if i + need > n:
                        break
            elif b == 0x0A:
                if paper.text:
                    if not (self._paper_out or self._cover_open or self._offline):
                        paper.flush_text()
                    paper.text.clear()
                else:
                    paper.feed(_LINE_DOTS)
            elif b >= 0x20:
                paper.text.append(b)
            i += need
        del buf[:i]
        return cut
