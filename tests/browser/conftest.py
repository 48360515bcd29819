"""tests/browser reuses the e2e suite's machinery (tests/e2e/conftest.py: the Python UserSig
signer, LiveroomServer, Client, uid) without changing it.

It is loaded under its own module name, `liveroom_e2e`, rather than put on sys.path as
`conftest`: a pytest session that runs tests/e2e and tests/browser together imports each
directory's conftest.py, and two modules both called `conftest` would shadow each other.
"""

import importlib.util
import sys
from pathlib import Path

_E2E_CONFTEST = Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"
_spec = importlib.util.spec_from_file_location("liveroom_e2e", _E2E_CONFTEST)
e2e = importlib.util.module_from_spec(_spec)
sys.modules["liveroom_e2e"] = e2e
_spec.loader.exec_module(e2e)

# Fixtures and the hook that appends the server's log to a failure report, found by pytest here.
server = e2e.server
module_server = e2e.module_server
pytest_runtest_makereport = e2e.pytest_runtest_makereport
