"""PostgreSQL and Redis servers for the cluster tests (issue #10), each a real server of the
Debian packages on a free port in a temporary folder.

* Postgres: `initdb` (as the `postgres` user: PostgreSQL refuses to run as root) with a
  password-protected superuser, scram-sha-256 over TCP, fsync on, listening on 127.0.0.1 only,
  its unix socket in its own folder. `create_database()` makes a fresh database (and gives it to
  the `liveroom` role) so many clusters can share one server; `url(db)` is its libpq URI.
  `stop()`, `kill9()` and `restart()` (same port, same data) for failure tests.
* Redis: `redis-server` with no persistence on a free port, an optional password. `stop()`,
  `kill9()`, `restart()` (same port: the data is gone, as after a real crash without
  persistence) and `url`.
* shared_postgres() / shared_redis(): one of each for the whole test session, started lazily by
  the first cluster that needs them and stopped by stop_shared() (conftest calls it when the
  session ends, and atexit does if that never ran).

Only psql and redis-cli (installed with the servers) are used to talk to them, no Python driver.
"""

import atexit
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("LIVEROOM_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("LIVEROOM_REDIS_SERVER", "/usr/bin/redis-server")
PSQL = shutil.which("psql") or "/usr/bin/psql"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
PG_OS_USER = "postgres"


def _free_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _run(cmd, check=True, timeout=60, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited with {p.returncode}:\n"
                           f"{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p


def _as_postgres(cmd):
    """Runs `cmd` as the postgres user when we are root (postgres refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_OS_USER, "--", *map(str, cmd)]
    return list(map(str, cmd))


def _chown_to_postgres(path):
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(PG_OS_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)


def _tail(path, n=40):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------------------------
# PostgreSQL

class Postgres:
    """One PostgreSQL server. `superuser`/`superuser_password` administer it; `role`/`password`
    own the databases create_database() makes (what liveroomd connects as: not a superuser)."""

    def __init__(self, root=None, port=None, role="liveroom"):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="liveroom-pg-"))
        self._own_root = root is None
        self.root.mkdir(parents=True, exist_ok=True)
        _chown_to_postgres(self.root)
        os.chmod(self.root, 0o700)
        self.data = self.root / "data"
        self.sock_dir = self.root / "sock"
        self.log_path = self.root / "postgres.log"
        self.port = port or _free_port()
        self.superuser = "postgres"
        self.superuser_password = secrets.token_hex(16)
        self.role = role
        self.password = secrets.token_hex(16)
        self._db_counter = 0
        self._lock = threading.Lock()
        self.proc = None
        self._logf = None
        self.running = False

    # -- addresses

    def url(self, db="postgres", user=None, password=None):
        """The libpq URI of database `db` (as the liveroom role by default)."""
        user = user or self.role
        password = password or (self.superuser_password if user == self.superuser else self.password)
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{db}"

    @property
    def admin_url(self):
        return self.url("postgres", self.superuser)

    # -- life cycle

    def _server_options(self):
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": self.port,
            "unix_socket_directories": self.sock_dir,
            "fsync": "on",
            "synchronous_commit": "on",
            "max_connections": 300,
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
        }
        return [a for k, v in settings.items() for a in ("-c", f"{k}={v}")]

    def start(self, timeout=60):
        if not (self.data / "PG_VERSION").exists():
            pwfile = self.root / "pwfile"
            pwfile.write_text(self.superuser_password + "\n")
            _chown_to_postgres(pwfile)
            os.chmod(pwfile, 0o600)
            _run(_as_postgres([PG_BIN / "initdb", "-D", self.data, "-U", self.superuser,
                               f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
                               "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                               "--no-instructions"]), timeout=120)
            pwfile.unlink()
        self.sock_dir.mkdir(exist_ok=True)
        _chown_to_postgres(self.sock_dir)
        # postgres itself (not pg_ctl, which leaves it to init) is our child, so kill9() and
        # stop() reap it and a restart finds no stale postmaster.pid owner.
        cmd = [str(PG_BIN / "postgres"), "-D", str(self.data), *self._server_options()]
        self._logf = open(self.log_path, "ab")
        as_pg = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PG_OS_USER)
            as_pg = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        self.proc = subprocess.Popen(cmd, stdout=self._logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.root, **as_pg)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                self._logf.close()
                raise RuntimeError(f"PostgreSQL exited with {rc} during start-up (port "
                                   f"{self.port}):\n{_tail(self.log_path)}")
            p = _run([PG_BIN / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"],
                     check=False, timeout=10)
            if p.returncode == 0:
                break
            if time.monotonic() > deadline:
                self.kill9()
                raise RuntimeError(f"PostgreSQL not ready within {timeout}s on port {self.port}:\n"
                                   f"{_tail(self.log_path)}")
            time.sleep(0.1)
        self.running = True
        if not self._role_exists():
            self.sql(f"CREATE ROLE {self.role} LOGIN PASSWORD '{self.password}'")
        return self

    def _role_exists(self):
        return self.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{self.role}'") == "1"

    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def stop(self, mode="fast", timeout=60):
        """A fast shutdown (SIGINT: clients are disconnected, everything committed is kept);
        mode="immediate" is SIGQUIT (crash-like, recovery at the next start)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGINT if mode == "fast" else signal.SIGQUIT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._logf.close()
        self.running = False

    def kill9(self):
        """SIGKILL to the postmaster; its backends notice and exit; the data stays."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()
        self._logf.close()
        self.running = False
        # Backends of a killed postmaster end by themselves once they notice; the restart
        # refuses while one is still attached to the old shared memory.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._orphans():
            time.sleep(0.05)

    def _orphans(self):
        p = _run(["pgrep", "-u", PG_OS_USER, "-f", "^postgres: "], check=False)
        mine = []
        for pid in p.stdout.split():
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if cwd.startswith(str(self.root)):
                mine.append(pid)
        return mine

    def restart(self):
        """Starts again on the same port with the same data (after stop() or kill9())."""
        if self.running:
            self.stop()
        return self.start()

    def destroy(self):
        """Stops the server and removes its folder (when this object made it)."""
        self.stop(mode="immediate")
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- SQL through psql

    def sql(self, query, db="postgres", user=None, timeout=30):
        """Runs `query` (one statement or several separated by ;) with psql; returns the output of
        the last one, unaligned and tuples only (rows on lines, columns separated by |)."""
        url = self.url(db, user or self.superuser)
        p = _run([PSQL, url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", query],
                 timeout=timeout, env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
        return p.stdout.strip()

    def create_database(self, prefix="liveroom"):
        """A fresh, empty database owned by the liveroom role; returns its name."""
        with self._lock:
            self._db_counter += 1
            name = f"{prefix}_{os.getpid()}_{self._db_counter}_{secrets.token_hex(3)}"
        self.sql(f'CREATE DATABASE "{name}" OWNER {self.role}')
        return name

    def drop_database(self, name):
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __repr__(self):
        return f"<Postgres 127.0.0.1:{self.port} {self.root}>"


# --------------------------------------------------------------------------------------------
# Redis

class Redis:
    def __init__(self, root=None, port=None, password=None):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="liveroom-redis-"))
        self._own_root = root is None
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.port = port or _free_port()
        self.password = password
        self.log_path = self.root / "redis.log"
        self.proc = None
        self._logf = None

    @property
    def url(self):
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout=20):
        assert self.proc is None, "already running"
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no",
               "--protected-mode", "yes", "--loglevel", "warning"]
        if self.password:
            cmd += ["--requirepass", self.password]
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                raise RuntimeError(f"redis-server exited with {rc}:\n{_tail(self.log_path)}")
            try:
                if self.cli("PING", timeout=2) == "PONG":
                    return self
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            if time.monotonic() > deadline:
                self.kill9()
                raise RuntimeError(f"redis-server not answering within {timeout}s:\n{_tail(self.log_path)}")
            time.sleep(0.05)

    def cli(self, *args, timeout=10):
        """Runs one command with redis-cli; returns its raw output, stripped."""
        cmd = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), "--no-auth-warning"]
        if self.password:
            cmd += ["-a", self.password]
        p = _run(cmd + [str(a) for a in args], timeout=timeout)
        return p.stdout.strip()

    def keys(self, pattern="*"):
        out = self.cli("--scan", "--pattern", pattern)
        return [k for k in out.splitlines() if k]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._logf.close()

    def kill9(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()
        self._logf.close()

    def restart(self):
        """Starts again on the same port (stopping it first if it runs); without persistence
        every key is gone, as after a crash."""
        self.stop()
        return self.start()

    def destroy(self):
        self.kill9()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __repr__(self):
        return f"<Redis 127.0.0.1:{self.port} {self.root}>"


# --------------------------------------------------------------------------------------------
# One PostgreSQL and one Redis for a whole test session

_shared = {}
_shared_lock = threading.Lock()


def shared_postgres():
    with _shared_lock:
        pg = _shared.get("pg")
        if pg is None:
            pg = _shared["pg"] = Postgres().start()
        return pg


def shared_redis():
    with _shared_lock:
        r = _shared.get("redis")
        if r is None:
            r = _shared["redis"] = Redis(password=secrets.token_hex(12)).start()
        return r


def stop_shared():
    with _shared_lock:
        for key in ("redis", "pg"):
            svc = _shared.pop(key, None)
            if svc is not None:
                try:
                    svc.destroy()
                except Exception:  # best effort at the end of a session
                    pass


atexit.register(stop_shared)
