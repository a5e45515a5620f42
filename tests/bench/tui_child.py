"""The fresh process of the headless cold-start bench: settings, services, app, first screen.

``python -m tests.bench.tui_child SITE_FILE`` does what ``kiosk run`` does (the site
file, :func:`kiosk.wiring.open_services` on the running world, the app) but runs the
app headless, and prints one JSON line the moment the welcome screen's frame holds
"Insérez votre carte CPE": seconds since the process started (from
``/proc/self/stat``, 10 ms ticks), seconds since this module's first line (the
interpreter's own start-up excluded) and its parts (the app's and the wiring's
imports; settings and ``open_services``; the app to its first frame), and the peak
RSS so far. Then a second line once the app's first round of footer probes has
ended (the printer asked for its status, the services for their health): the peak
RSS of the desk at rest, waiting for its first agent. Then it leaves.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

WELCOME = "Insérez votre carte CPE"


def since_exec_s() -> float:
    """Seconds since the kernel started this process (``starttime`` of ``/proc/self/stat``)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, after pid and comm
    return time.clock_gettime(time.CLOCK_BOOTTIME) - started


async def main(site_file: Path) -> dict[str, Any]:
    from kiosk.config import load_settings
    from kiosk.tui.app import KioskApp
    from kiosk.wiring import open_services
    from tests.bench.tui_world import frame_text, on_frames, peak_rss_mib

    imported = time.perf_counter()
    result: dict[str, Any] = {}
    settings = load_settings(site_file)
    async with open_services(settings) as services:
        opened = time.perf_counter()
        app = KioskApp(services, freeze_heap=True)  # as kiosk run has it
        shown = asyncio.Event()

        def watch(screen: Any, update: object) -> None:
            if not shown.is_set() and WELCOME in frame_text(app, update):
                result.update(
                    since_exec_s=since_exec_s(),
                    since_main_s=time.perf_counter() - STARTED,
                    imports_s=imported - STARTED,
                    services_s=opened - imported,
                    app_s=time.perf_counter() - opened,
                    vm_hwm_mib=peak_rss_mib(),
                    screen=type(screen).__name__,
                )
                print(json.dumps(result), flush=True)
                shown.set()

        on_frames(app, watch)

        async def leave(pilot: Any) -> None:
            await asyncio.wait_for(shown.wait(), 30)
            if app.probing is not None:  # started on mount, before the first frame
                await app.probing.wait()
            print(json.dumps({"idle_vm_hwm_mib": peak_rss_mib()}), flush=True)
            pilot.app.exit()

        await app.run_async(headless=True, size=(100, 30), auto_pilot=leave)
    return result


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
