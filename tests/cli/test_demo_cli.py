"""``kiosk demo`` starts the world, says honestly what runs, and stops everything."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import RunKiosk


def test_demo_runs_for_a_while_then_stops_everything(kiosk: RunKiosk) -> None:
    done = kiosk("demo", "--duration", "1", timeout=240)
    assert done.returncode == 0, done.stderr
    assert "TUI is not built yet" in done.stdout
    assert "every simulator stopped" in done.stdout


def test_bad_config_is_one_clear_line(kiosk: RunKiosk, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('mode = "kitchen"\n')
    done = kiosk("--config", str(bad), "demo", "--duration", "0")
    assert done.returncode == 1
    assert "mode" in done.stderr
    assert "Traceback" not in done.stderr
