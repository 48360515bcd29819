"""Shared by the tests of tests/browser: the e2e suite's machinery and two fixtures.

Test modules here do `from browser_support import ...` (pytest puts this folder on sys.path);
importing a fixture into a test module is what makes pytest use it there.

The e2e suite's machinery (tests/e2e/conftest.py: the Python UserSig signer, LiveroomServer,
Client, uid) is reused without changing it, loaded under its own module name `liveroom_e2e`.
This folder deliberately has no conftest.py: the e2e tests do `from conftest import ...`, and in a
pytest session that runs both suites a second module called `conftest` would shadow theirs.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_E2E = HERE.parent / "e2e"
_E2E_CONFTEST = _E2E / "conftest.py"
# Its helper modules (cluster_services, gateway_client, cluster) import from there.
if str(_E2E) not in sys.path:
    sys.path.append(str(_E2E))
if "liveroom_e2e" in sys.modules:
    e2e = sys.modules["liveroom_e2e"]
else:
    _spec = importlib.util.spec_from_file_location("liveroom_e2e", _E2E_CONFTEST)
    e2e = importlib.util.module_from_spec(_spec)
    sys.modules["liveroom_e2e"] = e2e
    _spec.loader.exec_module(e2e)

# The e2e fixtures: a fresh liveroomd per test / per module (stopped with exit 0 asserted).
server = e2e.server
module_server = e2e.module_server


def _chromium_path():
    path = os.environ.get("LIVEROOM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.access(path, os.X_OK) else None


@pytest.fixture
def browser_tools():
    """(node, chromium) paths. Skips only when node or chromium is not installed; a missing
    `npm ci` in tests/browser is a failure, not a skip."""
    node, chromium = shutil.which("node"), _chromium_path()
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install nodejs)")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        pytest.fail("tests/browser/node_modules is missing: run `npm ci --prefix tests/browser`")
    return node, chromium


@pytest.fixture
def run_driver(browser_tools):
    """run_driver("drive.mjs", config) → the driver's JSON result, with its exit code in
    result["exitCode"]; fails the test with the driver's output when it printed no result."""
    node, chromium = browser_tools

    def run(script, config, timeout=120):
        config = {"chromium": chromium, **config}
        proc = subprocess.run([node, str(HERE / script)], input=json.dumps(config),
                              capture_output=True, text=True, timeout=timeout, cwd=HERE)
        lines = proc.stdout.strip().splitlines()
        try:
            result = json.loads(lines[-1])
        except (IndexError, ValueError):
            pytest.fail(f"{script} exited {proc.returncode} without a JSON result\n"
                        f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
        result["exitCode"] = proc.returncode
        result["stderr"] = proc.stderr[-4000:]
        return result

    return run
