"""The ASGI DMP simulator (Starlette): records, access rules, documents, faults, traces."""

__all__: list[str] = []
