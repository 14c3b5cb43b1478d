"""Fuzz every keypoint layout through ``read_keypoints`` and through the real ``lift2d3d lift`` process.

Each layout's seed is the file its tool writes (``tests/tool_files.py``'s
writers, plus a plain ``.npy``); each case mutates it once, seeded:

* ``flip``: 1-25 random bytes flipped; ``truncate``: cut anywhere; ``insert``:
  random bytes inserted; ``zero``: a block of bytes zeroed (binary files);
* ``garbage``: one number of the file replaced by something that is not a
  usable number (``true``, ``false``, a word, a 400-digit integer, ``1e400``,
  ``Infinity``, ``[1, 2]`` ...);
* ``number``: one number replaced by an extreme but valid one (±5,000 px,
  1e-300 ...);
* ``nest`` (JSON): a value replaced by 10,000 nested lists;
* ``lines``: a line dropped or repeated (text files).

Outcomes per case: ``clean`` (a KeypointFormatError naming the file, or a
table read), ``traceback`` (any other exception; through the CLI: a traceback
on stderr or an exit status other than 0, 1, 2), ``crash`` (killed by a
signal), ``hang`` (over ``--timeout`` s), and for the ``garbage`` cases
``silent`` (the garbage became a coordinate or a score of a row that is to be
lifted: through ``read_keypoints`` a good row whose values differ from the
seed's; through the CLI an ``ok`` row whose 3D differs from the seed's lift).

    python benchmarks/fuzz.py [--cases 300] [--cli-cases 300] [--layouts csv-wide,trc] [--seed 0] [--timeout 5]
                              [--hdf5-crashes 150] [--json FILE]

``--cli-cases 0`` skips the CLI; the CLI costs a Python start per case (about
1.5 s warm).  Exit status 1 when any case is not clean.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzz_cases import OUTCOMES, judge_read, make_case, seeds  # noqa: E402  (tests/ on the path first)

# --------------------------------------------------------------------------- read_keypoints in a worker

def _worker(connection):
    from lift2d3d.io import KeypointFormatError, read_keypoints

    clean_errors = (KeypointFormatError,)
    while True:
        request = connection.recv()
        if request is None:
            return
        path, options = request
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = read_keypoints(path, **options)
            answer = ("read", table.keypoints, table.scores, table.good)
        except clean_errors as exc:
            answer = ("error", str(exc))
        except BaseException:   # noqa: BLE001  (what the fuzzer is for)
            answer = ("traceback", traceback.format_exc(limit=-4))
        connection.send(answer)


class Reader:
    """A forked process that reads cases; restarted after a crash or a hang."""

    def __init__(self):
        self.process = None

    def _start(self):
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=_worker, args=(child,), daemon=True)
        self.process.start()
        self.connection = parent

    def read(self, path, options, timeout):
        if self.process is None or not self.process.is_alive():
            self._start()
        self.connection.send((str(path), options))
        if not self.connection.poll(timeout):
            self.process.kill()
            self.process.join()
            self.process = None
            return ("hang",)
        try:
            return self.connection.recv()
        except (EOFError, ConnectionResetError):
            self.process.join()
            code = self.process.exitcode
            self.process = None
            return ("crash", code)

    def close(self):
        if self.process is not None and self.process.is_alive():
            self.connection.send(None)
            self.process.join(5)


# --------------------------------------------------------------------------- the CLI process

def cli_arguments(options: dict, folder: Path) -> list:
    args = []
    for name, value in options.items():
        if name == "image_size":
            args += ["--image-size", str(value[0]), str(value[1])]
        elif name == "format":
            args += ["--format", str(value)]
        elif name == "joint_map":
            path = folder / "map.json"
            path.write_text(json.dumps(value))
            args += ["--map", str(path)]
    return args


def run_cli(path, options, out, timeout):
    command = [sys.executable, "-m", "lift2d3d", "lift", str(path), "-o", str(out), "-q",
               *cli_arguments(options, Path(out).parent)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ("hang",)
    return ("done", done.returncode, done.stderr)


def lifted_frame(out):
    import pandas as pd

    try:
        frame = pd.read_csv(out, keep_default_na=True)
    except (OSError, ValueError):
        return None
    xyz = frame[[c for c in frame.columns if c[-2:] in ("_x", "_y", "_z")]].to_numpy(dtype=float)
    return xyz, frame["status"].astype(str).to_numpy()


def judge_cli(answer, baseline, kind, out) -> tuple:
    if answer[0] == "hang":
        return "hang", ""
    _, code, stderr = answer
    if code < 0:
        return "crash", f"signal {-code}"
    if "Traceback" in stderr or code not in (0, 1, 2):
        return "traceback", (stderr.strip().splitlines() or [f"exit {code}"])[-1]
    if kind != "garbage" or code != 0 or baseline is None:
        return "clean", ""
    lifted = lifted_frame(out)
    if lifted is None:
        return "clean", ""
    xyz, status = lifted
    base_xyz, _ = baseline
    if xyz.shape != base_xyz.shape:
        return "clean", ""
    with np.errstate(invalid="ignore"):
        moved = ~(np.abs(xyz - base_xyz) <= 1e-6).all(axis=1) & ~(np.isnan(xyz) & np.isnan(base_xyz)).all(axis=1)
    wrong = (status == "ok") & moved
    if wrong.any():
        return "silent", f"row {np.flatnonzero(wrong)[0]} ok with the garbage in it"
    return "clean", ""


# --------------------------------------------------------------------------- why the HDF5 reader has a child

def hdf5_crashes(seed, n_cases, rng, folder: Path) -> dict:
    """How a DeepLabCut .h5 with 25 bytes flipped ends, in a process of its own: pandas/PyTables
    (the former reader: ``pd.read_hdf``) against the h5py child (``_hdf5_child.py``) the reader runs."""
    child = ROOT / "lift2d3d" / "io" / "_hdf5_child.py"
    data = seed.path.read_bytes()
    readers = {"pandas.read_hdf": lambda p: [sys.executable, "-c", f"import pandas; pandas.read_hdf({str(p)!r})"],
               "h5py child": lambda p: [sys.executable, str(child), str(p), str(folder / "out.npz")]}
    counts = {name: Counter() for name in readers}
    for i in range(n_cases):
        damaged = bytearray(data)
        for at in rng.integers(8, len(damaged), 25):
            damaged[at] ^= 0xFF
        path = folder / f"damaged{i}.h5"
        path.write_bytes(bytes(damaged))
        for name, command in readers.items():
            try:
                code = subprocess.run(command(path), capture_output=True, timeout=60).returncode
            except subprocess.TimeoutExpired:
                code = None
            counts[name]["hang" if code is None else "signal" if code < 0 else "error" if code else "read"] += 1
        path.unlink()
    return {name: dict(c) for name, c in counts.items()}


# --------------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300, help="read_keypoints cases per layout")
    parser.add_argument("--cli-cases", type=int, default=300, help="lift2d3d lift processes per layout")
    parser.add_argument("--layouts", help="comma-separated layouts (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a read may take (the CLI: 6x)")
    parser.add_argument("--json", help="write the counts (and the first examples) as JSON")
    parser.add_argument("--hdf5-crashes", type=int, default=0, metavar="N",
                        help="also: N .h5 files with 25 bytes flipped, each read by pandas/PyTables and by the h5py "
                             "child in a process of its own (killed by a signal / error / read); needs PyTables")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    work = Path(tempfile.mkdtemp(prefix="lift2d3d-fuzz-"))
    try:
        written = seeds(work / "seeds")
        layouts = list(written) if not args.layouts else args.layouts.split(",")
        reader = Reader()
        report = {}
        for layout in layouts:
            seed = written[layout]
            base = reader.read(seed.path, seed.options, 60)
            if base[0] != "read":
                raise SystemExit(f"{layout}: the seed itself cannot be read: {base}")
            baseline = base[1:]
            counts = {"read": Counter(), "cli": Counter()}
            examples = {"read": {}, "cli": {}}
            kinds = Counter()
            rng = np.random.default_rng([args.seed, len(layout), sum(map(ord, layout))])
            started = time.perf_counter()
            cli_baseline = None
            if args.cli_cases:
                folder = work / "cli-base" / layout
                folder.mkdir(parents=True)
                answer = run_cli(seed.path, seed.options, folder / "out.csv", 120)
                cli_baseline = lifted_frame(folder / "out.csv") if answer[0] == "done" and answer[1] == 0 else None
            for i in range(max(args.cases, args.cli_cases)):
                folder = work / "cases" / layout / str(i)
                folder.mkdir(parents=True)
                path, kind = make_case(seed, folder, rng)
                kinds[kind] += 1
                if i < args.cases:
                    t0 = time.perf_counter()
                    answer = reader.read(path, seed.options, args.timeout)
                    if answer[0] == "error" and "crashed reading it" in answer[1]:
                        counts["read"]["contained"] += 1     # the HDF5 library died in the child process
                    outcome, detail = judge_read(answer, baseline, kind)
                    if outcome == "clean" and time.perf_counter() - t0 > args.timeout:
                        outcome, detail = "hang", f"{time.perf_counter() - t0:.1f} s"
                    counts["read"][outcome] += 1
                    if outcome != "clean":
                        examples["read"].setdefault(outcome, f"case {i} ({kind}): {detail}")
                if i < args.cli_cases:
                    out = folder / "out.csv"
                    answer = run_cli(path, seed.options, out, 6 * args.timeout)
                    outcome, detail = judge_cli(answer, cli_baseline, kind, out)
                    counts["cli"][outcome] += 1
                    if outcome != "clean":
                        examples["cli"].setdefault(outcome, f"case {i} ({kind}): {detail}")
                shutil.rmtree(folder, ignore_errors=True)
            report[layout] = {"read": dict(counts["read"]), "cli": dict(counts["cli"]), "kinds": dict(kinds),
                              "examples": examples, "seconds": round(time.perf_counter() - started, 1)}
            line = " ".join(f"{o}={counts['read'][o]}" for o in OUTCOMES)
            if counts["read"]["contained"]:
                line += f" (of the clean: {counts['read']['contained']} HDF5 crashes contained in the reader's child)"
            cli = " ".join(f"{o}={counts['cli'][o]}" for o in OUTCOMES) if args.cli_cases else "-"
            print(f"{layout:20s} read_keypoints [{sum(counts['read'][o] for o in OUTCOMES)}]: {line} | "
                  f"lift CLI [{sum(counts['cli'].values())}]: {cli} ({report[layout]['seconds']} s)", flush=True)
            for where in ("read", "cli"):
                for outcome, text in examples[where].items():
                    print(f"    {where} {outcome}: {text[:300]}", flush=True)
        reader.close()
        if args.hdf5_crashes:
            found = hdf5_crashes(written["deeplabcut-h5"], args.hdf5_crashes, np.random.default_rng(args.seed),
                                 work)
            print(f"{args.hdf5_crashes} .h5 files with 25 bytes flipped, each read in its own process: "
                  + "; ".join(f"{name}: {dict(sorted(c.items()))}" for name, c in found.items()))
            report["hdf5_crashes"] = found
    finally:
        shutil.rmtree(work, ignore_errors=True)
    totals = {where: Counter() for where in ("read", "cli")}
    for layout, entry in report.items():
        if layout == "hdf5_crashes":
            continue
        for where in totals:
            totals[where].update(entry[where])
    for where in totals:
        print(f"total {where}: " + " ".join(f"{o}={totals[where][o]}" for o in OUTCOMES))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    bad = sum(totals[w][o] for w in totals for o in OUTCOMES if o != "clean")
    return 1 if bad else 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
