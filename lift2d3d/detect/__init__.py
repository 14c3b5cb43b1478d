"""2D pose detection with MediaPipe's BlazePose (full) converted to ONNX.

The weights come from the ``mediapipe==0.10.14`` wheel on PyPI, converted once
per machine (``lift2d3d models build``, or automatically on first use when
onnx and flatbuffers, the ``models`` extra, are installed); at run time only
ONNX Runtime and OpenCV are needed.

>>> from lift2d3d.detect import PoseDetector, detect_keypoints   # doctest: +SKIP
>>> table, errors = detect_keypoints("clip.mp4", format="coco17") # doctest: +SKIP
>>> detector = PoseDetector(static_image_mode=True)              # doctest: +SKIP
>>> pose = detector.process(cv2.imread("photo.jpg"))             # doctest: +SKIP
>>> pose.keypoints.shape, pose.scores.shape                      # doctest: +SKIP
((1, 33, 2), (1, 33))

Modules: :mod:`.models` (build/cache/verify), :mod:`.tflite` (TFLite reader),
:mod:`.tflite_to_onnx` (converter), :mod:`.anchors`, :mod:`.roi`
(crops), :mod:`.decode` (tensor decoding), :mod:`.filters` (tracking
filter), :mod:`.pose` (the detector), :mod:`.sources` (files),
:mod:`.table` (wide CSV rows).
"""

from __future__ import annotations

from .models import ModelError, build_models, check_models, model_paths

__all__ = ["PoseDetector", "PoseFrame", "detect_keypoints", "to_skeleton", "iter_media", "ModelError",
           "build_models", "check_models", "model_paths", "FORMATS"]


def __getattr__(name):
    # Heavy pieces (onnxruntime, OpenCV, pandas) load on first use.
    if name in ("PoseDetector", "PoseFrame"):
        from . import pose
        return getattr(pose, name)
    if name in ("to_skeleton", "FORMATS"):
        from . import table
        return getattr(table, name)
    if name == "iter_media":
        from .sources import iter_media
        return iter_media
    raise AttributeError(f"module 'lift2d3d.detect' has no attribute {name!r}")


def detect_keypoints(path, format="coco17", max_people=1, detector=None, progress=None, on_frame=None):
    """Detect keypoints in an image, a video or a folder of them.

    Parameters
    ----------
    path : str or Path
        Image, video, or folder (files sorted by name; each video is tracked
        from its first frame, each image is processed on its own).
    format : {"coco17", "blazepose33"} or any skeleton the landmarks map to
    max_people : int
        Poses per frame (more than one disables tracking).
    detector : PoseDetector, optional
        Reuse a detector (its thresholds and thread count).
    progress : callable(frame), optional
        Called after each frame (e.g. a tqdm update).
    on_frame : callable(frame, pose_frame), optional
        Called with each :class:`~.sources.Frame` and its result (None for an
        unreadable file), e.g. to draw overlays.

    Returns
    -------
    table : pandas.DataFrame
        Wide table (see :mod:`.table`): ``source``, ``frame``, [``person``],
        ``detect_status``, ``<joint>_x``, ``<joint>_y``, ``<joint>_score``.
    errors : list of str
        One message per file that could not be read (its row says ``unreadable``).
    """
    from .pose import PoseDetector
    from .sources import iter_media
    from .table import rows_for_frame, rows_to_table

    if detector is None:
        detector = PoseDetector(max_people=max_people)
    rows, errors = [], []
    current = None
    for frame in iter_media(path):
        if frame.image is None:
            errors.append(frame.error)
            rows.extend(rows_for_frame(frame.source, frame.index, None, format, status="unreadable"))
            if on_frame:
                on_frame(frame, None)
            continue
        # Track within one video; every image and every new video starts afresh.
        key = (str(frame.path), frame.is_video)
        if key != current or not frame.is_video:
            detector.reset()
            current = key
        saved = detector.static_image_mode
        detector.static_image_mode = saved or not frame.is_video
        try:
            result = detector.process(frame.image)
        except ValueError as exc:
            errors.append(f"{frame.path}: {exc}")
            rows.extend(rows_for_frame(frame.source, frame.index, None, format, status="unreadable"))
            result = None
        else:
            rows.extend(rows_for_frame(frame.source, frame.index, result, format))
        finally:
            detector.static_image_mode = saved
        if on_frame:
            on_frame(frame, result)
        if progress:
            progress(frame)
    return rows_to_table(rows, format), errors
