"""``make bench``: run every ``tests/bench/bench_*.py`` and write its JSON to ``bench-results/``.

Each module exposes ``run() -> dict`` and runs in a process of its own; the result is
written as ``bench-results/<name>.json`` with the machine's facts beside it. Select modules by
name with ``python -m tests.bench nir datamatrix``.

``--repeat N`` runs the selection N times in a row (``make bench BENCH_REPEAT=5``) and writes
``bench-results/<name>.runs.json``: every run's summary, then the min, median and max of each
numeric figure, so a noisy machine shows its spread instead of one lucky or unlucky run.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path


def spread(summaries: list[dict[str, object]]) -> dict[str, dict[str, float]]:
    """Min, median and max of each numeric figure the runs' summaries share."""
    if not summaries or not all(isinstance(s, dict) for s in summaries):
        return {}  # a bench whose summary is a sentence has no figures to spread
    keys = set.intersection(*(set(s) for s in summaries))
    figures: dict[str, dict[str, float]] = {}
    for key in sorted(keys):
        values = [s[key] for s in summaries]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            numbers = [float(v) for v in values]  # type: ignore[arg-type]
            figures[key] = {
                "min": min(numbers),
                "median": statistics.median(numbers),
                "max": max(numbers),
            }
    return figures


def repeat(count: int, names: list[str], out: Path) -> int:
    """Run the selected benches ``count`` times in a row and write each one's spread."""
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in names}
    worst = 0
    for _ in range(count):
        for name in names:
            code = subprocess.run([sys.executable, "-m", "tests.bench", name], check=False)
            worst = max(worst, code.returncode)
            if code.returncode == 0:
                record = json.loads((out / f"{name}.json").read_text())
                runs[name].append(record["result"].get("summary", {}))
    for name, summaries in runs.items():
        path = out / f"{name}.runs.json"
        body = {"bench": name, "runs": summaries, "spread": spread(summaries)}
        path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
        print(f"  → {path}: {len(summaries)} of {count} runs")
    return worst


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    count = 1
    if argv[:1] == ["--repeat"] and len(argv) > 1 and argv[1].isdigit():
        count, argv = int(argv[1]), argv[2:]
    names = sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    wanted = [n for n in names if not argv or n in argv]
    if count > 1:
        return repeat(count, wanted, out)
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
