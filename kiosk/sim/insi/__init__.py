"""The ASGI INSi simulator over a fictitious population."""

__all__: list[str] = []
