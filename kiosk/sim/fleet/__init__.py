"""The simulated hawkBit DDI server (Starlette), written from the published API."""

__all__: list[str] = []
