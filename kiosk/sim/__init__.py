"""Simulators of every device and remote service, shipped for the demo, tests and developers."""
