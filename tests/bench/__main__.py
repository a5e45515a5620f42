"""``make bench``: run every ``tests/bench/bench_*.py`` and write its JSON to ``bench-results/``.

Each module exposes ``run() -> dict`` and runs in a process of its own; the result is
written as ``bench-results/<name>.json`` with the machine's facts beside it. Select modules by
name with ``python -m tests.bench nir datamatrix``.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    names = sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    wanted = [n for n in names if not argv or n in argv]
    if len(wanted) > 1:
        # One process per bench: a PKCS#11 module is initialised once per process with the
        # first SOFTHSM2_CONF it sees, and RSS figures must not carry other benches' memory.
        return max(
            subprocess.run([sys.executable, "-m", "tests.bench", name], check=False).returncode
            for name in wanted
        )
    failed = 0
    for name in wanted:
        module = importlib.import_module(f"tests.bench.bench_{name}")
        started = time.perf_counter()
        print(f"bench {name} …", flush=True)
        try:
            result = module.run()
        except Exception as exc:  # a failing bench is reported, the others still run
            print(f"bench {name} failed: {exc!r}", file=sys.stderr)
            failed += 1
            continue
        record = {
            "bench": name,
            "machine": {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
            },
            "wall_s": round(time.perf_counter() - started, 3),
            "result": result,
        }
        path = out / f"{name}.json"
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"  → {path}: {json.dumps(result.get('summary', {}), sort_keys=True)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
