"""A MoCap corpus: find takes of mixed formats in folders, read them, resample, thin repeats.

:func:`find_takes` walks directories or glob patterns and recognises

``*.amc``
    Acclaim motion, read with its skeleton (:func:`lift2d3d.mocap.read_asf_amc`;
    ``SS_TT.amc`` finds ``SS_TT.asf`` or ``SS.asf`` next to it).
``*.bvh``
    BVH of any shipped rig (:func:`lift2d3d.mocap.read_bvh`, rig detected).
``*.txt`` / ``*.json`` holding a JSON object with ``"Frames"``
    DeepMimic humanoid clips (:func:`lift2d3d.mocap.read_deepmimic`).

Every take gets a *performer*: the subject number of CMU-style names
``SS_TT`` (``07_03`` -> ``"07"``, the same across formats), otherwise the
name of the folder holding the file (``martial/martial_04.bvh`` ->
``"martial"``: one performer per folder, because those copies did not
record the subject).  Held-out validation splits by performer
(:func:`performer_folds`, which both learners' ``--select`` use).

:func:`read_corpus` reads the takes in a fixed order (by relative path), so
the result does not depend on the order the file system lists them in, and

1. **resamples** to a common frame rate by picking, for each output time
   ``k / fps``, the nearest recorded frame (decimation for integer ratios:
   120 -> 30 fps keeps every 4th frame).  Picking keeps recorded poses;
   interpolating joint positions would invent poses between two recorded
   ones and shorten bones in fast motion, and a pose prior has no use for
   the anti-aliasing a signal resampler provides.  Takes recorded below the
   target rate are kept whole (never up-sampled);
2. **thins near-duplicate poses** within each take
   (:func:`lift2d3d.mocap.poses.thin_poses`): a pose is dropped when, after
   normalisation and torso alignment, its mean joint distance to a pose
   already kept from the same take is below ``min_distance`` (default
   :data:`DEFAULT_MIN_DISTANCE_MM`);
3. **drops duplicate takes**: the same ``SS_TT`` in two formats (the CMU
   folders hold some takes both as AMC and as a DeepMimic retarget) is read
   once, from the first format of ``prefer``;
4. **reports** every file: format, performer, SHA-256, frames read,
   resampled and kept, or why it was not used (a bad file is reported and
   skipped; it does not stop the walk).
"""

from __future__ import annotations

import glob as globmodule
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["TakeFile", "Take", "Corpus", "find_takes", "read_take", "read_corpus", "resample_indices",
           "file_sha256", "performer_of", "performer_folds", "FORMATS", "DEFAULT_FPS", "DEFAULT_MIN_DISTANCE_MM",
           "AMC_FPS"]

#: Formats the walk recognises, in the default order of preference for a take found in several.
FORMATS = ("asf-amc", "bvh", "deepmimic")

#: Common frame rate of the corpus (the DeepMimic clips' rate; CMU's 120 fps decimates by 4).
DEFAULT_FPS = 30.0

#: Default near-duplicate threshold, mm of mean joint distance after normalisation and alignment.
DEFAULT_MIN_DISTANCE_MM = 10.0

#: Frame rate of AMC files, which do not record it (CMU's takes are 120 fps).
AMC_FPS = 120.0

_CMU_TAKE = re.compile(r"^(?P<subject>\d+)_(?P<trial>\d+)$")
_GLOB_CHARS = set("*?[")


