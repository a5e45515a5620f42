"""The simulated ESC/POS receipt printer and its place in the world (thread, control channel)."""

__all__: list[str] = []
