"""The outbox feed sink (an HTTP receiver of outbox items) and the sender that talks to it."""

__all__: list[str] = []
