"""Helpers for the add-on tests: media they make (frame-numbered clips, a WAV) and small HTTP/port tools."""

from __future__ import annotations

import json
import socket
import urllib.request
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[2]
ADDON = REPO / "addon"
# bpy release -> venv at the repository root (scripts/setup.sh --test; 5.3 needs Python 3.13).
BPY_VENVS = {"4.5": ".venv-bpy45", "5.0": ".venv-bpy50", "5.3": ".venv-bpy53"}
TOKEN = "addon-test-token"  # the token_server fixture's


def grey_of_frame(index: int) -> int:
    """Grey level painted into source frame ``index`` (readable back from a render)."""
    return 10 + 2 * index


def frame_of_grey(grey: float) -> float:
    return (grey - 10) / 2


def write_index_clip(path: Path, fps: Fraction, frames: int, size: int = 32) -> Path:
    """H.264 clip whose frame i is flat grey ``grey_of_frame(i)`` (lossless, so it reads back exactly)."""
    if grey_of_frame(frames - 1) > 250:
        raise ValueError("too many frames to number by grey level")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv444p"
        stream.options = {"qp": "0"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), grey_of_frame(i), np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, 1 / fps
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_tone(path: Path, seconds: float, rate: int = 44100) -> Path:
    """A quiet stereo 16-bit WAV: the user's own music strip in the scenes."""
    t = np.arange(int(seconds * rate)) / rate
    tone = (3000 * np.sin(2 * np.pi * 220 * t)).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.repeat(tone, 2).tobytes())
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_json(url: str, method: str = "GET", timeout: float = 10) -> dict:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def server_job_stopped(base_url: str, job_id: str, timeout: float = 60) -> str:
    """Wait until a server job is cancelled (or deleted); returns 'cancelled' or 'gone', else its last state."""
    import time
    import urllib.error

    deadline = time.monotonic() + timeout
    while True:
        try:
            state = http_json(f"{base_url}/jobs/{job_id}")["state"]
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return "gone"
            raise
        if state == "cancelled" or time.monotonic() > deadline:
            return state
        time.sleep(0.3)


def stop_processes_running(marker: str, grace: float = 20.0) -> list[int]:
    """Stop the processes whose command line contains ``marker`` (a unique path a test gave a
    server it had Blender start): SIGTERM, then SIGKILL after ``grace`` s. Linux /proc only."""
    import os
    import signal
    import time

    stopped = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in command and int(entry.name) != os.getpid():
            os.kill(int(entry.name), signal.SIGTERM)
            stopped.append(int(entry.name))
    deadline = time.monotonic() + grace
    for pid in stopped:
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    return stopped
