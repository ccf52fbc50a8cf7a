import subprocess
import sys

import av


def test_sample_clip_command_writes_a_playable_video(tmp_path):
    out = tmp_path / "sample.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "diffv2m", "sample-clip", str(out), "--duration", "4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as container:
        assert container.streams.video, "no picture"
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 120  # 4 s at 30 fps


def test_unknown_subcommand_fails_cleanly():
    result = subprocess.run([sys.executable, "-m", "diffv2m", "nope"], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "invalid choice" in result.stderr
