"""Small shared helpers for the benchmark scripts (which print figures; they are not tests)."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def best_of(fn, repeats: int = 3) -> float:
    """Best wall time of `repeats` runs, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None}


def save(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=1))
    return path


def write_results(path, results: dict) -> Path:
    """Write a benchmark's results as JSON to a path the user gave (`--out`), say where."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")
    return out


def run_process(command: list, *, cwd=None) -> dict:
    """Run a command as a whole process: wall seconds (start to reaped), user + system CPU
    seconds and peak resident bytes of the process (os.wait4's accounting), exit code."""
    import subprocess

    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed ({child.returncode}):\n{stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_bytes": usage.ru_maxrss * 1024}


def process_pairs(command_a: list, command_b: list, runs: int = 5, *, before_a=None, cwd=None) -> dict:
    """A and B run in turn (A B A B ...), after one untimed warm-up of each; the ratio A/B is
    taken pair by pair (a burst of other load spoils both of a pair alike) and its median is
    reported, with each side's median wall and CPU seconds. `before_a()` runs untimed before
    each A (e.g. to pick a fresh output folder)."""
    import statistics

    if before_a:
        before_a()
    run_process(command_a, cwd=cwd)
    run_process(command_b, cwd=cwd)
    pairs = []
    for _ in range(runs):
        if before_a:
            before_a()
        a = run_process(command_a, cwd=cwd)
        b = run_process(command_b, cwd=cwd)
        pairs.append((a, b))
    median = statistics.median
    return {
        "runs": runs,
        "a_wall_s": median(a["wall_s"] for a, _ in pairs), "b_wall_s": median(b["wall_s"] for _, b in pairs),
        "a_cpu_s": median(a["cpu_s"] for a, _ in pairs), "b_cpu_s": median(b["cpu_s"] for _, b in pairs),
        "wall_ratio": median(a["wall_s"] / b["wall_s"] for a, b in pairs),
        "cpu_ratio": median(a["cpu_s"] / b["cpu_s"] for a, b in pairs),
        "wall_ratios": [a["wall_s"] / b["wall_s"] for a, b in pairs],
        "a_peak_rss_bytes": max(a["peak_rss_bytes"] for a, _ in pairs),
    }
