"""The real-UI tier: fixtures for one Blender 4.3 window (GUI chroot, Xvfb) and the real server.

Skips, saying why, where the machine cannot run it: not Linux, not root (chroot and
mount namespaces need it), or the chroot not built (``scripts/setup.sh --gui``;
``--test`` builds it too where debootstrap can reach Debian). Screenshots of every
step are kept in the test's tmp folder and copied to ``$DIFFV2M_GUI_SHOTS``
(default /tmp/diffv2m-gui-shots).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "addon"))
from addon_support import REPO, free_port, http_json  # noqa: E402
from gui_window import CHROOT, CLIP_SECONDS, FPS, LONG_SECONDS, GuiBlender  # noqa: E402

from diffv2m.benchmark.videos import ClipSpec, write_clip  # noqa: E402

SHOTS = Path(os.environ.get("DIFFV2M_GUI_SHOTS", "/tmp/diffv2m-gui-shots"))


def unavailable() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the real-UI tier needs Linux (a debootstrap chroot under Xvfb)"
    if os.geteuid() != 0:
        return "the real-UI tier needs root (chroot and a private mount namespace)"
    for tool in ("unshare", "nsenter"):
        if shutil.which(tool) is None:
            return f"the real-UI tier needs {tool} (util-linux)"
    ready = subprocess.run([str(REPO / "scripts" / "gui_chroot.sh"), "--check"], capture_output=True)
    if ready.returncode != 0:
        return f"the GUI chroot ({CHROOT}) is not built: run scripts/setup.sh --gui"
    return None


@pytest.fixture(scope="session")
def gui_reason() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def gui_server(tmp_path_factory: pytest.TempPathFactory, gui_reason: None) -> Iterator[str]:
    """The real ``diffv2m serve`` on the embedded default engine, on loopback."""
    folder = tmp_path_factory.mktemp("gui-server")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "server"), os.environ.get("PYTHONPATH")])),
    }
    with open(folder / "server.log", "wb") as log:
        process = subprocess.Popen(
            # niced: on a 2-core machine the server's video decoding otherwise takes Blender's
            # CPU, and the responsiveness figure would measure the CPU split, not the add-on.
            ["nice", "-n", "10", sys.executable, "-m", "diffv2m", "serve",
             "--port", str(port), "--cache-dir", str(folder)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                http_json(url + "/health", timeout=2)
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (folder / "server.log").read_text()
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture(scope="session")
def gui_work(tmp_path_factory: pytest.TempPathFactory, gui_reason: None) -> Path:
    work = tmp_path_factory.mktemp("gui")
    work.chmod(0o755)
    for name, seed, cuts in (("a", 1, [3.0]), ("b", 2, [])):
        write_clip(work / f"{name}.mp4", ClipSpec(CLIP_SECONDS, Fraction(FPS), 320, 180, cut_times=cuts, seed=seed))
    # For the late cancels: past half-way a 12 s take can end before a key press lands.
    write_clip(work / "long.mp4", ClipSpec(LONG_SECONDS, Fraction(FPS), 320, 180, cut_times=[9.0, 21.0, 33.0], seed=3))
    shutil.rmtree(SHOTS, ignore_errors=True)
    return work


@pytest.fixture(scope="session")
def built_extension(gui_work: Path) -> dict:
    """Blender's own ``extension build`` at the repository root, then ``install-file --enable``."""
    window = GuiBlender(gui_work, 0, SHOTS)
    build = window.oneshot("sh", "-c", f"cd {REPO} && blender --command extension build --output-dir {gui_work}")
    archives = sorted(gui_work.glob("*.zip"))
    validate = window.oneshot("blender", "--command", "extension", "validate", str(archives[0])) if archives else None
    install = (
        window.oneshot(
            "blender", "--command", "extension", "install-file", "-r", "user_default", "-e", str(archives[0])
        )
        if archives
        else None
    )
    return {"build": build, "archives": archives, "validate": validate, "install": install}


@pytest.fixture(scope="session")
def window(gui_work: Path, gui_server: str, built_extension: dict) -> Iterator[GuiBlender]:
    """One Blender window for the whole tier (each test starts from a reset scene)."""
    assert built_extension["install"] is not None and built_extension["install"].returncode == 0
    blender = GuiBlender(gui_work, 90 + os.getpid() % 9, SHOTS)
    try:
        blender.start(
            {
                "module": "bl_ext.user_default.diffv2m_score",
                "fps": FPS,
                "clips": [str(gui_work / "a.mp4"), str(gui_work / "b.mp4")],
                "long_clip": str(gui_work / "long.mp4"),
                "server_url": gui_server,
            }
        )
        blender.open_score_tab()
        yield blender
    finally:
        blender.stop()
        for shot in gui_work.glob("*.png"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy2(shot, SHOTS / shot.name)
