"""Fleet check-in over hawkBit's Direct Device Integration API (issue 20).

:mod:`~kiosk.fleet.ddi` is the wire format (pure), :mod:`~kiosk.fleet.client` the HTTP
client, :mod:`~kiosk.fleet.agent` the check-in loop driving the
:class:`~kiosk.fleet.ports.Updater` port of :mod:`kiosk.update`.
"""

__all__: list[str] = []
