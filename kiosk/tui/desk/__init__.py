"""The desk flow's screens (ARCHITECTURE.md §9): one screen per step, one service call each."""
