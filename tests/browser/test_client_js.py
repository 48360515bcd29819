"""The unit tests of clients/js/liveroom.js (node:test, a scripted fake WebSocket, no server),
run from pytest so that one `pytest tests/browser` covers the JavaScript client."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_liveroom_js_unit_tests():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install nodejs)")
    # The file, not the folder: what `node --test DIR` means changed across Node versions.
    tests = REPO / "clients" / "js" / "test" / "liveroom.test.mjs"
    proc = subprocess.run([node, "--test", str(tests)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
