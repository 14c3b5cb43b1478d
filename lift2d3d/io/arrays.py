"""NumPy keypoint arrays: ``.npy`` of shape (N, P, 2|3), or ``.npz`` with named arrays.

An ``.npz`` holds ``keypoints`` (N, P, 2|3) and optionally ``scores`` (N, P),
``joint_names`` (P,) or ``skeleton`` (a name), and any 1-D arrays of length
N, which become id columns (``frame``, ``person`` ...).  Without names the
skeleton is known from the joint count when only one format has it (15, 16,
25, 33); 17 joints could be COCO or Human3.6M, so it needs ``--format``.
A third channel is the confidence; NaN coordinates or score 0 mean missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..skeletons import SKELETONS, get_skeleton
from .table import KeypointFormatError, KeypointTable, check_values, detect_skeleton, normalise_joint_name

__all__ = ["iter_numpy", "iter_arrays", "table_from_array", "skeleton_for_count"]

_KEYPOINT_KEYS = ("keypoints", "keypoints2d", "keypoints_2d", "poses_2d", "pose_2d")


def skeleton_for_count(n_joints, format=None, source="input"):
    """Skeleton of an unnamed (N, P, 2) array from P (or ``format``)."""
    if format is not None:
        skeleton = get_skeleton(format)
        if skeleton.n_joints != n_joints:
            raise KeypointFormatError(f"{source}: the array has {n_joints} joints but format {skeleton.name} "
                                      f"has {skeleton.n_joints}")
        return skeleton
    fits = sorted(s.name for s in SKELETONS.values() if s.n_joints == n_joints)
    if len(fits) == 1:
        return SKELETONS[fits[0]]
    if not fits:
        known = ", ".join(f"{s.name} ({s.n_joints})" for s in SKELETONS.values())
        raise KeypointFormatError(f"{source}: no known format has {n_joints} joints; known: {known}")
    raise KeypointFormatError(f"{source}: {n_joints} joints fits several formats ({', '.join(fits)}); the "
                              "joint order matters, so pass --format NAME (format=NAME)")


#: Largest array (bytes) an ``.npz`` member may declare: a damaged or crafted header must not make
#: the reader allocate more than a keypoint file could need (10 million frames of 133 x 3 float64).
MAX_NPZ_MEMBER_BYTES = 32 * 10**9


def _npz_arrays(path):
    """The arrays of an ``.npz``, each header checked before its data is read (size, no pickles)."""
    import zipfile

    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            key = name[:-4] if name.endswith(".npy") else name
            with archive.open(name) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise ValueError(f"array {key!r}: .npy format version {version} (1.0 and 2.0 are read)")
                if dtype.hasobject:
                    raise ValueError(f"array {key!r} holds Python objects (pickles), which are never loaded")
                size = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if size > MAX_NPZ_MEMBER_BYTES:
                    raise ValueError(f"array {key!r} declares {size:,} bytes, more than a keypoint file holds")
            with archive.open(name) as member:
                arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


#: What a damaged NumPy file raises from inside numpy and zipfile (a truncated zip, a garbled
#: header that fails to parse as a Python literal, a size that does not match the data).
def _unreadable_errors():
    import tokenize
    import zipfile

    return (OSError, EOFError, ValueError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile, KeyError,
            TypeError, OverflowError, MemoryError, NotImplementedError, UnicodeDecodeError,
            RuntimeError)    # zipfile: an entry flagged as encrypted


def _load(path, format):
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            skeleton = skeleton_for_count(array.shape[-2], format, str(path)) if array.ndim in (2, 3) else None
            return array, None, {}, skeleton
        data = _npz_arrays(path)
    except KeypointFormatError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "Python objects" in str(exc):
            raise KeypointFormatError(f"{path}: cannot be read without unpickling ({exc}); save plain numeric "
                                      "arrays (np.savez(path, keypoints=..., scores=...))") from None
        raise KeypointFormatError(f"{path}: not a readable NumPy file ({exc})") from None
    except _unreadable_errors() as exc:
        raise KeypointFormatError(f"{path}: not a readable NumPy file ({type(exc).__name__}: {exc})") from None
    key = next((k for k in _KEYPOINT_KEYS if k in data), None)
    if key is None:
        raise KeypointFormatError(f"{path}: no 'keypoints' array; found {', '.join(data) or 'nothing'}")
    array = data.pop(key)
    scores = data.pop("scores", None)
    names = data.pop("joint_names", None)
    name = data.pop("skeleton", None)
    if array.ndim not in (2, 3):
        return array, scores, data, None
    if names is not None:
        skeleton = detect_skeleton([normalise_joint_name(n) for n in names.tolist()], format=format,
                                   source=str(path))
        joint_order = [skeleton.index(normalise_joint_name(n)) for n in names.tolist()]
        if joint_order != list(range(skeleton.n_joints)):
            full = np.full(array.shape[:-2] + (skeleton.n_joints, array.shape[-1]), np.nan)
            full[..., joint_order, :] = array
            array = full
            if scores is not None:
                full_scores = np.zeros(scores.shape[:-1] + (skeleton.n_joints,))
                full_scores[..., joint_order] = scores
                scores = full_scores
    else:
        skeleton = skeleton_for_count(array.shape[-2], format if format is not None else
                                      (str(name) if name is not None else None), str(path))
    return array, scores, data, skeleton


def iter_numpy(path, format=None, chunk_rows=10_000):
    """Yield :class:`KeypointTable` chunks of a ``.npy``/``.npz`` keypoint file."""
    array, scores, extra, skeleton = _load(path, format)
    yield from iter_arrays(array, scores, extra, skeleton, str(path), "numpy", chunk_rows)


def table_from_array(keypoints, scores=None, format=None, ids=None, source="<array>") -> KeypointTable:
    """A :class:`KeypointTable` of an in-memory array (what ``read_keypoints(array)`` returns).

    Parameters
    ----------
    keypoints : (n_frames, n_joints, 2|3) or (n_joints, 2|3) array, pixels
        In the joint order of ``format``; a third channel is the score.
    scores : (n_frames, n_joints) array, optional
    format : str, optional
        The skeleton whose joint order the array follows (``coco17``,
        ``h36m17`` ...); may be left out only when the joint count fits one
        registered skeleton.
    ids : DataFrame or dict of 1-D arrays, optional
        Id columns (default ``frame`` = 0, 1, ...).

    Raises
    ------
    KeypointFormatError
        A shape, dtype or joint count that does not fit.
    """
    array = np.asarray(keypoints)
    if array.ndim not in (2, 3) or array.shape[-1] not in (2, 3):
        raise KeypointFormatError(f"{source}: expected keypoints of shape (n_frames, n_joints, 2), "
                                  f"(n_frames, n_joints, 3) with scores, or (n_joints, 2); got {array.shape}")
    skeleton = skeleton_for_count(array.shape[-2], format, source)
    extra = {}
    if ids is not None:
        frame = pd.DataFrame(ids)
        extra = {c: frame[c].to_numpy() for c in frame.columns}
    tables = list(iter_arrays(array, scores, extra, skeleton, source, "memory", max(1, len(array))))
    return tables[0]


def iter_arrays(array, scores, extra, skeleton, source, layout, chunk_rows):
    """Chunks of an (N, P, 2|3) array with optional scores and 1-D id arrays (``extra``)."""
    if array.ndim == 2:
        array = array[None]
        scores = None if scores is None else np.asarray(scores)[None]
    if array.ndim != 3 or array.shape[-1] not in (2, 3) or skeleton is None:
        raise KeypointFormatError(f"{source}: expected keypoints of shape (n_frames, n_joints, 2) or "
                                  f"(n_frames, n_joints, 3) with a confidence channel; got {array.shape}")
    n = array.shape[0]
    if array.dtype.kind not in "fiu":
        raise KeypointFormatError(f"{source}: keypoints must be numbers; got dtype {array.dtype}")
    if scores is not None and np.shape(scores) != (n, skeleton.n_joints):
        raise KeypointFormatError(f"{source}: scores must have shape {(n, skeleton.n_joints)}; got "
                                  f"{np.shape(scores)}")
    ids = {k: v for k, v in extra.items() if np.ndim(v) == 1 and len(v) == n}
    if extra and len(ids) != len(extra) and layout == "memory":
        raise KeypointFormatError(f"{source}: every id column needs {n} values, one per frame")
    if not ids:
        ids = {"frame": np.arange(n)}
    # an empty in-memory array is an empty table; an empty file is reported by the caller
    for start in range(0, max(n, 1) if layout == "memory" else n, chunk_rows):
        part = slice(start, min(n, start + chunk_rows))
        block = np.asarray(array[part], dtype=np.float64)
        keypoints = block[..., :2].copy()
        if scores is not None:
            block_scores = np.asarray(scores[part], dtype=np.float64).copy()
        elif block.shape[-1] == 3:
            block_scores = block[..., 2].copy()
        else:
            block_scores = np.ones(keypoints.shape[:2])
        problems = np.full(len(keypoints), "", dtype=object)
        check_values(keypoints, block_scores, problems, lambda r, s=start: f"frame index {s + r}",
                     lambda j, a: f"{skeleton.joints[j]} {('x', 'y', 'score')[a]}")
        frame = pd.DataFrame({k: np.asarray(v)[part] for k, v in ids.items()})
        yield KeypointTable(keypoints, block_scores, frame, skeleton, problems, source, layout,
                            line_numbers=np.arange(part.start, part.stop), line_label="frame index")
