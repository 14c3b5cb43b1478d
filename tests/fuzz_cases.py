"""Fuzz cases for every keypoint layout: seed files as each tool writes them, and seeded mutations.

Shared by ``tests/test_io_fuzz.py`` (a few seconds per layout, hypothesis-driven) and
``benchmarks/fuzz.py`` (hundreds of cases per layout, through ``read_keypoints`` in a forked
worker and through the real ``lift2d3d lift`` process).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np

import tool_files

OUTCOMES = ("clean", "traceback", "crash", "hang", "silent")
GARBAGE_TEXT = ["true", "false", "abc", "1" + "0" * 400, "-" + "9" * 400, "1e400", "-1e400", "0x1F", "--3", "1.2.3"]
GARBAGE_JSON = ["true", "false", '"abc"', "1" + "0" * 400, "-" + "9" * 400, "1e400", "Infinity", "-Infinity",
                "[1, 2]", "{}", '"12"']
NUMBERS = ["5000", "-5000", "999999", "1e-300", "-0.0", "0", "123456.5"]
_NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def seeds(folder: Path) -> dict:
    """``{layout: Written}``: each layout's seed file(s), written as its tool writes them."""
    written = {}
    for name, writer in tool_files.WRITERS.items():
        where = folder / name
        where.mkdir(parents=True)
        written[name] = writer(where)
    where = folder / "numpy-npy"
    where.mkdir()
    npz = written["numpy"]
    array = np.concatenate([npz.keypoints, npz.scores[..., None]], axis=-1)
    array[np.isnan(array)] = 0.0
    np.save(where / "poses.npy", array)
    written["numpy-npy"] = tool_files.Written(where / "poses.npy", {"format": npz.skeleton}, npz.ids, npz.skeleton,
                                              npz.keypoints, npz.scores, "numpy")
    return written


def _target(path: Path, rng) -> Path:
    """The file a case mutates: the seed, or one file of a seed folder."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        return files[rng.integers(len(files))]
    return path


def mutate(data: bytes, kind: str, rng, is_json: bool) -> bytes:
    """One mutation of ``data`` (see the module docstring)."""
    data = bytearray(data)
    if kind == "flip":
        for at in rng.integers(0, len(data), rng.integers(1, 26)):
            data[at] ^= int(rng.integers(1, 256))
    elif kind == "truncate":
        del data[int(rng.integers(0, len(data))):]
    elif kind == "insert":
        at = int(rng.integers(0, len(data) + 1))
        data[at:at] = rng.integers(0, 256, int(rng.integers(1, 64))).astype(np.uint8).tobytes()
    elif kind == "zero":
        at = int(rng.integers(0, len(data)))
        data[at:at + int(rng.integers(1, 512))] = bytes(min(len(data) - at, 512))[:len(data[at:at + 512])]
    elif kind in ("garbage", "number"):
        spans = [m.span() for m in _NUMBER.finditer(bytes(data))]
        if spans:
            start, stop = spans[rng.integers(len(spans))]
            pool = (GARBAGE_JSON if is_json else GARBAGE_TEXT) if kind == "garbage" else NUMBERS
            data[start:stop] = pool[rng.integers(len(pool))].encode()
    elif kind == "nest":
        spans = [m.span() for m in _NUMBER.finditer(bytes(data))]
        if spans:
            start, stop = spans[rng.integers(len(spans))]
            data[start:stop] = b"[" * 10_000 + b"1" + b"]" * 10_000
    elif kind == "lines":
        lines = bytes(data).split(b"\n")
        k = int(rng.integers(len(lines)))
        lines = lines[:k] + lines[k + 1:] if rng.random() < 0.5 else lines[:k] + [lines[k]] + lines[k:]
        data = bytearray(b"\n".join(lines))
    return bytes(data)


def kinds_for(path: Path):
    suffix = path.suffix.lower()
    if suffix in (".h5", ".npz", ".npy"):
        return ("flip", "truncate", "insert", "zero", "flip", "truncate")
    if suffix == ".json":
        return ("flip", "truncate", "insert", "garbage", "garbage", "number", "nest", "lines")
    return ("flip", "truncate", "insert", "garbage", "garbage", "number", "lines")


def make_case(seed, folder: Path, rng) -> tuple:
    """Copy the seed into ``folder`` and mutate one file; returns (input path, kind)."""
    source = seed.path
    copy = folder / source.name
    if source.is_dir():
        shutil.copytree(source, copy)
    else:
        shutil.copy(source, copy)
    target = _target(copy, rng)
    kinds = kinds_for(target)
    kind = kinds[rng.integers(len(kinds))]
    target.write_bytes(mutate(target.read_bytes(), kind, rng, target.suffix.lower() == ".json"))
    return copy, kind


def judge_read(answer, baseline, kind) -> tuple:
    """(outcome, detail) of one read."""
    if answer[0] == "hang":
        return "hang", ""
    if answer[0] == "crash":
        code = answer[1]
        return "crash", f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
    if answer[0] == "traceback":
        return "traceback", answer[1].strip().splitlines()[-1]
    if answer[0] == "error" or kind != "garbage":
        return "clean", ""
    _, keypoints, scores, good = answer
    base_kp, base_sc, _ = baseline
    if keypoints.shape != base_kp.shape:
        return "clean", ""
    # a joint the seed has must keep its values; one the garbage made quietly missing counts too
    used = good[:, None] & ((scores > 0) | (base_sc > 0))
    same = (np.abs(keypoints - base_kp) <= 1e-6 * np.maximum(1, np.abs(base_kp))).all(axis=-1) \
        & (np.abs(scores - base_sc) <= 1e-9)
    wrong = used & ~same
    if wrong.any():
        r, j = np.argwhere(wrong)[0]
        return "silent", f"row {r} joint {j}: {keypoints[r, j]} score {scores[r, j]}"
    return "clean", ""


