"""End-to-end throughput of ``lift2d3d lift`` on a large COCO-17 wide CSV.

Generates N frames (default 100,000) of synthetic COCO-17 keypoints -- the
walking person of ``examples/make_sample_csv.py`` built on the bases' mean
pose, turning slowly, 1.5 px noise, face points empty in every fourth frame
-- writes them as a CSV in a temporary folder, runs the real command in a
subprocess and prints:

* frames/s end to end (process start to exit, numba kernels loaded from cache),
* the peak resident memory of the lifting process,
* where the time went (read / lift / write, from the command's ``--stats-json``),
  and the I/O share (read + write over the command's total).

Usage::

    python benchmarks/batch_throughput.py [--frames 100000] [--bases default|PATH]
        [--method fused] [--workers N] [--chunk-size 5000] [--keep DIR] [--sequence]

``--sequence`` lifts the file as one person's video (``lift --sequence``: the
temporal solver, streamed across chunks); run it with ``NUMBA_NUM_THREADS=1``
(and ``--workers 1``) for the per-core rate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lift2d3d.commands._options import DEFAULT_METHOD

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))


def make_csv(path, n_frames, bases, long=False):
    """Write n_frames of the walking person as a wide (or long) COCO-17 CSV."""
    import numpy as np
    from lift2d3d.bases import ShapeBases
    from make_sample_csv import coco17_rows, walking_poses

    bases = ShapeBases.load(bases)
    # 20 distinct walking cycles' worth of frames, repeated with new noise and frame numbers
    unique = min(n_frames, 2400)
    poses = walking_poses(bases.mean_pose, bases.skeleton, n=unique)
    header = True
    with open(path, "w") as handle:
        for block, start in enumerate(range(0, n_frames, unique)):
            frame = coco17_rows(poses[: min(unique, n_frames - start)], bases.skeleton, seed=block)
            frame["frame"] = np.arange(start, start + len(frame))
            if long:
                frame = _to_long(frame)
            frame.to_csv(handle, index=False, header=header, float_format="%.2f")
            header = False


def _to_long(frame):
    """frame,joint,x,y,score rows from a wide COCO-17 table."""
    import pandas as pd

    joints = [c[:-2] for c in frame.columns if c.endswith("_x")]
    parts = [pd.DataFrame({"video": frame["video"], "frame": frame["frame"], "person": frame["person"],
                           "joint": joint, "x": frame[f"{joint}_x"], "y": frame[f"{joint}_y"],
                           "score": frame[f"{joint}_score"]}) for joint in joints]
    order = pd.concat(parts, keys=range(len(joints))).swaplevel().sort_index(kind="stable")
    return order.reset_index(drop=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--bases", default="default")
    parser.add_argument("--method", default=DEFAULT_METHOD, help="solver method (default: the Lifter's, %(default)s)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--keep", help="folder to keep the input/output in (default: a temporary one)")
    parser.add_argument("--sequence", action="store_true", help="lift --sequence (one person's video)")
    parser.add_argument("--long", action="store_true",
                        help="write the input as a long CSV (frame,joint,x,y,score: 17 rows per frame)")
    args = parser.parse_args(argv)

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lift2d3d-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"coco17_{'long_' if args.long else ''}{args.frames}.csv"
    t0 = time.perf_counter()
    if not source.exists():
        make_csv(source, args.frames, args.bases, long=args.long)
    print(f"input: {source} ({source.stat().st_size / 1e6:.1f} MB, {args.frames} frames; generated in "
          f"{time.perf_counter() - t0:.1f} s)")

    output, stats = folder / "lifted.csv", folder / "stats.json"
    command = [sys.executable, "-m", "lift2d3d", "lift", str(source), "-o", str(output), "--bases", args.bases,
               "--method", args.method, "--chunk-size", str(args.chunk_size), "--stats-json", str(stats), "-q"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.sequence:
        command.append("--sequence")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # Warm the numba cache first so that compilation is not counted as lifting.
    warm = folder / "warm.csv"
    with open(source) as handle, open(warm, "w") as out:
        for _ in range(1 + 50 * (17 if args.long else 1)):
            out.write(handle.readline())
    subprocess.run(command[:4] + [str(warm), "-o", str(folder / "warm_out.csv")]
                   + [c for c in command[7:] if c not in (str(stats), "--stats-json")], check=True, env=env)
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"lift2d3d lift failed with exit code {done.returncode}")
    summary = json.loads(stats.read_text())
    peak_mb = summary["peak_rss_mb"]
    input_rows = sum(1 for _ in open(source, "rb")) - 1
    io_seconds = summary["seconds_read"] + summary["seconds_write"]
    print(f"command: {' '.join(command[1:])}")
    print(f"cores: {os.cpu_count()}, workers: {args.workers or 'all'}, method: {args.method}, "
          f"chunk size: {args.chunk_size}{', --sequence' if args.sequence else ''}")
    print(f"frames: {summary['rows']} from {input_rows} input rows ({summary['status_counts']})")
    print(f"end-to-end: {wall:.1f} s, {summary['rows'] / wall:.0f} frames/s "
          f"(inside the command: {summary['seconds_total']:.1f} s)")
    print(f"time: read {summary['seconds_read']:.1f} s, lift {summary['seconds_lift']:.1f} s, "
          f"write {summary['seconds_write']:.1f} s; I/O share {100 * io_seconds / summary['seconds_total']:.1f}%")
    print(f"peak memory (max RSS of the lift process): {peak_mb:.0f} MB; after its first 3 chunks: "
          f"{summary['peak_rss_mb_first_chunks']:.0f} MB (flat = streaming works)")
    print(f"output: {output} ({output.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
