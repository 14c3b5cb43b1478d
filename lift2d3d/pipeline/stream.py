"""Lift a whole keypoint file, streaming in chunks, resumable (:func:`lift_file`, what ``lift2d3d lift`` runs).

Streaming keeps memory flat: the input is read in chunks
(:func:`lift2d3d.io.iter_keypoint_chunks`), each chunk is mapped onto the
bases' skeleton once, lifted (:func:`.jobs.lift_chunk`), and stored as a
part file ``<output>.parts/part-000000.csv`` (``.npz`` for JSON/NPZ outputs)
through a temporary file and a rename, with its status counts beside it.
When every chunk is done the parts are joined into the output, again via a
temporary file and a rename, and the parts folder is removed.  ``resume``
re-reads the input but skips chunks whose part exists, after checking that
the input file and the settings are those of the interrupted run
(:mod:`.resume`).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import status as _status
from ..io import (CLIP_SUFFIXES, KeypointFormatError, check_suffix, csv_header, iter_keypoint_chunks, join_csv_parts,
                  output_columns, read_part, split_format, write_csv_part, write_lifted, write_part)
from ..mapping import valid_keypoints
from ..pixels import check_image_size
from . import resume as _resume
from .outputs import check_not_an_input, normal_output, output_lock
from .jobs import JobOptions, lift_chunk, prepared_chunks
from .tables import output_joints

__all__ = ["lift_file", "BatchSummary"]


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
    #: the lifter's settings as recorded in the resume manifest (:func:`~.resume.lifter_settings`)
    lifter: dict = field(default_factory=dict)
    #: the files written (one per person for BVH and TRC outputs)
    outputs: list = field(default_factory=list)
    #: the world frame's metadata by person (``frame="world"``, BVH and TRC outputs)
    world: dict = field(default_factory=dict)

    @property
    def lifted(self) -> int:
        """Rows with a usable 3D pose (the statuses of :data:`lift2d3d.status.LIFTED`)."""
        return sum(self.status_counts.get(s, 0) for s in _status.LIFTED)

    def text(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.status_counts.items()))
        if self.complete:
            return (f"output is complete: {self.output} holds {self.rows} rows ({counts}), {self.lifted} lifted; "
                    "nothing was rerun")
        rate = self.rows / self.seconds_total if self.seconds_total > 0 else float("nan")
        written = ", ".join(str(p) for p in self.outputs) if self.outputs else self.output
        lines = [f"lifted {self.lifted} of {self.rows} rows ({counts}) in {self.seconds_total:.1f} s "
                 f"({rate:.0f} rows/s; read {self.seconds_read:.1f} s, lift {self.seconds_lift:.1f} s, "
                 f"write {self.seconds_write:.1f} s) -> {written}"]
        for person, meta in self.world.items():
            if "gravity" in meta:
                lines.append(f"world frame ({person}): camera pitch {meta['camera_pitch_deg']:.1f} deg, roll "
                             f"{meta['camera_roll_deg']:.1f} deg; stature {meta['stature_m']:.2f} m; scale: "
                             f"{meta['scale']}")
        if self.chunks_resumed:
            lines.append(f"resumed: {self.chunks_resumed} of {self.chunks} chunks were already done")
        # joints missing from more than 1% of the rows: the solver estimates them from the bases there
        partial = [f"{joint} {n}" for joint, n in self.joint_rows.items() if n < 0.99 * self.rows]
        if partial and self.lifted:     # (nothing was estimated when nothing was lifted)
            lines.append(f"joints given (directly or derived) in fewer rows than {self.rows}: {', '.join(partial)}; "
                         "the bases estimate them where missing")
        lines += [f"  {p}" for p in self.first_problems]
        bad = self.status_counts.get(_status.STATUSES[_status.BAD_INPUT].name, 0)
        if bad > len(self.first_problems) and self.first_problems:
            lines.append(f"  ... and {bad - len(self.first_problems)} more row(s) with bad input (the status and "
                         "message columns of the output say which and why)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items()}
        data["lifted"] = self.lifted
        return data


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


#: How :func:`lift_file` reads its input (keyword options and their defaults): as for
#: :func:`~lift2d3d.io.read_keypoints`, plus the chunk size.
READ_OPTIONS = dict(format=None, layout=None, delimiter=None, chunk_rows=5000, image_size=None, joint_map=None)
#: What :func:`lift_file` writes (keyword options and their defaults), beyond the job's :class:`~.jobs.JobOptions`.
OUTPUT_OPTIONS = dict(depth_order=None, frame="camera", bvh_rig="cmu", bvh_units="m")


def lift_file(input, output, lifter, *, resume=False, progress=None, log=None, **options) -> BatchSummary:
    """Lift a keypoint file to a CSV/JSON/NPZ table, or BVH/TRC clips, streaming in chunks.

    One run per output: the output is locked while it is written (a second
    run on it refuses, naming the first; :func:`~.outputs.output_lock`), an
    output that is an input is refused, and ``a/../x`` is taken as ``x``.

    Parameters
    ----------
    input : path
        Any layout :func:`~lift2d3d.io.read_keypoints` reads.
    output : path
        ``.csv``, ``.json`` or ``.npz`` (see :func:`~lift2d3d.io.write_lifted`); or ``.bvh`` / ``.trc``:
        each person's clip in the world frame, one file per person (:mod:`.clips`).
    lifter : Lifter
        Its ``get_params()`` are recorded in the resume manifest.
    resume : bool
        Continue an interrupted run: chunks already stored in
        ``<output>.parts`` are not lifted again.  The input, the reader
        options, ``chunk_rows``, ``sequence``, ``write_camera`` and the
        lifter's settings must be those of the interrupted run.
    progress : bool or None
        Show a tqdm bar; ``None`` = only when stderr is a terminal.
    log : callable(str), optional
        Receives the lines describing what is being done (layout, mapping).
    **options
        How the input is read (:data:`READ_OPTIONS`): ``format``, ``layout``,
        ``delimiter`` as for :func:`~lift2d3d.io.read_keypoints`; ``chunk_rows``
        (poses per chunk: memory and resume granularity, default 5000);
        ``image_size`` (width, height: normalised coordinates to pixels);
        ``joint_map`` (part/marker name -> joint for DeepLabCut and TRC inputs,
        ``--map``).  What the job does (:class:`~.jobs.JobOptions`):
        ``sequence`` (each person's rows, equal id columns apart from the frame,
        lifted as one sequence by :meth:`Lifter.lift_sequence`; a person whose rows
        span several chunks is lifted chunk by chunk, each chunk joined by up to
        :data:`~.tables.CONTEXT_FRAMES` of the person's frames from the chunks
        before and after it, so memory stays at three chunks), ``fps`` (the
        video's frame rate), ``write_camera`` (the camera columns: rotation, scale,
        translation), ``output_skeleton`` (the joints in another skeleton's order,
        ``h36m17``, ``coco17`` ...).  What it writes (:data:`OUTPUT_OPTIONS`):
        ``depth_order`` (a depth-order CSV of ordinal hints by row id,
        :mod:`lift2d3d.io.depth_order`), ``frame`` (``"camera"``, or ``"world"``:
        each person's gravity-aligned frame with the floor at 0, metres,
        :mod:`lift2d3d.world`, estimated from the person's whole clip; BVH and TRC
        outputs are always in it), ``bvh_rig`` and ``bvh_units`` (a BVH output's
        joint names, ``"cmu"`` or ``"mixamo"``, and units, ``"m"`` or ``"cm"``).

    ``resume`` on a finished run (the output exists, no parts folder is
    left, the output is newer than the input, and the manifest kept beside
    it says it was made with these options) does nothing and says the output
    is complete; its summary counts the statuses of the output.

    Returns
    -------
    BatchSummary

    Raises
    ------
    KeypointFormatError
        When the input as a whole is unusable, or ``resume`` finds a run with
        other settings.
    OutputBusyError
        Another run is writing ``output``.
    TypeError
        An option that is none of the above.
    """
    from dataclasses import fields

    job_names = [f.name for f in fields(JobOptions) if f.name != "depth_order"]
    unknown = sorted(set(options) - set(READ_OPTIONS) - set(OUTPUT_OPTIONS) - set(job_names))
    if unknown:
        raise TypeError(f"lift_file() got unexpected keyword argument(s) {', '.join(unknown)}")
    read = {name: options.get(name, default) for name, default in READ_OPTIONS.items()}
    out = {name: options.get(name, default) for name, default in OUTPUT_OPTIONS.items()}
    job = JobOptions(**{name: options[name] for name in job_names if name in options})
    output = normal_output(output)      # a/../../x.csv is ../x.csv: no stray a/ is made for it
    check_suffix(output)
    depth_order = out["depth_order"]
    check_not_an_input(output, [input] + ([] if depth_order is None else [depth_order]))
    with output_lock(output, log):
        return _lift_file(_Run(input, output, lifter, resume, progress, log), read, job, out)


class _Run(NamedTuple):
    """The run :func:`_lift_file` carries out: what is lifted where, by which lifter, and how it reports."""

    input: object
    output: Path
    lifter: object
    resume: bool
    progress: object
    log: object


def _lift_file(run, read, job, out) -> BatchSummary:
    """:func:`lift_file` once the output is locked (``read``, ``out``: its options as dicts; ``job`` its
    :class:`~.jobs.JobOptions`)."""
    started = time.perf_counter()
    input, lifter, resume, progress = run.input, run.lifter, run.resume, run.progress
    log = run.log or (lambda text: None)
    output = Path(run.output)
    suffix = check_suffix(output)
    if output.is_dir():
        raise KeypointFormatError(f"{output} is a folder; name an output file ending in .csv, .json or .npz")
    chunk_rows = read["chunk_rows"]
    if int(chunk_rows) < 1:
        raise ValueError(f"chunk_rows must be >= 1; got {chunk_rows}")
    format, layout = split_format(read["format"], read["layout"])
    image_size = check_image_size(read["image_size"])
    sequence, fps, write_camera, output_skeleton = job.sequence, job.fps, job.write_camera, job.output_skeleton
    depth_order, frame, bvh_rig, bvh_units = out["depth_order"], out["frame"], out["bvh_rig"], out["bvh_units"]
    if frame not in ("camera", "world"):
        raise ValueError(f"frame must be 'camera' or 'world'; got {frame!r}")
    clip_output = suffix in CLIP_SUFFIXES
    if clip_output:
        frame = "world"
        from ..io import BVH_RIGS, BVH_UNITS

        if bvh_rig not in BVH_RIGS:
            raise ValueError(f"unknown BVH rig {bvh_rig!r}; choose one of {', '.join(BVH_RIGS)}")
        if bvh_units not in BVH_UNITS:
            raise ValueError(f"unknown BVH units {bvh_units!r}; choose one of {', '.join(BVH_UNITS)}")
        if output_skeleton is not None:
            raise ValueError(f"{output}: a {suffix} file is written from the bases' own joints; drop --output-skeleton "
                             f"({output_skeleton})")
        missing = [j for j in ("pelvis", "neck", "head", "left_ankle", "right_ankle", "left_wrist", "right_wrist")
                   if j not in lifter.joint_names]
        if missing:
            raise ValueError(f"{output}: a {suffix} file needs body15's joints; the bases' skeleton "
                             f"{lifter.skeleton.name} lacks {', '.join(missing)}")
    world = frame == "world"
    # the world frame needs each frame's image position and scale (weak perspective's trajectory)
    lift_camera = write_camera or world
    joints = output_joints(lifter, output_skeleton)
    hints = None
    if depth_order is not None:
        from ..io import read_depth_order

        hints = read_depth_order(depth_order)
    depth_identity = None if depth_order is None else _resume.input_identity(depth_order)
    manifest = _resume.build_manifest(input, lifter, dict(read, format=format, layout=layout, image_size=image_size),
                                      dict(sequence=sequence, write_camera=write_camera,
                                           output_skeleton=output_skeleton, depth_order=depth_identity,
                                           fps=float(fps) if sequence else None))
    if world:
        # what the written output depends on beyond the parts (only when used: older manifests stay equal)
        manifest.update(frame=frame, output_fps=float(fps))
        if clip_output:
            manifest.update(bvh_rig=bvh_rig, bvh_units=bvh_units)
        manifest["write_camera"] = bool(lift_camera)
    summary = BatchSummary(input=str(input), output=str(output), lifter=manifest["lifter"])
    parts = output.with_name(output.name + ".parts")
    if resume and not clip_output and not parts.exists() and _resume.finished(input, output):
        _resume.check_finished(output, manifest)
        log(f"output is complete: {output} exists and is newer than {input}, and no unfinished run is left "
            f"({parts} does not exist); nothing to do. Run without --resume to lift it again")
        summary.status_counts = _resume.output_status_counts(output)
        summary.rows = sum(summary.status_counts.values())
        summary.complete = True
        summary.seconds_total = time.perf_counter() - started
        return summary
    if resume and (parts / _resume.MANIFEST).is_file():
        _resume.check_resumable(json.loads((parts / _resume.MANIFEST).read_text()), manifest, output, parts)
        log(f"resuming from {parts}")
    else:
        if resume:
            log(f"nothing to resume ({parts} does not exist); starting from the beginning")
        if parts.exists():
            if not (parts / _resume.MANIFEST).is_file():
                raise KeypointFormatError(f"{parts} exists but is not a lift2d3d parts folder; move it away")
            shutil.rmtree(parts)
        parts.mkdir(parents=True)
        (parts / _resume.MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))

    text_parts = suffix == ".csv" and not world
    seen_ids = set()
    options = JobOptions(sequence=bool(sequence), fps=float(fps), write_camera=bool(lift_camera),
                         output_skeleton=output_skeleton, depth_order=hints)
    chunks = prepared_chunks(iter_keypoint_chunks(input, format, layout, chunk_rows=int(chunk_rows),
                                                  delimiter=read["delimiter"], image_size=image_size,
                                                  joint_map=read["joint_map"]),
                             lifter, options)
    bar = None
    part_paths = []
    try:
        index = 0
        while True:
            t0 = time.perf_counter()
            try:
                chunk = next(chunks)
            except StopIteration:
                summary.seconds_read += time.perf_counter() - t0
                break
            summary.seconds_read += time.perf_counter() - t0
            table, keypoints, scores = chunk.table, chunk.keypoints, chunk.scores
            if index == 0:
                id_columns = list(table.ids.columns)
                mapping = table.mapping_to(lifter)
                summary.layout, summary.skeleton, summary.mapping = table.layout, table.skeleton.name, mapping.report()
                log(f"reading {input} as {table.layout}, format {table.skeleton.name}; "
                    f"lifting onto {lifter.skeleton.name} ({lifter!r})")
                log(mapping.report())
                bar = _progress_bar(progress, _count_rows(input, table.layout) if progress is not False else None)
                header = csv_header(output_columns(table.ids.columns, joints, write_camera=write_camera))
            summary.notes.extend(table.notes)
            part = parts / f"part-{index:06d}{'.csv' if text_parts else '.npz'}"
            counts_path = parts / f"part-{index:06d}.counts.json"
            part_paths.append(part)
            if resume and part.is_file() and counts_path.is_file():
                summary.chunks_resumed += 1
                counts = json.loads(counts_path.read_text())
            else:
                t0 = time.perf_counter()
                lifted = lift_chunk(chunk, lifter, options)
                if hints is not None:
                    seen_ids.update(table.ids[list(hints.id_columns)].astype(str).itertuples(index=False, name=None)
                                    if all(c in table.ids.columns for c in hints.id_columns) else ())
                summary.seconds_lift += time.perf_counter() - t0
                t0 = time.perf_counter()
                counts = {k: int(v) for k, v in lifted["status"].value_counts().items()}
                # counts first: a part only counts as done once both files exist
                counts_path.write_text(json.dumps(counts))
                (write_csv_part if text_parts else write_part)(lifted, part)
                summary.seconds_write += time.perf_counter() - t0
            for status, count in counts.items():
                summary.status_counts[status] = summary.status_counts.get(status, 0) + int(count)
            for joint, n in zip(lifter.joint_names, valid_keypoints(keypoints, scores).sum(axis=0)):
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
        if hints is not None and not summary.chunks_resumed and hints.unmatched(seen_ids):
            summary.notes.append(f"{hints.source}: {hints.unmatched(seen_ids)} relation(s) name rows the input does "
                                 "not have; they were not used")
        t0 = time.perf_counter()
        # the finished output's manifest goes when the output is replaced and comes back with the new one,
        # so that --resume never takes one run's output for another's
        _resume.finished_manifest_path(output).unlink(missing_ok=True)
        if text_parts:
            join_csv_parts(header, part_paths, output)
        elif world:
            _write_world(summary, part_paths, output, dict(id_columns=id_columns, joints=joints, fps=fps,
                                                           write_camera=write_camera, clip_output=clip_output,
                                                           rig=bvh_rig, units=bvh_units), lifter)
        else:
            write_lifted((read_part(p) for p in part_paths), output)
        if not summary.outputs:
            summary.outputs = [str(output)]
        _resume.write_finished_manifest(output, manifest)
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


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (0 where the platform cannot say)."""
    try:
        import resource
    except ImportError:
        return 0.0
    # ru_maxrss is KiB on Linux, bytes on macOS
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def _write_world(summary, part_paths, output, how, lifter):
    """The world-frame outputs: the whole table gathered, each person's clip placed on its floor
    (:mod:`.clips`), then one table or one BVH/TRC file per person (``how``: the id columns, joints, frame
    rate, camera columns, clip output, BVH rig and units)."""
    id_columns, joints, fps, write_camera = how["id_columns"], how["joints"], how["fps"], how["write_camera"]
    clip_output, bvh_rig, bvh_units = how["clip_output"], how["rig"], how["units"]
    import pandas as pd

    from ..io import CAMERA_COLUMNS
    from .clips import world_table, write_clips

    table = pd.concat([read_part(p) for p in part_paths], ignore_index=True)
    perspective = lifter.resolved_params()["camera"] is not None
    height = lifter.get_params().get("height")
    if clip_output:
        written, notes, metadata = write_clips(table, id_columns, joints, output, fps, perspective, height,
                                               rig=bvh_rig, units=bvh_units)
        summary.outputs = [str(p) for p in written]
        summary.notes.extend(notes)
        summary.world = metadata
        return
    table, metadata = world_table(table, id_columns, joints, fps, perspective, height)
    if not write_camera:
        table = table.drop(columns=list(CAMERA_COLUMNS))
    write_lifted(table, output, world=metadata)
    summary.world = metadata


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (0 where the platform cannot say)."""
    try:
        import resource
    except ImportError:
        return 0.0
    # ru_maxrss is KiB on Linux, bytes on macOS
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
