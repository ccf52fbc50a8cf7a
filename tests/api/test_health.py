"""What a client reads before it submits: health, emotions, the OpenAPI schema."""

from __future__ import annotations

from diffv2m import __version__
from diffv2m.emotion import PRESETS


def test_health(server):
    health = server.http.get(f"{server.url}/health").json()
    assert health["status"] == "ok" and health["version"] == __version__
    assert health["device"] == "cpu"
    assert health["default_engine"] == "default"
    assert health["engines"]["default"]["available"] is True
    assert health["engines"]["diffv2m"]["available"] is False
    assert "DIFFV2M_WEIGHTS" in health["engines"]["diffv2m"]["reason"]
    assert set(health["queue"]) == {"queued", "running"}
    assert health["auth_required"] is False and health["max_upload_mb"] == 4


def test_emotions(server):
    emotions = server.http.get(f"{server.url}/emotions").json()["emotions"]
    assert [e["name"] for e in emotions] == ["auto", *PRESETS]
    for entry in emotions[1:]:
        assert entry["description"] and -1 <= entry["valence"] <= 1 and -1 <= entry["arousal"] <= 1


def test_openapi_schema_describes_the_routes(server):
    schema = server.http.get(f"{server.url}/openapi.json").json()
    paths = schema["paths"]
    assert {"/health", "/emotions", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/audio", "/jobs/{job_id}/beats"} <= set(
        paths
    )
    assert {"get", "delete"} <= set(paths["/jobs/{job_id}"])
    form = paths["/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"video", "video_path", "segments", "start", "end", "emotion", "seed", "takes", "engine"} <= set(form)


def test_addon_offers_exactly_the_servers_emotions(server):
    """addon/properties.py's EMOTIONS list (read without Blender) names what GET /emotions serves, in order."""
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "addon" / "properties.py").read_text()
    assignment = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "EMOTIONS" for t in node.targets)
    )
    offered = [item[0] for item in ast.literal_eval(assignment.value)]
    served = [e["name"] for e in server.http.get(f"{server.url}/emotions").json()["emotions"]]
    assert offered == served
