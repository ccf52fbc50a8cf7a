"""A real Blender window for the tests: Debian 13's Blender 4.3 under Xvfb in the GUI chroot.

``scripts/gui_chroot.sh`` builds the chroot. Each session runs in a private mount
namespace (``unshare``) where the test's work folder is bind-mounted at the same
path, so Blender, the host's server and the test all name files alike; the
mounts vanish with the session. Input is real X events from xdotool; what
Blender holds is read from the state file tests/gui/gui_agent.py writes.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHROOT = Path(os.environ.get("DIFFV2M_GUI_ROOT", "/var/cache/diffv2m-gui")) / "trixie"
WIDTH, HEIGHT = 1400, 900
FPS = 25
CLIP_SECONDS = 6.0  # the scene's two shots: a 12 s, 300-frame cut


class GuiBlender:
    def __init__(self, work: Path, display: int, shots: Path) -> None:
        self.work, self.display, self.shots = work, display, shots
        self.user = work / "user"
        self.process: subprocess.Popen | None = None
        self.commands = 0
        self.shot_count = 0
        self.x_calls: list[tuple[float, float]] = []  # wall-clock spans of our xdotool/import runs

    # -- running things in the chroot --------------------------------------------
    def _env(self) -> list[str]:
        u = self.user
        return [
            "env", "-i", f"HOME={u}", "PATH=/usr/bin:/bin", f"DISPLAY=:{self.display}", "LANG=C.UTF-8",
            f"BLENDER_USER_RESOURCES={u}/resources", f"BLENDER_USER_CONFIG={u}/config",
            f"BLENDER_USER_SCRIPTS={u}/scripts", f"BLENDER_USER_EXTENSIONS={u}/extensions",
            f"DIFFV2M_GUI_WORK={self.work}",
        ]  # fmt: skip

    def _mounts(self) -> str:
        """The work folder and the repository at their own paths, plus /proc and /dev."""
        binds = []
        for folder in (self.work, REPO):
            inside = shlex.quote(f"{CHROOT}{folder}")
            binds.append(f"mkdir -p {inside} && mount --bind {shlex.quote(str(folder))} {inside}")
        return " && ".join([*binds, f"mount -t proc proc {CHROOT}/proc", f"mount --rbind /dev {CHROOT}/dev"])

    def oneshot(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a command in the chroot on its own (its own namespace, the same mounts)."""
        script = f"{self._mounts()} && exec chroot {CHROOT} {shlex.join([*self._env(), *argv])}"
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def inside(self, *argv: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command in the running session's namespace (xdotool, import)."""
        assert self.process is not None
        command = ["nsenter", "-t", str(self.process.pid), "-m", "chroot", str(CHROOT), *self._env(), *argv]
        started = time.time()
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=check)
        finally:
            self.x_calls.append((started, time.time()))

    def own_gap_ms(self, state: dict) -> float:
        """The largest UI gap the agent saw during the job that no screen grab or synthetic event
        of this test overlapped (``import -window root`` holds the X server; Blender's buffer
        swap waits for it)."""
        free = [ms for start, end, ms in state["long_gaps"] if not any(a < end and start < b for a, b in self.x_calls)]
        short = state["max_gap_ms"] if state["max_gap_ms"] <= 50 else 50.0
        return max([short, *free])

    # -- the session -----------------------------------------------------------------
    def start(self, config: dict) -> None:
        (self.work / "config.json").write_text(json.dumps(config))
        # Opened with a file, Blender shows no splash screen over the window.
        first = self.work / "first.blend"
        made = self.oneshot("blender", "-b", "--factory-startup", "--python-expr",
                            f"import bpy; bpy.ops.wm.save_as_mainfile(filepath={str(first)!r})")  # fmt: skip
        assert first.exists(), made.stdout + made.stderr
        blender = shlex.join(["blender", "--window-geometry", "0", "0", str(WIDTH), str(HEIGHT), str(first),
                              "--python", str(HERE / "gui_agent.py")])  # fmt: skip
        xvfb = f"Xvfb :{self.display} -screen 0 {WIDTH}x{HEIGHT}x24 -nolisten tcp"
        run = f"{xvfb} >{self.work}/xvfb.log 2>&1 & x=$!; {blender} >{self.work}/blender.log 2>&1; kill $x"
        script = f"{self._mounts()} && exec chroot {CHROOT} {shlex.join(self._env())} sh -c {shlex.quote(run)}"
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script], start_new_session=True
        )
        self.wait_for(lambda s: s.get("sidebar") is not None and s["commands"] == 0, 90, "the Blender window")
        time.sleep(1.0)  # the first redraws after start-up

    def open_score_tab(self) -> None:
        """Ctrl+wheel over the sidebar steps through its tabs, as a user can, until "Score" shows."""
        left, top, right, bottom = self.to_screen(self.state()["sidebar"])
        at = ((left + right) // 2, (top + bottom) // 2)
        self.inside("xdotool", "mousemove", "--sync", *map(str, at))
        for _ in range(12):
            if self.state().get("tab") == "Score":
                return
            self.inside("xdotool", "keydown", "ctrl", "click", "5", "keyup", "ctrl")
            time.sleep(0.3)
        raise AssertionError(f"the Score tab did not open: {self.state().get('tab')}")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(5)
        self.process = None
        for path in (f"{CHROOT}{self.work}", f"{CHROOT}{REPO}"):  # the empty mount points
            try:
                os.removedirs(path)
            except OSError:
                pass

    # -- what Blender holds ------------------------------------------------------------
    def state(self) -> dict:
        path = self.work / "state.json"
        for _ in range(50):
            try:
                return json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                time.sleep(0.05)
        return {}

    def wait_for(self, predicate, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"Blender exited while waiting for {what}:\n{self.log()}")
            state = self.state()
            if state and state.get("error"):
                raise AssertionError(f"gui_agent: {state['error']}")
            if state and predicate(state):
                return state
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; last state: {self.state()}")

    def log(self) -> str:
        path = self.work / "blender.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def command(self, kind: str, **values: object) -> None:
        """A set-up request for the agent (never an action under test); waits until done."""
        path = self.work / f"command-{self.commands}.json"
        path.with_suffix(".tmp").write_text(json.dumps({"kind": kind, **values}))
        path.with_suffix(".tmp").rename(path)
        self.commands += 1
        count = self.commands
        self.wait_for(lambda s: s["commands"] >= count, 30, f"the {kind} command")
        time.sleep(0.3)

    # -- input and pictures ------------------------------------------------------------
    def click(self, x: int, y: int) -> None:
        self.inside("xdotool", "mousemove", "--sync", str(x), str(y))
        time.sleep(0.15)  # let Blender see the hover before the press
        self.inside("xdotool", "click", "1")

    def press(self) -> None:
        """A left click where the pointer is, after a 1-pixel nudge: a button drawn under a
        still pointer is only made active by Blender when the pointer moves."""
        self.inside("xdotool", "mousemove_relative", "--sync", "1", "0", "sleep", "0.05", "click", "1")

    def move(self, x: int, y: int) -> None:
        self.inside("xdotool", "mousemove", "--sync", str(x), str(y))
        time.sleep(0.15)  # let Blender see the pointer there before the next event

    def key(self, *keys: str, at: tuple[int, int] | None = None) -> None:
        if at is not None:
            self.move(*at)
        self.inside("xdotool", "key", *keys)

    def screenshot(self, name: str) -> Path:
        self.shot_count += 1
        path = self.work / f"{self.shot_count:02d}-{name}.png"
        self.inside("import", "-window", "root", str(path))
        self.shots.mkdir(parents=True, exist_ok=True)
        (self.shots / path.name).write_bytes(path.read_bytes())
        return path

    def pixels(self, path: Path) -> np.ndarray:
        """The screenshot as a HEIGHT x WIDTH x 3 array (ImageMagick writes the raw RGB)."""
        raw = path.with_suffix(".rgb")
        self.inside("convert", str(path), "-depth", "8", f"rgb:{raw}")
        data = np.fromfile(raw, dtype=np.uint8).reshape(HEIGHT, WIDTH, 3)
        raw.unlink()
        return data

    def panel_buttons(self, name: str) -> list[tuple[int, int]]:
        """Centres of the full-width buttons in the sidebar, top to bottom, found in a screenshot.

        A full-width button is a band of button grey (Blender's default theme: 73-100) at least
        12 rows tall at both a column near the panel's left and one near its right; props,
        labels and the right-aligned Check button do not span both.
        """
        shot = self.screenshot(name)
        image = self.pixels(shot).astype(int).mean(axis=2)
        left, top, right, bottom = self.to_screen(self.state()["sidebar"])
        columns = (left + 60, right - 70)
        grey = np.all([(image[top:bottom, x] >= 70) & (image[top:bottom, x] <= 100) for x in columns], axis=0)
        bands, start = [], None
        for row, inside in enumerate([*grey, False]):
            if inside and start is None:
                start = row
            elif not inside and start is not None:
                if row - start >= 12:
                    # Left of centre: a row split in two (Regenerate | Save MIDI) has its
                    # gap at the centre; this hits the row's first button.
                    bands.append((columns[0] + 40, top + (start + row) // 2))
                start = None
        return bands

    def to_screen(self, rect: dict) -> tuple[int, int, int, int]:
        """A window rectangle (origin bottom-left, as Blender's regions) as screen left, top, right, bottom."""
        height = self.state()["window"]["height"]
        return rect["x"], height - rect["y"] - rect["height"], rect["x"] + rect["width"], height - rect["y"]
