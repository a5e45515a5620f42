"""The shared desk steps work on the real world: the app routes a CPE, the service logs in."""

from __future__ import annotations

from kiosk.services.session import SessionState
from kiosk.services.stages import Stage
from kiosk.tui.app import KioskApp
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import desk_services, sim_world
from tests.tui.world import qualified_admission

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki


async def test_the_app_routes_the_cpe_and_an_admission_reaches_a_qualified_identity(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=(100, 30)) as pilot:
        admission = await qualified_admission(app, pilot)
        assert desk_services.session.state is SessionState.LOGGED_IN
        assert await admission.dmp_status() is Stage.NO_DMP
