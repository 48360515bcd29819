"""Operations endpoints of a running server: /metrics, /healthz, /readyz, and JSON logs."""

import json
import re
import subprocess
import time

import pytest
import requests

from conftest import BINARY, free_port, default_apps, render_config, require_binary


def metric(text, name, **labels):
    """The value of one sample of the Prometheus text, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" (\S+)$"
    for line in text.splitlines():
        m = re.match(pattern, line)
        if m:
            return float(m.group(1))
    return None


@pytest.mark.single_node("/metrics counts the requests of one process")
def test_metrics_count_requests_by_command_and_code(server):
    c = server.client()
    before = requests.get(server.base_url + "/metrics").text
    c.must_create("ops-room")
    c.call("get_room_info", {"RoomId": "ops-room"})
    c.call("get_room_info", {"RoomId": "no-such-room"})
    c.raw("/v4/nope/nothing", {})
    r = requests.get(server.base_url + "/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = r.text
    ok = dict(service="live_engine_http_srv", command="get_room_info", code="0")
    assert metric(text, "liveroom_requests_total", **ok) == (metric(before, "liveroom_requests_total", **ok) or 0) + 1
    assert metric(text, "liveroom_requests_total", service="live_engine_http_srv",
                  command="get_room_info", code="100004") >= 1
    assert metric(text, "liveroom_requests_total", service="unknown", command="unknown",
                  code="60009") >= 1
    assert metric(text, "liveroom_request_duration_seconds_count",
                  service="live_engine_http_srv", command="create_room") >= 1
    assert metric(text, "liveroom_store_commit_duration_seconds_count") >= 1
    assert metric(text, "liveroom_store_commit_batch_size_count") >= 1
    assert metric(text, "liveroom_rooms") >= 1
    assert metric(text, "liveroom_connections") >= 1
    for family in ("liveroom_webhook_queue_depth", "liveroom_webhook_oldest_age_seconds",
                   "liveroom_webhook_dead_letters"):
        assert metric(text, family) is not None, family
    for result in ("ok", "retry", "dead"):
        assert metric(text, "liveroom_webhook_deliveries_total", result=result) is not None


def test_health_and_readiness(server):
    assert requests.get(server.base_url + "/healthz").status_code == 200
    r = requests.get(server.base_url + "/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_exactly_the_node_that_serves_is_ready_as_leader(server):
    # /readyz/leader is for balancers that send every call to a cluster's leader: a single node
    # is its own leader; in a cluster one node says 200, the followers 503. With placement by
    # app, every node that hosts an app says 200.
    nodes = getattr(server, "nodes", None)
    urls = [n.base_url for n in nodes] if nodes else [server.base_url]
    answers = {url: requests.get(url + "/readyz/leader", timeout=5) for url in urls}
    ready = [url for url, r in answers.items() if r.status_code == 200]
    placement = getattr(server, "cluster_extra", {}).get("placement") if nodes else None
    if placement in ("app", "room"):
        # Every node that hosts an app (or, by room, a slot of an app's rooms).
        keys = [f"{server.key_prefix}:leader:{app}" for app in server.keys]
        if placement == "room":
            slots = server.cluster_extra["room_slots"]
            keys = [f"{key}:{slot}" for key in keys for slot in range(slots)]
        hosts = set()
        for key in keys:
            holder = server.redis.cli("GET", key, timeout=3)
            hosts |= {n.base_url for n in nodes if holder.split(" ")[0] == n.node_id}
        assert sorted(ready) == sorted(hosts), {u: (r.status_code, r.text) for u, r in answers.items()}
    else:
        assert len(ready) == 1, {url: (r.status_code, r.text) for url, r in answers.items()}
    for url in ready:
        assert answers[url].json()["status"] == "ready"
    for url, r in answers.items():
        if url not in ready:
            assert (r.status_code, r.json()["status"]) == (503, "follower"), (url, r.text)
            # A follower is still ready for calls it carries to the leader.
            assert requests.get(url + "/readyz", timeout=5).status_code == 200


def test_json_logs_are_one_object_a_line(tmp_path):
    require_binary()
    port = free_port()
    config = tmp_path / "liveroom.toml"
    config.write_text(render_config(f"127.0.0.1:{port}", tmp_path / "data", default_apps()))
    proc = subprocess.Popen([str(BINARY), "serve", "--config", str(config), "--log-format", "json"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.05)
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) >= 2  # listening ..., stopped cleanly
    for line in lines:
        entry = json.loads(line)
        assert {"ts", "level", "msg"} <= entry.keys()
    assert any("listening" in json.loads(l)["msg"] for l in lines)


def test_bad_log_flags_stop_start_up(tmp_path):
    require_binary()
    config = tmp_path / "liveroom.toml"
    config.write_text(render_config("127.0.0.1:0", tmp_path / "data", default_apps()))
    r = subprocess.run([str(BINARY), "serve", "--config", str(config), "--log-format", "xml"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "--log-format" in r.stderr
