"""Tokens, binds, remote clients and web pages: who may use the server for what."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys

import pytest
import requests

TOKEN = "s3cret-token-for-tests"


def non_loopback_ipv4() -> str | None:
    """An address of this machine that is not loopback (what another computer would connect to)."""
    candidates: list[str] = []
    try:
        candidates += subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if address.version == 4 and not address.is_loopback and not address.is_link_local:
            return candidate
    return None


def test_non_loopback_bind_without_token_refuses_to_start(tmp_path):
    env_free = [sys.executable, "-m", "diffv2m", "serve", "--host", "0.0.0.0", "--port", "1"]
    result = subprocess.run(
        [*env_free, "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "DIFFV2M_TOKEN"},
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "Refusing to listen on 0.0.0.0 without a token" in last


@pytest.fixture(scope="module")
def open_server(server_factory):
    """Bound to every interface, so a token is required."""
    return server_factory(host="0.0.0.0", token=TOKEN)


def test_token_is_required_except_for_health(open_server):
    url = open_server.url
    assert requests.get(f"{url}/health", timeout=10).json()["auth_required"] is True
    missing = requests.get(f"{url}/emotions", timeout=10)
    assert missing.status_code == 401
    assert "Bearer" in missing.json()["detail"] and "\n" not in missing.json()["detail"]
    wrong = requests.get(f"{url}/emotions", headers={"Authorization": f"Bearer {TOKEN}x"}, timeout=10)
    assert wrong.status_code == 401
    no_token_job = requests.post(f"{url}/jobs", files={"emotion": (None, "calm")}, timeout=10)
    assert no_token_job.status_code == 401
    assert open_server.http.get(f"{url}/emotions", timeout=10).status_code == 200


def test_remote_client_may_not_name_local_paths(open_server, short_clip):
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    remote = f"http://{address}:{open_server.port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.get(f"{remote}/health", timeout=10).status_code == 200
    response = requests.post(f"{remote}/jobs", files={"video_path": (None, str(short_clip))}, headers=headers)
    assert response.status_code == 403
    assert "only accepted from this machine" in response.json()["detail"]
    # An upload from the same remote client is fine: it is queued, then cancelled here.
    with short_clip.open("rb") as handle:
        upload = requests.post(f"{remote}/jobs", files={"video": ("s.mp4", handle)}, headers=headers, timeout=60)
    assert upload.status_code == 202, upload.text
    assert requests.delete(f"{remote}/jobs/{upload.json()['id']}", headers=headers, timeout=10).status_code == 200
    assert open_server.healthy()


def test_web_pages_cannot_drive_a_local_server(server):
    """DNS rebinding (a foreign Host) and cross-site requests (a foreign Origin) are refused."""
    rebound = requests.get(f"{server.url}/health", headers={"Host": "attacker.example:80"}, timeout=10)
    assert rebound.status_code == 403
    cross_site = requests.post(
        f"{server.url}/jobs", files={"emotion": (None, "calm")}, headers={"Origin": "https://evil.example"}, timeout=10
    )
    assert cross_site.status_code == 403
    own = requests.get(f"{server.url}/emotions", headers={"Origin": "http://localhost:3000"}, timeout=10)
    assert own.status_code == 200
    assert requests.get(f"{server.url}/health", headers={"Host": "localhost"}, timeout=10).status_code == 200
