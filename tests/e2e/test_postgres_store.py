"""The PostgreSQL store's unit tests (tests/unit/pg_store_test.cpp) against a real PostgreSQL:
reload of every change byte for byte, fencing of a stale epoch, commits across a lost
connection, the schema guard and a refused password. The GoogleTest binary skips them without a
server; here they get the session's PostgreSQL and must all run and pass."""

import os
import re
import subprocess

from cluster_services import shared_postgres
from conftest import BINARY

UNIT_TESTS = BINARY.parent / "liveroom_unit_tests"


def test_postgres_store_unit_tests_pass_against_a_real_postgresql():
    assert UNIT_TESTS.exists(), f"{UNIT_TESTS} is not built"
    pg = shared_postgres()
    env = dict(os.environ, LIVEROOM_TEST_POSTGRES_URL=pg.admin_url)
    run = subprocess.run([str(UNIT_TESTS), "--gtest_filter=PostgresStore.*"], env=env,
                         capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    passed = re.search(r"\[  PASSED  \] (\d+) test", out)
    assert passed and int(passed.group(1)) >= 5, out
    assert "SKIPPED" not in out, out
