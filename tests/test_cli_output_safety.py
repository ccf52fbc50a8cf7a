"""``diffv2m generate`` writes only regular files, checks its output first, and leaves no ``.part`` behind.

Every test here fails on the old main (issue 11: devices/FIFOs replaced, late folder check, stray .part,
tracebacks for port and usage errors).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from diffv2m.cli import generate as generate_cli
from diffv2m.errors import InputError

PYTHON = [sys.executable, "-m", "diffv2m"]


def run_cli(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*PYTHON, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=full_env)


def one_error_line(run: subprocess.CompletedProcess, *words: str) -> str:
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("diffv2m: error: "), run.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def clip(clip_factory):
    from diffv2m.benchmark.videos import ClipSpec

    return clip_factory(ClipSpec(2.0, event_times=[1.0]), "cli-safety").path


def test_fifo_device_and_symlink_are_never_replaced(clip, tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    targets = [(fifo, "FIFO")]
    try:
        device = tmp_path / "null.wav"
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # a /dev/null twin, inside tmp_path
        targets.append((device, "device"))
    except PermissionError:
        pass
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.wav"
    link.symlink_to(victim)
    targets.append((link, "symlink"))
    for target, kind in targets:
        mode = target.lstat().st_mode
        run = run_cli("generate", clip, "-o", target, "--overwrite", "--cache-dir", tmp_path / "cache")
        one_error_line(run, kind, "never replaced")
        assert target.lstat().st_mode == mode
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "cache").exists()  # refused before any work
    assert not list(tmp_path.glob(".*.part"))


def test_unwritable_output_folder_is_found_before_any_work(clip, tmp_path):
    run = run_cli("generate", clip, "-o", "/proc/self/score.wav", "--cache-dir", tmp_path / "cache")
    one_error_line(run, "not writable")
    assert not (tmp_path / "cache").exists()


def test_sigterm_during_the_write_removes_the_part_file(tmp_path, monkeypatch):
    """A real SIGTERM delivered while the WAV is being written: the .part goes, as on Ctrl-C."""
    out = tmp_path / "score.wav"

    def fsync_then_terminated(fd: int) -> None:
        assert list(tmp_path.glob(".score.wav.*.part"))  # the write is under way
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(generate_cli.os, "fsync", fsync_then_terminated)
    with pytest.raises(KeyboardInterrupt), generate_cli.sigterm_as_interrupt():
        generate_cli.write_new_file(out, b"RIFF" * 1000, overwrite=False)
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler was put back


def test_sigterm_mid_run_is_one_line_and_leaves_nothing(clip_factory, tmp_path):
    from diffv2m.benchmark.videos import ClipSpec

    long_clip = clip_factory(ClipSpec(30.0, event_times=[5.0]), "cli-safety-long").path
    out = tmp_path / "score.wav"
    command = [*PYTHON, "generate", str(long_clip), "-o", str(out), "--cache-dir", str(tmp_path / "cache")]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    buffer = ""
    while "decoding" not in buffer and process.poll() is None:  # started on the video
        buffer += process.stderr.read(1)
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, buffer + rest
    assert "Traceback" not in buffer + rest and "diffv2m: interrupted" in rest
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


def test_part_file_of_a_killed_run_is_removed_at_the_next_start(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".score.wav.{int(dead.stdout)}.part"
    stale.write_bytes(b"x" * 1024)
    mine = tmp_path / f".score.wav.{os.getpid()}.part"  # a live writer's (this test process)
    mine.write_bytes(b"y")
    run = run_cli("generate", tmp_path / "absent.mp4", "-o", tmp_path / "score.wav")
    one_error_line(run, "does not exist")
    assert not stale.exists() and mine.exists()


def test_check_output_refuses_an_existing_file_without_overwrite(tmp_path):
    taken = tmp_path / "taken.wav"
    taken.write_bytes(b"old")
    with pytest.raises(InputError, match="already exists"):
        generate_cli.check_output(taken, overwrite=False)
    generate_cli.write_new_file(taken, b"new", overwrite=True)
    assert taken.read_bytes() == b"new"


def test_usage_errors_are_one_line_with_exit_1(tmp_path):
    one_error_line(run_cli("generate", "x.mp4", "-o", tmp_path / "o.wav", "--takes", "many"), "--takes", "--help")
    one_error_line(run_cli("generate"), "required")


def test_port_and_settings_errors_are_one_line(tmp_path):
    one_error_line(run_cli("serve", "--port", "99999", "--cache-dir", tmp_path), "65535")
    one_error_line(run_cli("serve", "--cache-dir", tmp_path, env={"DIFFV2M_PORT": "abc"}), "DIFFV2M_PORT")
    bad_cap = {"DIFFV2M_CACHE_CAP_MB": "lots"}
    one_error_line(run_cli("generate", "x.mp4", "-o", tmp_path / "o.wav", env=bad_cap), "DIFFV2M_CACHE_CAP_MB")
    assert not Path(tmp_path / "o.wav").exists()
