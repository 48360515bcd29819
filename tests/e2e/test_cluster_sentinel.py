"""Cluster mode on a Redis run by Sentinel (issue #10): `redis_url = "redis-sentinel://..."`
names the Sentinels and the master; a failover of Redis (the master demoted, its replica
promoted) does not stop the cluster and loses nothing acknowledged. And the Redis a node cannot
use stops its start-up with the reason: a Sentinel that knows no such master, a replica named
as the server, a wrong password.

Runs in every mode (it starts its own Redis master, replica and Sentinel, and its own cluster on
the session's PostgreSQL)."""

import secrets
import subprocess
import time

import pytest

import cluster_services
from cluster import Writers, cluster_factory  # noqa: F401 (fixture)
from conftest import BINARY, default_apps, free_port, render_config

LEASE_MS = 2000
MASTER = "liveroom-master"


class SentinelRedis:
    """A master, its replica and one Sentinel watching them, all on free ports. `url` is what a
    node's redis_url says; cli() talks to whichever server is the master now."""

    def __init__(self, root):
        self.password = secrets.token_hex(8)
        self.master = cluster_services.Redis(root=root / "a", password=self.password).start()
        self.replica = cluster_services.Redis(root=root / "b", password=self.password).start()
        self.replica.cli("CONFIG", "SET", "masterauth", self.password)
        self.replica.cli("REPLICAOF", "127.0.0.1", self.master.port)
        self.port = cluster_services._free_port()
        conf = root / "sentinel.conf"
        conf.write_text(
            # With the master's password, as the URL's credentials are offered to it too.
            f"port {self.port}\nbind 127.0.0.1\ndir {root}\nrequirepass {self.password}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel auth-pass {MASTER} {self.password}\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\n"
            f"sentinel failover-timeout {MASTER} 4000\n")
        self._log = open(root / "sentinel.log", "ab")
        self.proc = subprocess.Popen([cluster_services.REDIS_SERVER, str(conf), "--sentinel"],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        # Ready once it knows the replica (a failover needs one to promote).
        self.wait(lambda: self.sentinel("SENTINEL", "replicas", MASTER).count("127.0.0.1") >= 1,
                  "the Sentinel to see the replica")
        self.wait(lambda: "master_link_status:up" in self.replica.cli("INFO", "replication"),
                  "the replica to sync")

    @property
    def url(self):
        return f"redis-sentinel://:{self.password}@127.0.0.1:{self.port}/{MASTER}/0"

    def sentinel(self, *args):
        p = subprocess.run([cluster_services.REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port),
                            "--no-auth-warning", "-a", self.password, *[str(a) for a in args]],
                           capture_output=True, text=True, timeout=10)
        return p.stdout.strip()

    def master_port(self):
        return int(self.sentinel("SENTINEL", "get-master-addr-by-name", MASTER).split()[1])

    def current(self):
        return self.master if self.master_port() == self.master.port else self.replica

    def cli(self, *args, timeout=10):
        return self.current().cli(*args, timeout=timeout)

    @staticmethod
    def wait(condition, what, timeout=20):
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    def destroy(self):
        self.proc.kill()
        self.proc.wait()
        self._log.close()
        self.master.destroy()
        self.replica.destroy()


@pytest.fixture
def sentinel_redis(tmp_path):
    r = SentinelRedis(tmp_path / "redis")
    yield r
    r.destroy()


def test_a_failover_of_redis_under_sentinel_keeps_the_cluster_serving(cluster_factory,
                                                                     sentinel_redis):
    cluster = cluster_factory("sentinel", lease_ms=LEASE_MS, redis=sentinel_redis)
    writers = Writers(cluster, n=4, timeout=10.0, transport_ok=False)
    writers.create_rooms()
    leader = cluster.leader()
    assert sentinel_redis.master.cli("GET", f"{cluster.key_prefix}:leader").startswith(
        leader.node_id + " ")
    old_master = sentinel_redis.master.port

    def fail_redis_over():
        assert sentinel_redis.sentinel("SENTINEL", "FAILOVER", MASTER) == "OK"
        sentinel_redis.wait(lambda: sentinel_redis.master_port() != old_master,
                            "the Sentinel to promote the replica")
        # The old master is told to follow the new one (and its clients are disconnected);
        # the nodes ask the Sentinel again.
        sentinel_redis.wait(
            lambda: "role:slave" in sentinel_redis.master.cli("INFO", "replication"),
            "the old master to become a replica")

    began, _ = writers.around(fail_redis_over, settle=2 * LEASE_MS / 1000)  # several renewals
    print(f"Redis failover (began {time.monotonic() - began:.1f} s ago): {writers.summary()}")
    writers.check_no_violation()
    writers.check_every_ack_visible(cluster.client())
    # The lease and the registry now live on the promoted replica, renewed there.
    holder = sentinel_redis.replica.cli("GET", f"{cluster.key_prefix}:leader")
    serving = cluster.leader()
    assert holder.startswith(serving.node_id + " "), holder
    assert 0 < int(sentinel_redis.replica.cli("PTTL", f"{cluster.key_prefix}:leader")) <= LEASE_MS
    assert cluster.ready_as_leader() == [serving]
    status = subprocess.run([str(BINARY), "cluster", "status", "--config",
                             str(serving.config_path), "--json"],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr
    exited = [n.node_id for n in cluster.nodes if n.proc is not None and not n.alive()]
    assert not exited, f"nodes exited during the Redis failover: {exited}\n{cluster.log_tail(30)}"


def refused_start(tmp_path, redis_url):
    """Starts a cluster node on `redis_url`; asserts it exits non-zero, answers its stderr."""
    config = tmp_path / "node.toml"
    port = free_port()
    pg = cluster_services.shared_postgres()
    config.write_text(render_config(f"127.0.0.1:{port}", tmp_path / "data", default_apps()) +
                      f'\n[cluster]\nnode_id = "n1"\nadvertise_url = "http://127.0.0.1:{port}"\n'
                      f'postgres_url = "{pg.url(pg.create_database())}"\n'
                      f'redis_url = "{redis_url}"\n')
    p = subprocess.run([str(BINARY), "serve", "--config", str(config)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0, p.stderr
    return p.stderr


def test_a_sentinel_that_knows_no_such_master_stops_start_up_with_the_reason(tmp_path,
                                                                            sentinel_redis):
    stderr = refused_start(tmp_path, sentinel_redis.url.replace(f"/{MASTER}/", "/no-such-master/"))
    assert "no Sentinel named the Redis master" in stderr, stderr
    assert "knows no master named 'no-such-master'" in stderr, stderr


def test_a_replica_or_a_wrong_password_stops_start_up_with_the_reason(tmp_path):
    password = secrets.token_hex(8)
    master = cluster_services.Redis(root=tmp_path / "a", password=password).start()
    replica = cluster_services.Redis(root=tmp_path / "b", password=password).start()
    try:
        replica.cli("REPLICAOF", "127.0.0.1", master.port)
        # redis:// naming the replica: every write of the lease would be refused (READONLY).
        stderr = refused_start(tmp_path, replica.url)
        assert f"Redis at 127.0.0.1:{replica.port} is a slave, not a master" in stderr, stderr
        assert "point redis_url at the master" in stderr, stderr
        stderr = refused_start(tmp_path, master.url.replace(password, "not-the-password"))
        assert f"Redis at 127.0.0.1:{master.port} refused the login" in stderr, stderr
    finally:
        replica.destroy()
        master.destroy()
