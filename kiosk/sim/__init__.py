"""Simulators of every device and remote service: product code for the demo, tests and developers."""
