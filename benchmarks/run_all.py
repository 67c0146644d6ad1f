"""Run every benchmark in turn (each prints its figures). Long: an hour or more on 2 cores.

    .venv/bin/python -m benchmarks.run_all
"""
import runpy
import sys

MODULES = ["benchmarks.bench_analysis", "benchmarks.bench_player", "benchmarks.bench_export",
           "benchmarks.bench_steering", "benchmarks.bench_generative", "benchmarks.bench_sparse",
           "benchmarks.bench_sprite_subjects"]

if __name__ == "__main__":
    for name in MODULES:
        print(f"== {name}", flush=True)
        sys.argv = [name]
        try:
            runpy.run_module(name, run_name="__main__")
        except SystemExit:
            pass
