"""Grade N copies of an assignment's reference solution and print seconds per submission.

    python benchmarks/grade_solutions.py [--assignment ch1_intro] [--copies 8] [--workers N]

Runs `autograder grade` as a user would (a fresh process), so the figure includes start-up.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignment", default="ch1_intro")
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    solutions = ROOT / "solutions" / args.assignment
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        for i in range(args.copies):
            shutil.copytree(solutions, subs / f"student{i:03d}")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", args.assignment, str(subs),
                               "--out", str(Path(tmp) / "out"), "--workers", str(args.workers), "--quiet"],
                              cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    full = proc.stdout.count(" ok")
    print(f"assignment {args.assignment}: {args.copies} submissions, {args.workers} workers, {os.cpu_count()} cores")
    print(f"wall time        {wall:8.2f} s  (graded ok: {full})")
    print(f"per submission   {wall / args.copies:8.2f} s")
    print(f"per submission × workers (core-seconds) {wall * args.workers / args.copies:8.2f} s")


if __name__ == "__main__":
    main()
