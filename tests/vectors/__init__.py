"""Golden test vectors as data files, each family with its loader module."""
