"""Wall time of the README's main command on a cold and on a warm numba cache.

    python benchmarks/first_run.py [--repeat 3]

Runs ``lift2d3d lift examples/sample_coco17.csv -o <tmp>/lifted.csv`` in a
fresh process with an empty ``NUMBA_CACHE_DIR`` (cold: the solver kernels
are compiled, in two processes when there are two cores), then again with the
cache filled (warm).  Targets (solver-core issue): cold <= 15 s, warm <= 2 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(cache_dir, output):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lift2d3d", "lift", str(ROOT / "examples" / "sample_coco17.csv"),
                           "-o", str(output), "-q"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the command failed ({done.returncode}): {done.stderr}")
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm runs to time (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "numba-cache"
        cold = run_once(cache, Path(tmp) / "cold.csv")
        warm = [run_once(cache, Path(tmp) / f"warm{i}.csv") for i in range(args.repeat)]
    print(f"first run (cold numba cache): {cold:5.1f} s   (target <= 15 s on 2 cores)")
    print(f"warm runs: {', '.join(f'{w:.2f}' for w in warm)} s, best {min(warm):.2f} s   (target <= 2 s)")
    print(f"cores: {os.cpu_count()}, load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
