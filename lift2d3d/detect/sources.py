"""Frames from image files, video files and folders, with clear errors.

:func:`iter_media` yields :class:`Frame` records; a file that cannot be read
yields one record with ``image=None`` and an ``error`` saying why and what to
do, so a folder of many files never dies on one bad file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pgm", ".ppm", ".pbm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}


@dataclass
class Frame:
    """One image or video frame.

    Attributes
    ----------
    source : str, the file name (what the ``source`` column holds)
    path : Path
    index : int, 0 for an image, the frame index in a video
    image : (H, W, C) uint8 BGR(A) or (H, W) grayscale array, or None on error
    is_video : bool
    fps : float, frames per second of a video (0 for images)
    error : str, why ``image`` is None
    """

    source: str
    path: Path
    index: int
    image: np.ndarray | None
    is_video: bool = False
    fps: float = 0.0
    error: str = ""


def media_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "unknown"


def list_media(path) -> list[Path]:
    """The image/video files that ``path`` names (a file or a folder, sorted).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist, or a folder holds no image or video file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder; give an image, a video or a folder of them")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and media_kind(p) != "unknown")
        if not files:
            raise FileNotFoundError(f"{path}: the folder holds no image ({', '.join(sorted(IMAGE_SUFFIXES))}) "
                                    f"or video ({', '.join(sorted(VIDEO_SUFFIXES))}) file")
        return files
    return [path]


def read_image(path) -> np.ndarray:
    """Read an image file unchanged (grayscale, BGR or BGRA; 8 or 16 bit).

    Raises
    ------
    ValueError
        The file is not a readable image.
    """
    path = Path(path)
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ValueError(f"{path}: not a readable image (empty, truncated or an unsupported format); "
                         "re-export it as JPEG or PNG")
    return image


def iter_video(path, source=None):
    """Frames of a video file; one error record if it cannot be decoded."""
    path = Path(path)
    source = source or path.name
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            yield Frame(source, path, 0, None, True, 0.0,
                        f"{path}: cannot open the video (unsupported container or codec, or not a video); "
                        "convert it with e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`")
            return
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        index = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            yield Frame(source, path, index, image, True, fps)
            index += 1
        if index == 0:
            yield Frame(source, path, 0, None, True, fps,
                        f"{path}: the video has no decodable frame (unsupported codec or a damaged file); "
                        "convert it with e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`")
    finally:
        capture.release()


def iter_media(path):
    """Yield :class:`Frame` records for an image, a video or a folder of them."""
    for file in list_media(path):
        kind = media_kind(file)
        if kind == "video":
            yield from iter_video(file)
            continue
        if kind == "unknown":
            # A single file with an unknown suffix: try it as an image, then a video.
            try:
                yield Frame(file.name, file, 0, read_image(file))
            except ValueError:
                yield from iter_video(file)
            continue
        try:
            image = read_image(file)
        except (ValueError, OSError) as exc:
            yield Frame(file.name, file, 0, None, False, 0.0, str(exc))
            continue
        yield Frame(file.name, file, 0, image)


def is_single_video(path) -> bool:
    path = Path(path)
    return path.is_file() and media_kind(path) == "video"


__all__ = ["Frame", "iter_media", "iter_video", "list_media", "read_image", "media_kind",
           "IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "is_single_video"]
