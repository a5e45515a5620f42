"""What a kiosk process loads when it starts: no more than it uses.

httpx imports its command-line client on every ``import httpx`` (encode/httpx#3547):
pygments' lexers, rich's console and click, ~2.7 MiB and a tenth of a second on the
desk's cold start. :mod:`kiosk` marks that module absent; these tests check it in a
fresh interpreter, where nothing else has imported httpx first.
"""

from __future__ import annotations

import json
import subprocess
import sys


def _fresh(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_importing_the_dmp_client_does_not_load_httpx_command_line_client() -> None:
    loaded = _fresh(
        "import json, sys\n"
        "import kiosk.dmp.client, kiosk.insi.client\n"
        "print(json.dumps({'cli': 'httpx._main' in sys.modules and sys.modules['httpx._main']"
        " is not None, 'pygments': any(m.split('.')[0] == 'pygments' for m in sys.modules)}))"
    )
    assert loaded == {"cli": False, "pygments": False}


def test_httpx_still_sends_requests_without_its_command_line_client() -> None:
    answered = _fresh(
        "import json, kiosk, httpx\n"
        "def ok(request): return httpx.Response(204)\n"
        "with httpx.Client(transport=httpx.MockTransport(ok)) as client:\n"
        "    print(json.dumps({'status': client.get('http://dmp.invalid/').status_code}))"
    )
    assert answered == {"status": 204}
