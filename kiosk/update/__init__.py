"""Signed A/B updates with RAUC on the Raspberry Pi's tryboot (issue 20, ARCHITECTURE.md §10)."""
