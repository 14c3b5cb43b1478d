"""Recognise a keypoint file's layout and read it, whole or in chunks.

Layouts: ``csv-wide`` (id columns + ``<joint>_x/_y[/_score]``), ``csv-long``
(``frame,joint,x,y[,score]``), ``openpose-json`` (a folder of OpenPose files),
``coco-json`` (COCO keypoint results/annotations, AlphaPose), ``mmpose-json``
(MMPose inferencer predictions, a video's file or a folder of images'),
``mediapipe-csv`` (MediaPipe landmark tables), ``deeplabcut-csv`` and
``deeplabcut-h5`` (DeepLabCut pose tables), ``trc`` (pixel TRC files of
Sports2D), ``numpy`` (.npy/.npz).  The layout is sniffed from the content
(JSON structure, the CSV header rows, the TRC header line, the HDF5
signature) and the path; the skeleton (``coco17``, ``h36m17`` ...) from the
joint names or counts.

Every table read is checked for normalised coordinates (:mod:`lift2d3d.pixels`):
without ``image_size`` a table of coordinates within [0, 1] is an error
saying what to pass, never a silent lift; with it they become pixels.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..pixels import IMAGE_SIZE_HINT, check_image_size, looks_normalised, to_pixels
from ..skeletons import SKELETON_ALIASES, SKELETONS
from .arrays import table_from_array
from .csv_wide import classify_columns, iter_wide_csv, table_from_wide
from .layouts import LAYOUT_ALIASES, LAYOUTS, detect, layout_record
from .table import IdHashSet, KeypointFormatError, KeypointTable, flag_duplicates

__all__ = ["LAYOUTS", "detect_layout", "iter_keypoint_chunks", "iter_csv_block", "read_keypoints", "table_from_frame",
           "split_format", "prepare_chunk"]

def split_format(format=None, layout=None):
    """Sort a user's ``format`` into ``(skeleton name or None, layout or None)``.

    ``format`` may name a skeleton (``coco17``, ``h36m``) or a file layout
    (``csv-long``), so that ``--format`` covers both.
    """
    if format is not None:
        name = str(format).strip().lower()
        if name in LAYOUT_ALIASES:
            if layout is not None:
                raise KeypointFormatError(f"format {format!r} is a layout, and layout={layout!r} was also given")
            return None, LAYOUT_ALIASES[name]
        if name not in SKELETONS and name not in SKELETON_ALIASES:
            raise KeypointFormatError(f"unknown format {format!r}; keypoint formats: {', '.join(SKELETONS)}; "
                                      f"file layouts: {', '.join(LAYOUTS)}")
        format = SKELETON_ALIASES.get(name, name)
    if layout is not None:
        layout = layout_record(layout).name
    return format, layout


def detect_layout(path, delimiter=None) -> str:
    """The layout of ``path``, recognised from its content and suffix (:mod:`.layouts`, in ``detect_rank`` order)."""
    return detect(path, delimiter)


def prepare_chunk(table: KeypointTable, image_size=None, state=None) -> KeypointTable:
    """Apply the pixels rule (:mod:`lift2d3d.pixels`) to one table read, in place.

    Normalised coordinates (most poses within [0, 1] of the image) become
    pixels with ``image_size``; without it they are an error.  ``state``
    (a dict shared by the chunks of one input) keeps the notes to once per input.

    Raises
    ------
    KeypointFormatError
        Normalised coordinates and no ``image_size``.
    """
    state = {} if state is None else state
    good = table.good
    if looks_normalised(table.keypoints[good], table.scores[good]):
        if image_size is None:
            raise KeypointFormatError(
                f"{table.source}: the keypoints look normalised to the image (x and y within 0-1, as MediaPipe "
                f"writes landmarks), not pixels; lifting them as pixels would give a wrong 3D pose. Pass "
                f"{IMAGE_SIZE_HINT} to convert them to pixels")
        width, height = image_size
        table.keypoints = to_pixels(table.keypoints, image_size)
        if not state.get("converted"):
            table.notes.append(f"{table.source}: normalised coordinates converted to pixels with the image size "
                               f"{width:g} x {height:g}")
            state["converted"] = True
    elif image_size is not None and not state.get("pixels_noted") and table.layout != "trc" and good.any():
        table.notes.append(f"{table.source}: the coordinates are pixels already; the image size is not used to "
                           "scale them")
        state["pixels_noted"] = True
    return table


def iter_keypoint_chunks(path, format=None, layout=None, chunk_rows=10_000, delimiter=None,
                         check_duplicates=True, image_size=None, joint_map=None):
    """Yield :class:`KeypointTable` chunks of about ``chunk_rows`` poses, in file order.

    Memory stays flat in the file size for CSV, TRC and ``.npy`` (JSON, HDF5
    and ``.npz`` files are parsed whole).  Duplicate ids are flagged across chunks.

    Parameters
    ----------
    image_size : (width, height), optional
        Pixels per unit of normalised coordinates (see :func:`prepare_chunk`);
        a TRC file with Y pointing up also uses the height.
    joint_map : dict or path, optional
        Body-part/marker name -> joint for DeepLabCut and TRC files
        (:func:`lift2d3d.io.names.load_joint_map`).

    Raises
    ------
    KeypointFormatError
        When the input as a whole cannot be read.
    """
    format, layout = split_format(format, layout)
    image_size = check_image_size(image_size)
    layout = layout or detect_layout(path, delimiter)
    record = layout_record(layout)
    if joint_map is not None and not record.takes_joint_map:
        takes = ", ".join(r for r in LAYOUTS if layout_record(r).takes_joint_map)
        raise KeypointFormatError(f"{path}: a joint map (--map) applies to DeepLabCut and TRC files, whose parts are "
                                  f"named by the user ({takes}); this input is {layout}")
    given = {"delimiter": delimiter, "joint_map": joint_map, "image_size": image_size}
    chunks = record.reader(path, format=format, chunk_rows=chunk_rows,
                           **{name: given[name] for name in record.options})
    seen = IdHashSet() if check_duplicates else None
    state = {}
    for table in chunks:
        prepare_chunk(table, image_size, state)
        if seen is not None:
            seen.add(flag_duplicates(table.ids, table.problems, table.where, seen))
        yield table


def iter_csv_block(path, byte_start: int, byte_stop: int, first_row: int, label=None, format=None, delimiter=None,
                   chunk_rows=10_000, image_size=None):
    """Yield the :class:`KeypointTable` chunks of one byte block of a wide CSV file.

    The block is parsed exactly as :func:`iter_keypoint_chunks` parses the
    whole file (same pandas options, the pixels rule, per-row problems naming
    the file's own line numbers), so that a block starting at a chunk
    boundary gives the chunks a whole-file read gives for its rows.  Duplicate
    ids are *not* flagged: a block cannot know the ids of earlier blocks
    (flag them with :func:`~lift2d3d.io.flag_duplicates`).

    Parameters
    ----------
    path : path
        A wide CSV file (``csv-wide``).
    byte_start, byte_stop : int
        The block: whole data lines after the header.
    first_row : int
        0-based data row of the block's first line (the header is not a row).
    label : str, optional
        Names the block in pandas' notes on skipped lines (default: the path
        and the rows).
    format, delimiter, chunk_rows, image_size
        As for :func:`iter_keypoint_chunks`.
    """
    image_size = check_image_size(image_size)
    format, _ = split_format(format)
    label = label or f"{path} from data row {first_row}"
    state = {}
    for table in iter_wide_csv(path, format, delimiter, chunk_rows, block=(byte_start, byte_stop, first_row, label)):
        yield prepare_chunk(table, image_size, state)


def table_from_frame(df: pd.DataFrame, format=None, image_size=None, source="<DataFrame>") -> KeypointTable:
    """A wide DataFrame (id columns and ``<joint>_x``, ``<joint>_y`` [, ``<joint>_score``]) as a table.

    The columns are classified, the values checked (bad cells become the
    rows' problems), repeated ids flagged and the pixels rule applied, as for
    a wide CSV file.  ``format`` names the skeleton (detected when omitted),
    ``source`` names the table in messages.
    """
    skeleton, _ = split_format(format)
    classified = classify_columns(list(df.columns), format=skeleton, source=source)
    table = table_from_wide(df, classified=classified, source=source, layout="memory")
    flag_duplicates(table.ids, table.problems, table.where)
    return prepare_chunk(table, check_image_size(image_size))


def _concat(tables, source) -> KeypointTable:
    if not tables:
        raise KeypointFormatError(f"{source}: holds no keypoint rows")
    first = tables[0]
    lines = (None if any(t.line_numbers is None for t in tables)
             else np.concatenate([t.line_numbers for t in tables]))
    return KeypointTable(np.concatenate([t.keypoints for t in tables]),
                         np.concatenate([t.scores for t in tables]),
                         pd.concat([t.ids for t in tables], ignore_index=True), first.skeleton,
                         np.concatenate([t.problems for t in tables]), first.source, first.layout,
                         [n for t in tables for n in t.notes], lines, first.line_label,
                         np.concatenate([t.no_person for t in tables]))


def read_keypoints(source, format=None, layout=None, delimiter=None, numeric_ids=True, image_size=None,
                   joint_map=None, scores=None, ids=None) -> KeypointTable:
    """Read keypoints (a file, an array or a DataFrame) into a :class:`KeypointTable`.

    Parameters
    ----------
    source : str, Path, numpy.ndarray or pandas.DataFrame
        A file or folder in any layout of :data:`LAYOUTS` (a wide or long
        CSV, COCO/AlphaPose JSON, an OpenPose folder, MMPose predictions, a
        MediaPipe landmark CSV, a DeepLabCut CSV/H5, a pixel TRC, a
        ``.npy``/``.npz`` array); or an array ``(n_frames, n_joints, 2)``
        (pixels) or ``(n_frames, n_joints, 3)`` (x, y, score) in the joint
        order that ``format`` names; or a wide DataFrame (id columns and
        ``<joint>_x``, ``<joint>_y`` [, ``<joint>_score``]).
    format : str, optional
        Keypoint format (``coco17``, ``h36m17``, ``mpii16``, ``openpose25``,
        ``blazepose33``, ``body15``; detected from names or counts when
        omitted; an array of 17 joints needs it, COCO and Human3.6M both have
        17), or a file layout (``csv-wide``, ``csv-long``, ``openpose-json``,
        ``coco-json``, ``numpy``, ``mmpose-json``, ``mediapipe-csv``,
        ``deeplabcut-csv``, ``deeplabcut-h5``, ``trc``).
    layout : str, optional
        File layout, when ``format`` names the skeleton.
    delimiter : str, optional
        CSV delimiter (detected from the header when omitted).
    numeric_ids : bool
        Turn id columns that hold only numbers into numbers (CSV readers keep
        ids as text so the batch writer can copy them verbatim).
    image_size : (width, height), optional
        Pixels of the image, to convert normalised coordinates (MediaPipe's
        0-1 landmarks) to pixels.  Normalised coordinates without it are an
        error, never a silent lift (:mod:`lift2d3d.pixels`).
    joint_map : dict or path of a JSON file, optional
        Body-part/marker name -> joint (or None to ignore it), for DeepLabCut
        and TRC files whose parts are named by the user.
    scores : (n_frames, n_joints) array, optional
        Confidences of an array ``source`` (default: its third channel, or 1).
    ids : DataFrame or dict of 1-D arrays, optional
        Id columns of an array ``source`` (default ``frame`` = 0, 1, ...).

    Returns
    -------
    KeypointTable
        ``table.keypoints`` (N, P, 2) pixels, ``table.scores`` (N, P),
        ``table.ids`` (DataFrame), ``table.skeleton``; rows that could not be
        read have a reason in ``table.problems`` (a warning says how many),
        frames without a person are flagged in ``table.no_person``.
        ``table.for_lifter(lifter)`` maps onto the lifter's skeleton.

    Raises
    ------
    KeypointFormatError
        When the input as a whole cannot be read (the message says why and what to do).

    Examples
    --------
    >>> from lift2d3d import Lifter
    >>> from lift2d3d.io import read_keypoints
    >>> table = read_keypoints("examples/sample_coco17.csv")       # doctest: +SKIP
    >>> table = read_keypoints(keypoints_h36m, format="h36m17")    # doctest: +SKIP
    >>> lifter = Lifter()                                            # doctest: +SKIP
    >>> result = lifter.lift(*table.for_lifter(lifter))              # doctest: +SKIP
    """
    image_size = check_image_size(image_size)
    if isinstance(source, (np.ndarray, list, tuple)) or hasattr(source, "__array_interface__"):
        skeleton, _ = split_format(format)
        table = prepare_chunk(table_from_array(source, scores=scores, format=skeleton, ids=ids), image_size)
        name = "<array>"
    elif isinstance(source, pd.DataFrame):
        table = table_from_frame(source, format=format, image_size=image_size)
        name = "<DataFrame>"
    else:
        if scores is not None or ids is not None:
            raise TypeError("scores= and ids= are for array input; a file holds its own")
        name = str(source)
        table = _concat(list(iter_keypoint_chunks(source, format, layout, chunk_rows=100_000, delimiter=delimiter,
                                                  image_size=image_size, joint_map=joint_map)), name)
    if numeric_ids:
        for column in table.ids.columns:
            if not pd.api.types.is_numeric_dtype(table.ids[column]):
                try:
                    table.ids[column] = pd.to_numeric(table.ids[column])
                except (ValueError, TypeError):
                    pass
    summary = table.problem_summary()
    if summary:
        warnings.warn(f"{name}: {summary}", stacklevel=2)
    return table