def file_sha256(path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class TakeFile:
    """One take found by :func:`find_takes` (not yet read).

    Attributes
    ----------
    path : Path
        The motion file.
    relpath : str
        Path relative to the roots searched (see :func:`find_takes`), with ``/``.
    format : {"asf-amc", "bvh", "deepmimic"}
    take : str
        File stem (``07_03``).
    performer : str
        Subject number of ``SS_TT`` names, else the folder name.
    performer_known : bool
        False when the performer is the folder name (subject not recorded).
    """

    path: Path
    relpath: str
    format: str
    take: str
    performer: str
    performer_known: bool


@dataclass(frozen=True, eq=False)
class Take:
    """A take read, resampled and thinned.

    Attributes
    ----------
    joints3d : (n_kept, 15, 3) float, metres, y up
        The kept poses (no NaN).
    file : TakeFile
    fps : float
        Frame rate after resampling.
    source_fps : float
    n_frames : int
        Frames in the file (after a rig's rest frames are dropped).
    n_invalid : int
        Frames with NaN/inf joints (dropped).
    n_resampled : int
        Frames after resampling.
    sha256 : str
        Of the motion file.
    skeleton_file : str or None
        ``relpath`` of the ASF used, for AMC takes.
    """

    joints3d: np.ndarray
    file: TakeFile
    fps: float
    source_fps: float
    n_frames: int
    n_invalid: int
    n_resampled: int
    sha256: str
    skeleton_file: str | None = None

    def __len__(self) -> int:
        return len(self.joints3d)

    @property
    def performer(self) -> str:
        return self.file.performer


@dataclass
class Corpus:
    """What :func:`read_corpus` read.

    Attributes
    ----------
    takes : list of Take
        In ``relpath`` order.
    report : list of dict
        One row per file found: ``path``, ``format``, ``take``, ``performer``,
        ``sha256``, ``frames``, ``resampled``, ``kept``, ``status`` (``"used"``
        or why not).
    files : list of dict
        Every file the takes used (motion files, ASF skeletons, the DeepMimic
        URDF): ``path``, ``sha256``, ``format``, ``take`` (None for a
        skeleton).
    settings : dict
        ``fps``, ``min_distance_mm``, ``prefer``, ``amc_fps``.
    """

    takes: list
    report: list
    files: list
    settings: dict = field(default_factory=dict)

    @property
    def performers(self) -> list:
        return sorted({take.performer for take in self.takes})

    def inputs_sha256(self) -> str:
        """SHA-256 over the files' relative paths and hashes (in path order)."""
        digest = hashlib.sha256()
        for entry in sorted(self.files, key=lambda e: e["path"]):
            digest.update(f"{entry['path']}\t{entry['sha256']}\n".encode())
        return digest.hexdigest()

    def summary(self) -> list:
        """Rows per format: takes, performers, frames read, resampled and kept."""
        rows = []
        for fmt in FORMATS + ("all",):
            takes = [t for t in self.takes if fmt == "all" or t.file.format == fmt]
            if not takes:
                continue
            rows.append(dict(format=fmt, takes=len(takes), performers=len({t.performer for t in takes}),
                             frames=sum(t.n_frames for t in takes), resampled=sum(t.n_resampled for t in takes),
                             kept=sum(len(t) for t in takes)))
        return rows


def _is_deepmimic(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(512).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and b'"Frames"' in head


def _classify(path: Path):
    suffix = path.suffix.lower()
    if suffix == ".amc":
        return "asf-amc"
    if suffix == ".bvh":
        return "bvh"
    if suffix in (".txt", ".json") and _is_deepmimic(path):
        return "deepmimic"
    return None


def performer_of(path) -> tuple:
    """The performer of a take file and whether it is known: ``("07", True)`` for ``07_03.*``, else
    ``(folder name, False)``."""
    path = Path(path)
    match = _CMU_TAKE.match(path.stem)
    if match:
        return match["subject"], True
    return path.parent.name or path.stem, False


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def find_takes(paths) -> list:
    """Find the takes under directories, glob patterns or files.

    Parameters
    ----------
    paths : str, Path or sequence of them
        Directories (searched recursively), glob patterns (``**`` allowed)
        or files.

    Returns
    -------
    list of TakeFile
        Sorted by ``relpath``; a file reached twice is listed once.
        ``relpath`` is relative to the *base*: the one root given (a
        directory, a pattern's fixed leading folders, or a file's folder), or
        the deepest folder common to several roots, so that
        ``find_takes("/data/cmu")`` names files as the corpus's
        ``MANIFEST.sha256`` does (``asf-amc/07/07_03.amc``).

    Raises
    ------
    FileNotFoundError
        A path that does not exist or a pattern that matches nothing.
    """
    import os

    if isinstance(paths, (str, Path)):
        paths = [paths]
    groups = []
    for given in paths:
        text = str(given)
        if _GLOB_CHARS & set(text):
            root = _glob_root(text)
            candidates = [Path(p) for p in globmodule.glob(text, recursive=True)]
            candidates = [p for p in candidates if p.is_file()]
            if not candidates:
                raise FileNotFoundError(f"{text}: the pattern matches no file")
        else:
            root = Path(text)
            if root.is_dir():
                candidates = [p for p in root.rglob("*") if p.is_file()]
            elif root.is_file():
                candidates, root = [root], root.parent
            else:
                raise FileNotFoundError(f"{text}: no such file or folder")
        groups.append((root.resolve(), candidates))
    roots = sorted({str(root) for root, _ in groups})
    base = Path(roots[0]) if len(roots) == 1 else Path(os.path.commonpath(roots))
    found = {}
    for _, candidates in groups:
        for path in candidates:
            fmt = _classify(path)
            if fmt is None:
                continue
            resolved = path.resolve()
            if resolved in found:
                continue
            try:
                relpath = resolved.relative_to(base).as_posix()
            except ValueError:   # a pattern reaching outside its fixed prefix (../)
                relpath = resolved.as_posix()
            performer, known = performer_of(path)
            found[resolved] = TakeFile(path=path, relpath=relpath, format=fmt, take=path.stem, performer=performer,
                                       performer_known=known)
    return sorted(found.values(), key=lambda t: t.relpath)


def resample_indices(n_frames: int, source_fps: float, fps: float) -> np.ndarray:
    """Frames to keep to resample ``n_frames`` from ``source_fps`` to ``fps``: the nearest to each ``k / fps``.

    Returns every frame when ``source_fps`` is not above ``fps`` by more than
    1 % (no up-sampling) or is unknown.

    Returns
    -------
    (m,) int, increasing
    """
    # within 1 %: the same rate written with a rounded frame time (BVH "Frame Time: 0.033333")
    if n_frames == 0 or not np.isfinite(source_fps) or source_fps <= fps * 1.01:
        return np.arange(n_frames)
    duration = (n_frames - 1) / source_fps
    times = np.arange(int(np.floor(duration * fps + 1e-9)) + 1) / fps
    # nearest frame; halves round up (floor(x + 0.5)) so 120 -> 30 fps is exactly every 4th frame
    indices = np.floor(times * source_fps + 0.5 + 1e-9).astype(int)
    return np.unique(np.clip(indices, 0, n_frames - 1))


def read_take(take: TakeFile, fps: float = DEFAULT_FPS, min_distance_mm: float = DEFAULT_MIN_DISTANCE_MM,
              amc_fps: float = AMC_FPS, skeletons: dict | None = None) -> Take:
    """Read one take, resample it to ``fps`` and thin its near-duplicate poses.

    Parameters
    ----------
    take : TakeFile
    fps : float
    min_distance_mm : float
        See :func:`lift2d3d.mocap.poses.thin_poses`; 0 keeps every pose.
    amc_fps : float
        Frame rate of AMC files.
    skeletons : dict, optional
        Cache of parsed ASF files (path -> AcclaimSkeleton), shared by the
        takes of one subject.

    Returns
    -------
    Take
    """
    from .poses import thin_poses
    from .acclaim import find_asf, load_asf, read_asf_amc
    from .bvh import read_bvh
    from .deepmimic import read_deepmimic

    skeleton_file = None
    if take.format == "asf-amc":
        asf = find_asf(take.path)
        key = str(asf.resolve())
        if skeletons is None:
            skeletons = {}
        if key not in skeletons:
            skeletons[key] = load_asf(asf)
        skeleton_file = asf
        clip = read_asf_amc(take.path, asf=skeletons[key], fps=amc_fps)
    elif take.format == "bvh":
        clip = read_bvh(take.path)
    elif take.format == "deepmimic":
        clip = read_deepmimic(take.path)
    else:
        raise ValueError(f"{take.path}: unknown format {take.format!r}; expected one of {', '.join(FORMATS)}")
    joints3d = clip.joints3d
    n_invalid = clip.n_invalid
    rows = resample_indices(len(joints3d), clip.fps, fps)
    resampled = joints3d[rows]
    resampled = resampled[np.all(np.isfinite(resampled), axis=(1, 2))]
    kept = resampled[thin_poses(resampled, min_distance_mm / 1000.0)]
    return Take(joints3d=kept, file=take, fps=min(float(fps), float(clip.fps)) if np.isfinite(clip.fps) else fps,
                source_fps=float(clip.fps), n_frames=len(joints3d), n_invalid=n_invalid, n_resampled=len(resampled),
                sha256=file_sha256(take.path), skeleton_file=str(skeleton_file) if skeleton_file else None)


def read_corpus(paths, fps: float = DEFAULT_FPS, min_distance_mm: float = DEFAULT_MIN_DISTANCE_MM,
                formats=None, prefer=FORMATS, amc_fps: float = AMC_FPS, log=None) -> Corpus:
    """Find, read, resample and thin every take under ``paths``.

    Parameters
    ----------
    paths : str, Path or sequence
        Folders, glob patterns or files (see :func:`find_takes`).
    fps : float
        Common frame rate (default 30).
    min_distance_mm : float
        Near-duplicate threshold (default :data:`DEFAULT_MIN_DISTANCE_MM`).
    formats : sequence of str, optional
        Formats to use (default all of :data:`FORMATS`); others are reported
        as "format not selected".
    prefer : sequence of str, or None
        Order of preference for a take (same ``SS_TT``) found in several
        formats; only the first is read.  ``None`` reads every copy.
    amc_fps : float
    log : callable, optional
        Called with one line per file.

    Returns
    -------
    Corpus
        A file that cannot be read is reported (``status`` "error: ...")
        and skipped.
    """
    from .acclaim import AcclaimError
    from .bvh import BVHError

    formats = tuple(FORMATS if formats is None else formats)
    unknown = [f for f in list(formats) + list(prefer or []) if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    found = find_takes(paths)
    chosen = {}
    if prefer is not None:
        rank = {fmt: i for i, fmt in enumerate(list(prefer) + [f for f in FORMATS if f not in prefer])}
        for take in found:
            if take.format not in formats or not take.performer_known:
                continue
            best = chosen.get(take.take)
            if best is None or rank[take.format] < rank[best.format]:
                chosen[take.take] = take
    takes, report, files, skeleton_hashes = [], [], {}, {}
    skeletons: dict = {}
    urdf_needed = False
    for take in found:
        row = dict(path=take.relpath, format=take.format, take=take.take, performer=take.performer,
                   performer_known=take.performer_known, sha256=None, frames=0, resampled=0, kept=0)
        if take.format not in formats:
            row["status"] = "format not selected"
        elif prefer is not None and take.performer_known and chosen[take.take] is not take:
            row["status"] = f"duplicate take: {chosen[take.take].relpath} is used"
        else:
            try:
                read = read_take(take, fps=fps, min_distance_mm=min_distance_mm, amc_fps=amc_fps,
                                 skeletons=skeletons)
            except (AcclaimError, BVHError, ValueError, FileNotFoundError, ImportError, OSError) as exc:
                row["status"] = f"error: {exc}"
            else:
                row.update(sha256=read.sha256, frames=read.n_frames, resampled=read.n_resampled, kept=len(read),
                           status="used" if len(read) else "no valid frames")
                if len(read):
                    takes.append(read)
                    files[take.relpath] = dict(path=take.relpath, sha256=read.sha256, format=take.format,
                                               take=take.take, performer=take.performer)
                    if read.skeleton_file:
                        asf = Path(read.skeleton_file)
                        asf_rel = str(Path(take.relpath).parent / asf.name)
                        if asf_rel not in files:
                            key = str(asf.resolve())
                            skeleton_hashes.setdefault(key, file_sha256(asf))
                            files[asf_rel] = dict(path=asf_rel, sha256=skeleton_hashes[key], format="asf",
                                                  take=None, performer=take.performer)
                    urdf_needed |= take.format == "deepmimic"
        if log:
            log(_report_line(row))
        report.append(row)
    if urdf_needed:
        from .deepmimic import deepmimic_data_dir

        urdf = deepmimic_data_dir() / "humanoid" / "humanoid.urdf"
        files["pybullet_data/humanoid/humanoid.urdf"] = dict(path="pybullet_data/humanoid/humanoid.urdf",
                                                             sha256=file_sha256(urdf), format="urdf", take=None,
                                                             performer=None)
    settings = dict(fps=float(fps), min_distance_mm=float(min_distance_mm), formats=list(formats),
                    prefer=None if prefer is None else list(prefer), amc_fps=float(amc_fps))
    return Corpus(takes=takes, report=report, files=sorted(files.values(), key=lambda e: e["path"]),
                  settings=settings)


def _report_line(row: dict) -> str:
    if row["status"] == "used":
        return (f"{row['path']}: {row['format']}, performer {row['performer']}, {row['frames']} frames -> "
                f"{row['resampled']} resampled -> {row['kept']} kept")
    return f"{row['path']}: {row['status']}"


def performer_folds(performers, n_folds: int, weights=None) -> np.ndarray:
    """Fold of each clip such that every performer's clips fall in one fold.

    Performers are dealt, largest first (by ``weights``: e.g. frames), to the
    fold holding the least so far, so folds are balanced and the assignment
    is deterministic (ties by performer name).

    Parameters
    ----------
    performers : sequence of str, one per clip
    n_folds : int
    weights : sequence of float, optional
        Size of each clip (default 1).

    Returns
    -------
    (n_clips,) int
    """
    performers = [str(p) for p in performers]
    weights = np.ones(len(performers)) if weights is None else np.asarray(weights, dtype=np.float64)
    names = sorted(set(performers))
    if len(names) < n_folds:
        raise ValueError(f"{n_folds} folds by performer need at least {n_folds} performers; got {len(names)} "
                         f"({', '.join(names)})")
    size = {name: float(sum(w for p, w in zip(performers, weights) if p == name)) for name in names}
    load = np.zeros(n_folds)
    fold_of = {}
    for name in sorted(names, key=lambda name: (-size[name], name)):
        fold = int(np.argmin(load))
        fold_of[name] = fold
        load[fold] += size[name]
    return np.array([fold_of[p] for p in performers])
