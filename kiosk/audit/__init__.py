"""The audit trail's storage: a hash-chained, append-only table beside the outbox."""
