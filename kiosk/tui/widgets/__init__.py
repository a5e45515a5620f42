"""Widgets shared by the desk and self-service screens."""
