"""The simulated printer as a device: stream parsing, status answers, text, saved jobs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.printing.profiles import PrinterProfile
from kiosk.sim.printer.control import PrinterComponent, control
from kiosk.sim.printer.device import SimulatedPrinter
from kiosk.sim.world import SimWorld
from tests.printing.conftest import receipt_job


async def _send(port: int, data: bytes, *, piece: int = 0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    step = piece or len(data)
    for i in range(0, len(data), step):
        writer.write(data[i : i + step])
        await writer.drain()
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_a_job_split_in_odd_pieces_prints_the_same(profile80: PrinterProfile) -> None:
    job = receipt_job(profile80)
    async with SimulatedPrinter() as sim:
        await _send(sim.port, job.escpos)
        await _send(sim.port, job.escpos, piece=997)
        whole, pieces = await sim.wait_for_jobs(2)
    assert np.array_equal(np.asarray(whole.image), np.asarray(pieces.image))


async def test_status_queries_are_answered_in_stream_order() -> None:
    async with SimulatedPrinter() as sim:
        sim.cover_open()
        answer = await _send(sim.port, b"\x10\x04\x01\x10\x04\x02\x10\x04\x04")
    assert answer == bytes((0x1A, 0x16, 0x12))
    assert sim.queries == 3
    assert sim.jobs == []  # a status-only connection prints nothing


async def test_plain_text_lines_and_feeds_are_printed() -> None:
    async with SimulatedPrinter(width_dots=384) as sim:
        await _send(sim.port, b"\x1b@HELLO 123\n\x1bd\x02\x1dVA\x00")
        [job] = await sim.wait_for_jobs(1)
    pixels = np.asarray(job.image)
    assert job.cut
    assert job.image.size == (384, 30 * 3)
    assert not pixels[:30].all()  # ink on the text line
    assert pixels[30:].all()  # two blank fed lines


async def test_the_world_component_publishes_its_port_and_saves_each_job(
    tmp_path: Path, profile80: PrinterProfile
) -> None:
    component = PrinterComponent()
    world = SimWorld(state_dir=tmp_path, components=[component])
    with world.running():
        facts = world.facts["printer"]
        assert isinstance(facts, dict)
        await _send(facts["port"], receipt_job(profile80).escpos)
        for _ in range(200):
            if await asyncio.to_thread((tmp_path / "printer" / "job-0001.bin").exists):
                break
            await asyncio.sleep(0.05)
        assert any("tcp://127.0.0.1:" in line for line in component.describe())
        # Driven from outside, as `kiosk sim printer paper-out` does.
        answer = await asyncio.to_thread(control, facts["control_port"], "paper-out")
        assert answer["status"]["4"] == 0x72
        assert answer["jobs"] == 1
        refilled = await asyncio.to_thread(control, facts["control_port"], "refill")
        assert refilled["status"]["4"] == 0x12
    assert (tmp_path / "printer" / "job-0001.png").stat().st_size > 1000
    assert (tmp_path / "printer" / "job-0001.bin").read_bytes() == receipt_job(profile80).escpos


_COMMANDS = st.sampled_from(
    [
        b"\x1b@",
        b"\x10\x04\x01",
        b"\x10\x04\x04",
        b"\x1bd\x01",
        b"\x1bJ\x05",
        b"\x1dVA\x00",
        b"\x1dV\x00",
        b"\x1ba\x01",
        b"\x1dv0\x00\x02\x00\x03\x00" + bytes(range(6)),
        b"HELLO\n",
        b"\n",
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.one_of(_COMMANDS, st.binary(max_size=12)), max_size=12),
    chunk=st.integers(min_value=1, max_value=7),
)
def test_any_stream_in_any_pieces_prints_and_answers_as_in_one_piece(
    parts: list[bytes], chunk: int
) -> None:
    data = b"".join(parts)
    whole, pieces = SimulatedPrinter(width_dots=384), SimulatedPrinter(width_dots=384)
    assert whole.feed(data) == pieces.feed(data, chunk=chunk)
    assert [np.asarray(j.image).tobytes() for j in whole.jobs] == [
        np.asarray(j.image).tobytes() for j in pieces.jobs
    ]
    assert [j.cut for j in whole.jobs] == [j.cut for j in pieces.jobs]
