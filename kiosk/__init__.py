"""kiosk: admission-desk appliance for French hospitals.

One start-up measure lives here, because it must come before anything imports httpx:
httpx's ``__init__`` imports its own command-line client (``httpx/_main.py``, which
loads pygments' lexers, rich and click) on every ``import httpx`` (encode/httpx#3547).
The kiosk never runs that client, so its module is marked absent: httpx then takes
its own fallback (an ``httpx.main`` that says the CLI is not installed), and the desk
starts with ~2.7 MiB less and without pygments (``tests/test_startup.py``).
"""

import sys

__version__ = "0.1.0"

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "not importable"
