"""The pure core: parsing, validation, value objects and rules; no I/O, standard library only."""
