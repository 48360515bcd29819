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


def run_unit_tests(gtest_filter, env, at_least, timeout=300):
    """Runs the GoogleTest cases `gtest_filter` with `env` added (the server they need): all must
    run (none skipped) and pass, and at least `at_least` of them."""
    assert UNIT_TESTS.exists(), f"{UNIT_TESTS} is not built"
    run = subprocess.run([str(UNIT_TESTS), f"--gtest_filter={gtest_filter}"],
                         env=dict(os.environ, **env), capture_output=True, text=True,
                         timeout=timeout)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    passed = re.search(r"\[  PASSED  \] (\d+) test", out)
    assert passed and int(passed.group(1)) >= at_least, out
    assert "SKIPPED" not in out, out


def test_postgres_store_unit_tests_pass_against_a_real_postgresql():
    run_unit_tests("PostgresStore.*", {"LIVEROOM_TEST_POSTGRES_URL": shared_postgres().admin_url},
                   at_least=13)
