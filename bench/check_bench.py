#!/usr/bin/env python3
"""Times `mlopsc check` as a whole process: on every example, and on synthetic specs of
250, 500, 1,000 and 2,000 plan steps (to show the cost grows linearly).

Usage: python3 bench/check_bench.py [path/to/mlopsc] [--runs N]
Prints a Markdown table of medians and minima in milliseconds. Use a release build.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_runs(binary: str, spec: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run([binary, "check", str(spec)], capture_output=True)
        samples.append((time.perf_counter() - start) * 1000)
        if result.returncode != 0:
            sys.exit(f"mlopsc check {spec} failed:\n{result.stderr.decode()}")
    return samples


def baseline(runs: int) -> float:
    """The cost of starting any process from this harness (`true`), to subtract mentally."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["true"])
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default=str(ROOT / "target" / "release" / "mlopsc"))
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()
    binary, runs = options.binary, options.runs
    rows = []
    for spec in sorted(ROOT.glob("examples/*/mlops.kdl")):
        samples = time_runs(binary, spec, runs)
        rows.append((f"examples/{spec.parent.name}", spec.stat().st_size, statistics.median(samples), min(samples)))
    with tempfile.TemporaryDirectory() as tmp:
        for steps in (250, 500, 1000, 2000):
            spec = Path(tmp) / f"synthetic_{steps}.kdl"
            text = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "gen_spec.py"), str(steps)], capture_output=True, text=True, check=True
            ).stdout
            spec.write_text(text)
            samples = time_runs(binary, spec, runs)
            rows.append((f"synthetic, {steps} steps", len(text.encode()), statistics.median(samples), min(samples)))
    print(f"mlopsc check, whole process, {runs} runs each (process start of `true` from this harness: {baseline(runs):.2f} ms)\n")
    print("| spec | bytes | median ms | min ms |")
    print("|---|---:|---:|---:|")
    for name, size, median, minimum in rows:
        print(f"| {name} | {size} | {median:.2f} | {minimum:.2f} |")


if __name__ == "__main__":
    main()
