"""kiosk: admission-desk appliance for French hospitals."""

__version__ = "0.1.0"
