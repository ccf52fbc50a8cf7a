"""The 30 s-from-1080p end-to-end time of two source trees, side by side in one run.

    .venv/bin/python bench/bench_e2e_revisions.py --old OLD_TREE [--new .] [--rounds 3]

Issue 10 asks that the embedded default's README figure (bench_e2e.py's in-process
pipeline: 30 s of score from a 1080p clip, engines loaded, cold feature cache) be no
more than 10 % slower than before its changes. OLD_TREE is a checkout of the earlier
revision (``git worktree add --detach /tmp/old REV``). Each round runs every tree's
own ``bench_e2e.time_pipeline`` once in a fresh process, the trees alternating so that
the machine's load falls on both alike; the medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNIPPET = """
import json, sys
sys.path.insert(0, sys.argv[1])
from bench_e2e import DEFAULT_CLIP, make_clip, time_pipeline
from diffv2m.settings import Settings
print(json.dumps(time_pipeline(make_clip(DEFAULT_CLIP), "default", Settings(), 1)))
"""


def run_tree(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree / "server")}
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(tree / "bench")], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, default=HERE.parent)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name, tree in (("old", args.old), ("new", args.new)):
            result = run_tree(tree.resolve())
            times[name].append(result["median_s"])
            print(f"{name}: {result['median_s']:.2f} s ({result['engine']})", flush=True)
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(json.dumps({"old_s": times["old"], "new_s": times["new"], "load_average": os.getloadavg()}))
    print(f"30 s of score from 1080p: old {old:.2f} s, new {new:.2f} s: new/old = {new / old:.3f} (bar: <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
