"""Command-line start-up: `framechain --help` and one-line errors against a bare interpreter.

    .venv/bin/python -m benchmarks.bench_cli [--repeats 5]

Each command runs as a fresh process (what a user waits for), `repeats` times in turn; the
figure is the median wall time. Goal (issue 15 item 3): `--help` and every one-line error
<= 0.3 s. Prints one line per command and writes benchmarks/results/cli.json.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._util import save

# the installed entry point, as a user runs it (python -m engine.cli where it is missing)
_SCRIPT = Path(sys.executable).with_name("framechain")
FRAMECHAIN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "engine.cli"]
COMMANDS = {  # what -> (argv, expected exit status)
    "python -c pass (bare interpreter)": ([sys.executable, "-c", "pass"], 0),
    "framechain --help": (FRAMECHAIN + ["--help"], 0),
    "framechain play --help": (FRAMECHAIN + ["play", "--help"], 0),
    "error: unknown sub-command": (FRAMECHAIN + ["no-such-command"], 2),
    "error: export to an unknown suffix": (FRAMECHAIN + ["export", "clip.mp4", "-o", "out.xyz",
                                                         "--seconds", "2"], 2),
    "error: play --headless without --frames": (FRAMECHAIN + ["play", "clip.mp4", "--headless"], 2),
    "error: a clip that does not exist": (FRAMECHAIN + ["info", "no-such-clip.mp4"], 2),
}


def median_seconds(argv: list[str], expected: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != expected:
            raise SystemExit(f"{' '.join(argv)}: exit status {done.returncode}, expected "
                             f"{expected}: {done.stderr.strip()}")
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (default 5)")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    figures = {}
    for what, (command, expected) in COMMANDS.items():
        subprocess.run(command, cwd=root, capture_output=True)  # warm the file cache first
        figures[what] = median_seconds(command, expected, args.repeats)
        print(f"{what:45s} median of {args.repeats}: {figures[what]:.3f} s", flush=True)
    path = save("cli", {"repeats": args.repeats, "median_s": figures, "goal_s": 0.3})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
