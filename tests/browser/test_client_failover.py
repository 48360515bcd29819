"""clients/js/liveroom.js (in headless Chromium) against a three-node cluster behind a load
balancer (issue #10, "losing a node"): kill -9 of the leader while a member sits on a seat as an
admin; the client retries through the balancer, lands on another node and is back in its room
with its seat and role, and the room goes on.

The balancer is a TCP round-robin proxy here (a connection goes to the next node that accepts it),
so the test needs no nginx; the client sees one address, as behind any balancer.
"""

import itertools
import json
import socket
import subprocess
import sys
import threading

from browser_support import HERE, browser_tools, e2e  # noqa: F401 (fixture)

# The cluster machinery of the e2e suite (tests/e2e/cluster.py), which imports the e2e conftest
# under its own name: the one browser_support loaded serves.
sys.modules.setdefault("conftest", e2e)
from cluster import cluster_factory  # noqa: E402,F401 (fixture)
from gateway_client import GatewayServer  # noqa: E402


class RoundRobinBalancer:
    """Accepts on a free port and pipes each connection to the next node that accepts it."""

    def __init__(self, ports):
        self.ports = list(ports)
        self.next = itertools.count()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _backend(self):
        for _ in range(len(self.ports)):
            port = self.ports[next(self.next) % len(self.ports)]
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                continue  # down: as a balancer's "next upstream"
        return None

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            backend = self._backend()
            if backend is None:
                client.close()
                continue
            backend.settimeout(None)
            for src, dst in ((client, backend), (backend, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.listener.close()


def test_the_js_client_gets_its_seat_back_through_the_balancer_after_the_leader_dies(
        cluster_factory, browser_tools):
    node, chromium = browser_tools
    cluster = cluster_factory("jsfailover", node_cls=GatewayServer,
                              gateway={"presence_grace_ms": 60_000})
    balancer = RoundRobinBalancer(n.port for n in cluster.nodes)
    owner, a = e2e.uid("owner"), e2e.uid("a")
    rest = cluster.client()
    rest.call("multiaccount_import", {"Accounts": [owner, a]})
    room = e2e.uid("jsroom")
    rest.must_create(room, Owner_Account=owner, SeatTemplate="VideoDynamicGrid9Seats",
                     TakeSeatMode="FreeToTake")

    def user(identifier):
        return {"id": identifier, "sig": e2e.gen_usersig(e2e.APP1, cluster.keys[e2e.APP1],
                                                         identifier)}

    config = {"baseUrl": f"http://127.0.0.1:{balancer.port}", "sdkappid": e2e.APP1,
              "room": room, "owner": user(owner), "a": user(a), "chromium": chromium}
    driver = subprocess.Popen([node, str(HERE / "client_failover.mjs"), json.dumps(config)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=HERE)
    try:
        first = driver.stdout.readline()
        assert json.loads(first or "{}").get("phase") == "seated", (
            first + driver.stdout.read() + driver.stderr.read())
        leader = cluster.leader()
        cluster.kill9(leader)
        driver.stdin.write("killed\n")
        driver.stdin.flush()
        out, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
        balancer.close()
    result = json.loads(out.strip().splitlines()[-1])
    report = (json.dumps(result, indent=2) + f"\n--- stderr\n{err[-3000:]}\n--- cluster\n"
              + cluster.log_tail(30))
    failed = [name for name, c in result.get("checks", {}).items() if not c["ok"]]
    assert driver.returncode == 0 and result["ok"] and not failed, report
    assert len(result["checks"]) == 2, report
