"""Lift keypoint tables: one chunk in memory (:func:`lift_table`), or a whole file streamed (:func:`lift_file`).

Streaming keeps memory flat: the input is read in chunks, each chunk is
mapped onto the bases' skeleton, lifted (the lifter's numba kernels run the
frames of a chunk in parallel on all threads), and stored as a part file
``<output>.parts/part-000000.csv`` (``.npz`` for JSON/NPZ outputs) through a
temporary file and a rename, with its status counts beside it.
When every chunk is done the parts are joined into the output, again via a
temporary file and a rename, and the parts folder is removed.  ``resume``
re-reads the input but skips chunks whose part exists, after checking that
the input file and the settings are those of the interrupted run.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import status as _status
from ..pixels import check_image_size
from .csv_wide import classify_columns, table_from_wide
from .readers import iter_keypoint_chunks, prepare_chunk, split_format
from .table import BAD_INPUT, NO_PERSON, NO_PERSON_MESSAGE, KeypointFormatError, KeypointTable, flag_duplicates
from .writers import (CAMERA_COLUMNS, RESULT_COLUMNS, check_suffix, csv_header, join_csv_parts, read_part,
                      write_csv_part, write_lifted, write_part)

__all__ = ["lift_table", "lift_keypoints", "lift_file", "output_columns", "person_groups", "BatchSummary",
           "LIFTED_STATUSES"]

#: Statuses of rows that carry a 3D pose (from the one status table, :mod:`lift2d3d.status`).
LIFTED_STATUSES = _status.LIFTED
_MANIFEST = "manifest.json"


def output_columns(id_columns, joint_names, write_camera=False) -> list:
    """Column order of a lifted table: ids, ``<joint>_x/_y/_z`` per joint, the result columns
    [, the camera columns :data:`~.writers.CAMERA_COLUMNS`]."""
    return (list(id_columns) + [f"{j}_{a}" for j in joint_names for a in "xyz"] + list(RESULT_COLUMNS)
            + (list(CAMERA_COLUMNS) if write_camera else []))


#: Id columns that number frames in time rather than name a person or a video.
TIME_COLUMNS = ("frame", "frame_id", "frame_idx", "frame_index", "time", "timestamp", "t")


def person_groups(ids: pd.DataFrame, rows: np.ndarray) -> list:
    """Row indices per person: rows equal in every id column except the time ones (:data:`TIME_COLUMNS`)."""
    keys = [c for c in ids.columns if str(c).lower() not in TIME_COLUMNS]
    if not keys or len(rows) == 0:
        return [rows]
    groups = ids.iloc[rows][keys].astype(str).groupby(keys, sort=False).indices
    return [rows[g] for g in groups.values()]


def lift_keypoints(table: KeypointTable, lifter, sequence: bool = False, write_camera: bool = False) -> pd.DataFrame:
    """Map a :class:`KeypointTable` onto ``lifter``'s skeleton, lift it, and tabulate the result.

    Rows with a reader problem are not lifted: they get status ``bad_input``
    and the problem as their message; rows of frames without a person get
    ``no_person``.  The output has one row per input row, in input order
    (see :func:`output_columns`).  ``sequence``: the rows of each person
    (:func:`person_groups`) are lifted together by
    :meth:`Lifter.lift_sequence`, sharing bone proportions.  ``write_camera``:
    add the rotation, scale and translation columns (NaN where not lifted).
    """
    joints = tuple(lifter.joint_names)
    clash = [c for c in table.ids.columns if c in set(output_columns([], joints, write_camera=write_camera))]
    if clash:
        raise KeypointFormatError(f"{table.source}: id column(s) {', '.join(map(str, clash))} clash with "
                                  "output columns; rename them")
    keypoints, scores = table.mapping_to(lifter).apply(table.keypoints, table.scores)
    n, p = len(table), len(joints)
    good = table.good
    xyz = np.full((n, p, 3), np.nan)
    status = np.full(n, BAD_INPUT, dtype=object)
    message = table.problems.astype(object).copy()
    empty = table.no_person & ~table.bad
    status[empty] = NO_PERSON
    message[empty] = NO_PERSON_MESSAGE
    error = np.full(n, np.nan)
    iterations = np.zeros(n, dtype=np.int64)
    pose = np.full((n, len(CAMERA_COLUMNS)), np.nan) if write_camera else None
    rows = np.flatnonzero(good)
    lift = lifter.lift_sequence if sequence else lifter.lift
    for group in (person_groups(table.ids, rows) if sequence else [rows]):
        if len(group) == 0:
            continue
        result = lift(keypoints[group], scores[group])
        xyz[group] = result.joints3d
        status[group] = result.status
        message[group] = result.message
        error[group] = result.reprojection_error
        iterations[group] = result.iterations
        if write_camera:
            pose[group, :9] = np.asarray(result.rotation, dtype=np.float64).reshape(len(group), 9)
            pose[group, 9] = result.scale
            pose[group, 10:] = np.asarray(result.translation, dtype=np.float64).reshape(len(group), 3)
    columns = {c: table.ids[c].to_numpy() for c in table.ids.columns}
    for j, joint in enumerate(joints):
        for a, axis in enumerate("xyz"):
            columns[f"{joint}_{axis}"] = xyz[:, j, a]
    columns.update(status=status, reprojection_error=error, iterations=iterations, message=message)
    if write_camera:
        # the pose of a row that was not lifted is unknown, whatever the solver left there
        pose[~np.isfinite(xyz).any(axis=(1, 2))] = np.nan
        columns.update({name: pose[:, k] for k, name in enumerate(CAMERA_COLUMNS)})
    return pd.DataFrame(columns, columns=output_columns(table.ids.columns, joints, write_camera=write_camera))


def lift_table(df: pd.DataFrame, lifter, format=None, sequence: bool = False, image_size=None,
               write_camera: bool = False) -> pd.DataFrame:
    """Lift one in-memory wide keypoint table (a pure function: same rows -> same output).

    Parameters
    ----------
    df : pandas.DataFrame
        Id columns plus ``<joint>_x``, ``<joint>_y`` [, ``<joint>_score``] in
        pixels (empty/NaN = missing joint), for any registered format.
    lifter : Lifter
        Its ``joint_names`` decide the output joints.
    format : str, optional
        Skeleton of the columns (detected from the names when omitted).
    sequence : bool, default False
        Lift each person's rows together (:meth:`Lifter.lift_sequence`,
        shared bone proportions); a person is the rows that agree in every
        id column except frame/time ones (:func:`person_groups`).
    image_size : (width, height), optional
        Convert normalised coordinates (within 0-1, e.g. MediaPipe's) to
        pixels; normalised coordinates without it are an error.
    write_camera : bool, default False
        Add the camera columns ``r11 ... r33``, ``scale``, ``tx``, ``ty``, ``tz``
        (:data:`~lift2d3d.io.writers.CAMERA_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        Id columns as given, ``<joint>_x``, ``<joint>_y``, ``<joint>_z``
        (metres, camera frame) for every joint in ``lifter.joint_names``,
        then ``status``, ``reprojection_error`` (pixels), ``iterations`` and
        ``message``.  Bad rows are kept with their status and reason; an
        empty ``df`` gives an empty table with the same columns.

    Raises
    ------
    KeypointFormatError
        When the columns cannot be understood (no id column, unknown joints...),
        or the coordinates look normalised and no ``image_size`` is given.
    """
    format, _ = split_format(format)
    classified = classify_columns(list(df.columns), format=format, source="table")
    table = table_from_wide(df, classified=classified, source="table")
    flag_duplicates(table.ids, table.problems, table.where)
    prepare_chunk(table, check_image_size(image_size))
    return lift_keypoints(table, lifter, sequence=sequence, write_camera=write_camera)


@dataclass
class BatchSummary:
    """What :func:`lift_file` did, with timings in seconds."""

    input: str
    output: str
    layout: str = ""
    skeleton: str = ""
    rows: int = 0
    status_counts: dict = field(default_factory=dict)
    chunks: int = 0
    chunks_resumed: int = 0
    seconds_read: float = 0.0
    seconds_lift: float = 0.0
    seconds_write: float = 0.0
    seconds_total: float = 0.0
    peak_rss_mb_first_chunks: float = 0.0
    peak_rss_mb: float = 0.0
    mapping: str = ""
    notes: list = field(default_factory=list)
    first_problems: list = field(default_factory=list)
    #: output joint -> rows in which the input provided it (directly or derived)
    joint_rows: dict = field(default_factory=dict)
    #: ``resume`` found the output complete and did nothing
    complete: bool = False

    @property
    def lifted(self) -> int:
        return sum(self.status_counts.get(s, 0) for s in LIFTED_STATUSES)

    def text(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.status_counts.items()))
        if self.complete:
            return (f"output is complete: {self.output} holds {self.rows} rows ({counts}), {self.lifted} lifted; "
                    "nothing was rerun")
        rate = self.rows / self.seconds_total if self.seconds_total > 0 else float("nan")
        lines = [f"lifted {self.lifted} of {self.rows} rows ({counts}) in {self.seconds_total:.1f} s "
                 f"({rate:.0f} rows/s; read {self.seconds_read:.1f} s, lift {self.seconds_lift:.1f} s, "
                 f"write {self.seconds_write:.1f} s) -> {self.output}"]
        if self.chunks_resumed:
            lines.append(f"resumed: {self.chunks_resumed} of {self.chunks} chunks were already done")
        # joints missing from more than 1% of the rows: the solver estimates them from the bases there
        partial = [f"{joint} {n}" for joint, n in self.joint_rows.items() if n < 0.99 * self.rows]
        if partial:
            lines.append(f"joints given (directly or derived) in fewer rows than {self.rows}: {', '.join(partial)}; "
                         "the bases estimate them where missing")
        lines += [f"  {p}" for p in self.first_problems]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items()}
        data["lifted"] = self.lifted
        return data


def _input_identity(path) -> dict:
    path = Path(path).resolve()
    stat = path.stat()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json")
        return {"path": str(path), "files": len(files),
                "bytes": sum(p.stat().st_size for p in files),
                "mtime_ns": max((p.stat().st_mtime_ns for p in files), default=0)}
    return {"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _count_rows(path, layout):
    """Rows to expect (for the progress bar), or None when not cheap to know."""
    path = Path(path)
    if layout == "numpy" and path.suffix.lower() == ".npy":
        return int(np.load(path, mmap_mode="r").shape[0])
    if layout == "csv-wide" and path.is_file():
        lines = 0
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 24), b""):
                lines += block.count(b"\n")
        return max(lines - 1, 0)
    return None


def _progress_bar(show, total):
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="row", desc="lifting", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def lift_file(input, output, lifter, format=None, layout=None, delimiter=None, chunk_rows=5000, resume=False,
              progress=None, settings=None, log=None, sequence=False, image_size=None, joint_map=None,
              write_camera=False) -> BatchSummary:
    """Lift a keypoint file to a CSV/JSON/NPZ output, streaming in chunks.

    Parameters
    ----------
    input : path
        Any layout :func:`read_keypoints` reads.
    output : path
        ``.csv``, ``.json`` or ``.npz`` (see :func:`write_lifted`).
    lifter : Lifter
    format, layout, delimiter
        As for :func:`read_keypoints`.
    chunk_rows : int
        Poses per chunk (memory and resume granularity).
    resume : bool
        Continue an interrupted run: chunks already stored in
        ``<output>.parts`` are not lifted again.
    progress : bool or None
        Show a tqdm bar; ``None`` = only when stderr is a terminal.
    settings : dict, optional
        JSON-able description of the lifter options, compared on resume.
    log : callable(str), optional
        Receives the lines describing what is being done (layout, mapping).
    sequence : bool
        Lift each person's rows (equal id columns apart from the frame) as one
        sequence with shared bone proportions (:meth:`Lifter.lift_sequence`);
        a person whose rows span several chunks is pooled per chunk.
    image_size : (width, height), optional
        Converts normalised coordinates to pixels (see :func:`read_keypoints`).
    joint_map : dict or path, optional
        Part/marker name -> joint for DeepLabCut and TRC inputs (``--map``).
    write_camera : bool
        Add the camera columns (rotation, scale, translation) to the output.

    ``resume`` on a finished run (the output exists, no parts folder is
    left, and the output is newer than the input) does nothing and says the
    output is complete; its summary counts the statuses of the output.

    Returns
    -------
    BatchSummary

    Raises
    ------
    KeypointFormatError
        When the input as a whole is unusable, or ``resume`` finds a run with
        other settings.
    """
    started = time.perf_counter()
    log = log or (lambda text: None)
    output = Path(output)
    check_suffix(output)
    if output.is_dir():
        raise KeypointFormatError(f"{output} is a folder; name an output file ending in .csv, .json or .npz")
    if int(chunk_rows) < 1:
        raise ValueError(f"chunk_rows must be >= 1; got {chunk_rows}")
    format, layout = split_format(format, layout)
    image_size = check_image_size(image_size)
    summary = BatchSummary(input=str(input), output=str(output))
    parts = output.with_name(output.name + ".parts")
    manifest = {"format_version": 1, "input": _input_identity(input) if Path(input).exists() else str(input),
                "format": format, "layout": layout, "delimiter": delimiter, "chunk_rows": int(chunk_rows),
                "joint_names": list(lifter.joint_names),
                "bases_sha256": lifter.bases.metadata.get("arrays_sha256"),
                "settings": settings if settings is not None else repr(lifter)}
    # options added later are recorded only when used, so older parts folders still resume
    manifest.update({k: v for k, v in (("image_size", image_size), ("write_camera", bool(write_camera) or None),
                                       ("joint_map", joint_map if joint_map is None or isinstance(joint_map, dict)
                                        else str(joint_map))) if v is not None})
    manifest = json.loads(json.dumps(manifest, default=str))
    if resume and not parts.exists() and _finished(input, output):
        log(f"output is complete: {output} exists and is newer than {input}, and no unfinished run is left "
            f"({parts} does not exist); nothing to do. Run without --resume to lift it again")
        return _complete_summary(summary, output, started)
    if resume and (parts / _MANIFEST).is_file():
        previous = json.loads((parts / _MANIFEST).read_text())
        if previous != manifest:
            changed = sorted(k for k in set(previous) | set(manifest) if previous.get(k) != manifest.get(k))
            raise KeypointFormatError(
                f"cannot resume {output}: the {', '.join(changed)} differ from the interrupted run's; rerun "
                f"without --resume to start again (the finished chunks in {parts} will be discarded)")
        log(f"resuming from {parts}")
    else:
        if resume:
            log(f"nothing to resume ({parts} does not exist); starting from the beginning")
        if parts.exists():
            if not (parts / _MANIFEST).is_file():
                raise KeypointFormatError(f"{parts} exists but is not a lift2d3d parts folder; move it away")
            shutil.rmtree(parts)
        parts.mkdir(parents=True)
        (parts / _MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))

    text_parts = output.suffix.lower() == ".csv"
    chunks = iter_keypoint_chunks(input, format, layout, chunk_rows=int(chunk_rows), delimiter=delimiter,
                                  image_size=image_size, joint_map=joint_map)
    bar = None
    part_paths = []
    try:
        index = 0
        while True:
            t0 = time.perf_counter()
            try:
                table = next(chunks)
            except StopIteration:
                summary.seconds_read += time.perf_counter() - t0
                break
            summary.seconds_read += time.perf_counter() - t0
            if index == 0:
                mapping = table.mapping_to(lifter)
                summary.layout, summary.skeleton, summary.mapping = table.layout, table.skeleton.name, mapping.report()
                log(f"reading {input} as {table.layout}, format {table.skeleton.name}; "
                    f"lifting onto {lifter.skeleton.name} ({lifter!r})")
                log(mapping.report())
                if not (mapping.direct or mapping.derived):
                    raise KeypointFormatError(f"{input}: no joint of {table.skeleton.name} maps onto the bases' "
                                              f"skeleton {lifter.skeleton.name}")
                bar = _progress_bar(progress, _count_rows(input, table.layout) if progress is not False else None)
            summary.notes.extend(table.notes)
            if index == 0:
                header = csv_header(output_columns(table.ids.columns, lifter.joint_names, write_camera=write_camera))
            part = parts / f"part-{index:06d}{'.csv' if text_parts else '.npz'}"
            counts_path = parts / f"part-{index:06d}.counts.json"
            part_paths.append(part)
            if resume and part.is_file() and counts_path.is_file():
                summary.chunks_resumed += 1
                counts = json.loads(counts_path.read_text())
            else:
                t0 = time.perf_counter()
                lifted = lift_keypoints(table, lifter, sequence, write_camera=write_camera)
                summary.seconds_lift += time.perf_counter() - t0
                t0 = time.perf_counter()
                counts = {k: int(v) for k, v in lifted["status"].value_counts().items()}
                # counts first: a part only counts as done once both files exist
                counts_path.write_text(json.dumps(counts))
                (write_csv_part if text_parts else write_part)(lifted, part)
                summary.seconds_write += time.perf_counter() - t0
            for status, count in counts.items():
                summary.status_counts[status] = summary.status_counts.get(status, 0) + int(count)
            _, mapped_scores = mapping.apply(table.keypoints, table.scores)
            for joint, n in zip(lifter.joint_names, (mapped_scores > 0).sum(axis=0)):
                summary.joint_rows[joint] = summary.joint_rows.get(joint, 0) + int(n)
            if len(summary.first_problems) < 3:
                bad = np.flatnonzero(table.bad)[: 3 - len(summary.first_problems)]
                summary.first_problems += [str(table.problems[r]) for r in bad]
            summary.rows += len(table)
            index += 1
            if index == 3:
                summary.peak_rss_mb_first_chunks = _peak_rss_mb()
            if bar is not None:
                bar.update(len(table))
        summary.chunks = index
        if index == 0:
            raise KeypointFormatError(f"{input}: holds no keypoint rows")
        t0 = time.perf_counter()
        if text_parts:
            join_csv_parts(header, part_paths, output)
        else:
            write_lifted((read_part(p) for p in part_paths), output)
        shutil.rmtree(parts)
        summary.seconds_write += time.perf_counter() - t0
    except BaseException:
        # A run that failed before finishing any chunk leaves nothing behind.
        if parts.is_dir() and not any(parts.glob("part-*.counts.json")):
            shutil.rmtree(parts, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    summary.seconds_total = time.perf_counter() - started
    summary.peak_rss_mb = _peak_rss_mb()
    return summary


def _finished(input, output) -> bool:
    """The output exists and was written after the input last changed."""
    output, input = Path(output), Path(input)
    if not output.is_file() or not input.exists():
        return False
    changed = _input_identity(input)["mtime_ns"]
    return output.stat().st_mtime_ns >= changed


def _complete_summary(summary: BatchSummary, output: Path, started: float) -> BatchSummary:
    """The summary of a finished output, from its status column."""
    suffix = output.suffix.lower()
    try:
        if suffix == ".csv":
            status = pd.read_csv(output, usecols=["status"], dtype=str, keep_default_na=False)["status"]
        elif suffix == ".json":
            with open(output, "r", encoding="utf-8") as handle:
                status = pd.Series([f.get("status") for f in json.load(handle)["frames"]])
        else:
            with np.load(output, allow_pickle=False) as data:
                status = pd.Series(data["status"])
    except (OSError, ValueError, KeyError) as exc:
        raise KeypointFormatError(f"cannot resume {output}: it exists but cannot be read as a lifted table ({exc}); "
                                  "rerun without --resume") from None
    summary.status_counts = {str(k): int(v) for k, v in status.value_counts().items()}
    summary.rows = len(status)
    summary.complete = True
    summary.seconds_total = time.perf_counter() - started
    return summary


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (0 where the platform cannot say)."""
    try:
        import resource
    except ImportError:
        return 0.0
    # ru_maxrss is KiB on Linux, bytes on macOS
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
