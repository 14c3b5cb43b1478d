"""One record per keypoint file layout: its name, aliases, how it is recognised, its reader, its options.

Everything that lists layouts reads :data:`LAYOUT_RECORDS`: the names and
aliases ``split_format`` accepts, the order in which ``detect_layout`` tries
to recognise a file (``detect_rank``), the dispatch of ``iter_keypoint_chunks``, which layouts
take a joint map (``--map``), and the ``lift`` command's ``--layout`` help and
epilog.  A new format is one :class:`Layout` here and its reader module
(CONTRIBUTING.md, "Adding a keypoint format").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .arrays import iter_numpy
from .coco import iter_coco_json
from .csv_long import iter_long_csv
from .csv_wide import iter_wide_csv, sniff_csv
from .deeplabcut import is_hdf5, iter_deeplabcut_csv, iter_deeplabcut_h5, looks_like_deeplabcut
from .jsonfile import load_json
from .mediapipe import iter_mediapipe_csv, looks_like_mediapipe
from .mmpose import iter_mmpose, mmpose_kind
from .openpose import iter_openpose
from .table import KeypointFormatError
from .trc import iter_trc, looks_like_trc

__all__ = ["Layout", "Probe", "LAYOUT_RECORDS", "LAYOUTS", "LAYOUT_ALIASES", "layout_record", "layouts_help",
           "detect"]

#: Bytes of a file looked at to recognise its structure (an MMPose instance of 133 keypoints is
#: about 6 kB).
SNIFF_BYTES = 1 << 16


class Probe:
    """What detection looks at, read once and only when a test asks: the path, its first bytes, its first
    two text lines, its CSV header."""

    def __init__(self, path, delimiter=None):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        self.delimiter = delimiter
        self._head = self._lines = self._header = None

    @property
    def head(self) -> bytes:
        if self._head is None:
            with open(self.path, "rb") as handle:
                self._head = handle.read(SNIFF_BYTES).lstrip()
        return self._head

    @property
    def lines(self) -> tuple:
        if self._lines is None:
            try:
                with open(self.path, "r", encoding="utf-8-sig", errors="replace") as handle:
                    self._lines = (handle.readline(), handle.readline())
            except OSError as exc:
                raise KeypointFormatError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        return self._lines

    @property
    def header(self) -> list:
        if self._header is None:
            self._header = sniff_csv(self.path, self.delimiter)[1]
        return self._header


def _folder_kind(probe: Probe):
    """``openpose-json`` or ``mmpose-json`` for a folder of JSON files (None for other folders)."""
    files = sorted(p for p in probe.path.iterdir() if p.suffix.lower() == ".json")
    if not files:
        raise KeypointFormatError(f"{probe.path}: the folder holds no .json files; expected OpenPose output "
                                  "(<video>_000000000000_keypoints.json per frame) or MMPose predictions "
                                  "(one <image>.json per image)")
    for file in files[:20]:
        with open(file, "rb") as handle:
            if b'"people"' in handle.read(SNIFF_BYTES):
                return "openpose-json"
        try:
            document = load_json(file)
        except KeypointFormatError:
            continue
        if mmpose_kind(document) is not None:
            return "mmpose-json"
    return "openpose-json"  # the OpenPose reader names each unreadable file


def _json_kind(probe: Probe):
    if probe.suffix != ".json":
        return None
    head = probe.head
    if not head:
        raise KeypointFormatError(f"{probe.path}: the file is empty")
    if head.startswith(b"["):
        if (b'"instances"' in head and b'"frame_id"' in head) or b'"keypoint_scores"' in head:
            return "mmpose-json"
        return "coco-json"
    return "openpose-json" if b'"people"' in head else "coco-json"


@dataclass(frozen=True)
class Layout:
    """A keypoint file layout.

    Attributes
    ----------
    name : str
        What ``--layout``/``layout=`` and ``KeypointTable.layout`` say.
    aliases : tuple of str
        Other names accepted for it.
    help : str
        One line (or two) for the ``lift`` command's epilog.
    reader : callable(path, format=None, chunk_rows=..., **options) -> iterator of KeypointTable
    options : tuple of str
        The reader options it takes besides ``format`` and ``chunk_rows``
        (``delimiter``, ``joint_map``, ``image_size``).
    detect : callable(Probe) -> bool
        Recognises the layout from the content (and the suffix).
    detect_rank : int
        When ``detect`` is asked, lowest first (the catch-all ``csv-wide`` last).
    """

    name: str
    aliases: tuple
    help: str
    reader: Callable = field(compare=False)
    options: tuple = ()
    detect: Callable = field(default=None, compare=False)
    detect_rank: int = 50

    @property
    def takes_joint_map(self) -> bool:
        """Its body parts are named by the user (DeepLabCut, TRC): ``--map`` applies."""
        return "joint_map" in self.options


def _folder_or_json(probe: Probe):
    return _folder_kind(probe) if probe.path.is_dir() else _json_kind(probe)


#: Every layout, in the order the README and the CLI list them.
LAYOUT_RECORDS = (
    Layout("csv-wide", ("wide", "csv"), "id columns + <joint>_x, <joint>_y[, <joint>_score]", iter_wide_csv,
           ("delimiter",), detect=lambda p: True, detect_rank=99),
    Layout("csv-long", ("long",), "frame,joint,x,y[,score]", iter_long_csv, ("delimiter",),
           detect=lambda p: "joint" in [h.lower() for h in p.header], detect_rank=80),
    Layout("openpose-json", ("openpose-dir", "openpose"), "a folder of OpenPose *_keypoints.json files (BODY_25)",
           iter_openpose, detect=lambda p: _folder_or_json(p) == "openpose-json", detect_rank=10),
    Layout("coco-json", ("coco-results", "alphapose", "coco"),
           "COCO keypoint results/annotations (MMPose/Detectron2 results, AlphaPose)", iter_coco_json,
           detect=lambda p: _json_kind(p) == "coco-json", detect_rank=40),
    Layout("mmpose-json", ("mmpose-predictions", "mmpose"),
           "MMPoseInferencer predictions: a video's file or a folder of per-image files", iter_mmpose,
           detect=lambda p: _folder_or_json(p) == "mmpose-json", detect_rank=11),
    Layout("mediapipe-csv", ("mediapipe",),
           "MediaPipe landmarks (nose_x,...,nose_visibility or x0,y0,z0,v0,...); normalised, so they need "
           "--image-size W H", iter_mediapipe_csv, ("delimiter",), detect=lambda p: looks_like_mediapipe(p.header),
           detect_rank=81),
    Layout("deeplabcut-csv", ("deeplabcut", "dlc", "dlc-csv"),
           "DeepLabCut CSV (scorer/[individuals]/bodyparts/coords header rows); parts matched by name, --map "
           "FILE for others", iter_deeplabcut_csv, ("joint_map",), detect=lambda p: looks_like_deeplabcut(*p.lines),
           detect_rank=70),
    Layout("deeplabcut-h5", ("dlc-h5", "h5", "hdf5"),
           "DeepLabCut .h5 (read with h5py in a child process, nothing unpickled: pip install 'lift2d3d[h5]'); "
           "parts as for the CSV", iter_deeplabcut_h5, ("joint_map",),
           detect=lambda p: p.suffix in (".h5", ".hdf5", ".hdf") or is_hdf5(p.path), detect_rank=30),
    Layout("trc", (), "pixel TRC of Sports2D (*_px.trc; Z = 0); 3D TRC files are refused", iter_trc,
           ("joint_map", "image_size"), detect=lambda p: p.suffix == ".trc" or looks_like_trc(p.lines[0]),
           detect_rank=60),
    Layout("numpy", ("npy", "npz"), ".npy (N, P, 2|3) or .npz with keypoints[, scores, joint_names, ids]",
           iter_numpy, detect=lambda p: p.suffix in (".npy", ".npz"), detect_rank=20),
)

#: The layouts' names.
LAYOUTS = tuple(r.name for r in LAYOUT_RECORDS)
#: alias (and name) -> name
LAYOUT_ALIASES = {alias: r.name for r in LAYOUT_RECORDS for alias in (r.name,) + r.aliases}
_BY_NAME = {r.name: r for r in LAYOUT_RECORDS}
_DETECTION = tuple(sorted(LAYOUT_RECORDS, key=lambda r: r.detect_rank))


def layout_record(name: str) -> Layout:
    """The record of a layout name or alias (KeypointFormatError listing the layouts otherwise)."""
    key = str(name).strip().lower()
    if key not in LAYOUT_ALIASES:
        raise KeypointFormatError(f"unknown layout {name!r}; layouts: {', '.join(LAYOUTS)}")
    return _BY_NAME[LAYOUT_ALIASES[key]]


def detect(path, delimiter=None) -> str:
    """The layout of ``path``: the first record, in :data:`LAYOUT_RECORDS` order, that recognises it."""
    probe = Probe(path, delimiter)
    if not probe.path.exists():
        raise KeypointFormatError(f"{probe.path}: no such file or folder")
    for record in _DETECTION:
        if record.detect is not None and record.detect(probe):
            return record.name
    return "csv-wide"


def layouts_help(width: int = 16) -> str:
    """The ``inputs`` part of the ``lift`` command's epilog: one entry per layout."""
    import textwrap

    lines = []
    for name in LAYOUTS:
        wrapped = textwrap.wrap(_BY_NAME[name].help, 100 - 2 - width)
        lines.append(f"  {name:<{width - 1}} {wrapped[0]}")
        lines.extend(" " * (width + 2) + more for more in wrapped[1:])
    return "\n".join(lines)
