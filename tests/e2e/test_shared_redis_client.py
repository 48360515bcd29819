"""The shared Redis connection's unit tests (tests/unit/shared_redis_client_test.cpp) against a
real Redis: replies routed to their callers through one pipelined connection, error replies and
a lost connection failing only what they should. The GoogleTest binary skips them without a
server; here they get the session's Redis and must all run and pass."""

from cluster_services import shared_redis
from test_postgres_store import run_unit_tests


def test_shared_redis_client_unit_tests_pass_against_a_real_redis():
    run_unit_tests("SharedRedis.*", {"LIVEROOM_TEST_REDIS_URL": shared_redis().url}, at_least=5,
                   timeout=120)
