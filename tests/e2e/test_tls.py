"""[tls]: the same port speaks HTTPS with the configured certificate and key.

The certificate is made here with the openssl command line (a fresh self-signed one per test run),
and requests verifies the server against it, so the test proves a real TLS handshake with that
certificate, not just an encrypted socket.
"""

import subprocess
import time

import pytest
import requests

from conftest import (ADMIN, APP1, BINARY, KEY1, default_apps, free_port, gen_usersig,
                      render_config, require_binary)

# The fixture below starts one liveroomd of its own with a [tls] table; the cluster nodes of
# cluster mode listen in plain HTTP.
pytestmark = pytest.mark.single_node("a [tls] listener of one liveroomd the test starts itself")


@pytest.fixture
def tls_server(tmp_path):
    require_binary()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    port = free_port()
    config = tmp_path / "liveroom.toml"
    config.write_text(render_config(
        f"127.0.0.1:{port}", tmp_path / "data", default_apps(),
        extra_top=f'[tls]\ncert_file = "{cert}"\nkey_file = "{key}"'))
    log = open(tmp_path / "liveroomd.log", "wb")
    proc = subprocess.Popen([str(BINARY), "serve", "--config", str(config)], stdout=log,
                            stderr=log, stdin=subprocess.DEVNULL)
    base = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None, (tmp_path / "liveroomd.log").read_text()
        try:
            if requests.get(base + "/healthz", verify=str(cert), timeout=0.5).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "liveroomd (TLS) not healthy within 10 s"
        time.sleep(0.05)
    yield base, cert, port
    proc.terminate()
    assert proc.wait(timeout=10) == 0
    log.close()


def test_rest_api_over_https(tls_server):
    base, cert, _ = tls_server
    sig = gen_usersig(APP1, KEY1, ADMIN)
    query = f"sdkappid={APP1}&identifier={ADMIN}&usersig={sig}&random=7&contenttype=json"
    # verify= per call: a Session's verify would lose to a CA-bundle variable in the environment.
    with requests.Session() as s:
        created = s.post(f"{base}/v4/live_engine_http_srv/create_room?{query}", verify=str(cert),
                         json={"RoomInfo": {"RoomId": "tls-room", "RoomType": "Live"}}).json()
        assert created["ErrorCode"] == 0, created
        # A second request on the same TLS connection (keep-alive) reads the room back.
        info = s.post(f"{base}/v4/live_engine_http_srv/get_room_info?{query}", verify=str(cert),
                      json={"RoomId": "tls-room"}).json()
        assert info["ErrorCode"] == 0, info
        assert info["Response"]["RoomInfo"]["RoomId"] == "tls-room"


def test_plain_http_is_not_served_on_a_tls_port(tls_server):
    _, _, port = tls_server
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_untrusted_certificate_is_refused_by_a_verifying_client(tls_server):
    base, _, _ = tls_server
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(base + "/healthz", timeout=2)  # the system store does not know our cert


def webhooks_cli(tls_server_dir, *flags):
    config = tls_server_dir / "liveroom.toml"
    return subprocess.run([str(BINARY), "webhooks", "dead-letters", "--config", str(config),
                           *flags], capture_output=True, text=True, timeout=20,
                          stdin=subprocess.DEVNULL)


def test_webhooks_cli_verifies_the_server_certificate(tls_server, tmp_path):
    """The CLI sends an admin UserSig: by default it trusts only the system CAs (which do not
    know this self-signed certificate), --ca-file trusts ours, --insecure-skip-verify opts out."""
    _, cert, _ = tls_server
    refused = webhooks_cli(tmp_path)
    assert refused.returncode == 1, refused
    assert "certificate verify failed" in refused.stderr and "--ca-file" in refused.stderr, refused
    trusted = webhooks_cli(tmp_path, "--ca-file", str(cert))
    assert trusted.returncode == 0, trusted
    assert "0 dead letter(s)" in trusted.stdout, trusted
    # The certificate names 127.0.0.1 and localhost, not this host.
    wrong_name = webhooks_cli(tmp_path, "--ca-file", str(cert), "--tls-name", "example.org")
    assert wrong_name.returncode == 1 and "certificate verify failed" in wrong_name.stderr, wrong_name
    assert webhooks_cli(tmp_path, "--ca-file", str(cert), "--tls-name", "localhost").returncode == 0
    skipped = webhooks_cli(tmp_path, "--insecure-skip-verify")
    assert skipped.returncode == 0 and "not checked" in skipped.stderr, skipped
