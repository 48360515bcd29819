"""Cluster mode on a PostgreSQL primary with a synchronous standby (issue #10): the nodes' URL
names both servers with target_session_attrs=read-write, so when the primary dies and the
standby is promoted, the leader's writer reconnects to it, retries the commit it was making, and
nothing acknowledged is lost (every acknowledgement followed a commit the standby confirmed).

Runs in every mode (it starts its own two PostgreSQL servers and its own cluster)."""

import time

import pytest

from cluster import Writers, cluster_factory  # noqa: F401 (fixture)
from cluster_services import PG_BIN, Postgres, _as_postgres, _run

LEASE_MS = 2000


class ReplicatedPostgres:
    """A primary and a standby streaming from it synchronously (a commit returns once the
    standby has it). url() names both; create_database() and sql() go to the primary of the
    moment."""

    def __init__(self):
        # Folders of their own under /tmp (the postgres user cannot reach pytest's).
        self.primary = Postgres().start()
        self.standby = Postgres()
        self.standby.superuser_password = self.primary.superuser_password
        self.standby.password = self.primary.password
        conninfo = (f"host=127.0.0.1 port={self.primary.port} user=postgres "
                    f"password={self.primary.superuser_password} application_name=standby")
        _run(_as_postgres([PG_BIN / "pg_basebackup", "-d", conninfo, "-D", self.standby.data,
                           "-R", "-X", "stream", "-c", "fast"]), timeout=120)
        self.standby.start()
        self.primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
        self.primary.sql("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while self.primary.sql("SELECT sync_state FROM pg_stat_replication") != "sync":
            assert time.monotonic() < deadline, "the standby never became synchronous"
            time.sleep(0.1)
        self.current = self.primary

    def url(self, db="postgres"):
        p = self.primary
        return (f"postgresql://{p.role}:{p.password}@127.0.0.1:{p.port},"
                f"127.0.0.1:{self.standby.port}/{db}?target_session_attrs=read-write")

    def create_database(self, prefix="liveroom"):
        return self.current.create_database(prefix)

    def drop_database(self, name):
        self.current.drop_database(name)

    def sql(self, query, db="postgres"):
        return self.current.sql(query, db=db)

    def fail_over(self):
        """kill -9 of the primary, then the standby promoted (what an HA manager does)."""
        self.primary.kill9()
        self.standby.sql("SELECT pg_promote(wait => true)")
        self.current = self.standby

    def destroy(self):
        self.primary.destroy()
        self.standby.destroy()


@pytest.fixture
def replicated_postgres():
    pg = ReplicatedPostgres()
    yield pg
    pg.destroy()


def test_a_postgres_failover_to_a_synchronous_standby_loses_no_acknowledged_write(
        cluster_factory, replicated_postgres):
    cluster = cluster_factory("pgfail", lease_ms=LEASE_MS, postgres=replicated_postgres)
    # Every node stays up, so a transport error is a violation too; calls in flight while no
    # server accepts writes wait in the writer's retries (or are refused), never acknowledged
    # and lost.
    writers = Writers(cluster, n=4, timeout=20.0, transport_ok=False)
    writers.create_rooms()
    leader = cluster.leader()
    failed_at, first_again = writers.around(replicated_postgres.fail_over)
    print(f"PostgreSQL failover: {writers.summary()}; writes acknowledged again "
          f"{first_again - failed_at:.1f} s after the kill")
    writers.check_no_violation()
    writers.check_every_ack_visible(cluster.client())
    # The same leader went on: its writer followed the database, nothing had to fail over.
    assert cluster.leader() is leader
    exited = [n.node_id for n in cluster.nodes if n.proc is not None and not n.alive()]
    assert not exited, f"nodes exited during the failover: {exited}\n{cluster.log_tail(30)}"
    # And what the writers saw acknowledged is what the promoted server holds.
    rooms = replicated_postgres.sql("SELECT count(*) FROM rooms", db=cluster.database)
    assert int(rooms) >= len(writers.rooms)
