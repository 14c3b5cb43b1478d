"""``PoseDetector``: BlazePose (full) in ONNX Runtime, images and video.

Pipeline per frame (MediaPipe Pose, CPU graph, reimplemented around the
converted models):

1. person ROI -- the detector on a 224x224 letterbox of the whole image when
   no one is tracked; otherwise the previous frame's auxiliary landmarks
   (33: hip centre, 34: size/rotation point), one-euro filtered;
2. rotation-aware square crop of the ROI, 256x256, RGB in [0, 1];
3. landmark model -> 39 landmarks (x, y, z, visibility, presence), pose
   presence score, 64x64 heatmaps, world landmarks;
4. heatmap refinement, projection to image pixels;
5. a presence score below ``min_tracking_confidence`` ends the track (the
   detector runs again on the same frame, then on the next ones).

Results are ``PoseFrame`` objects in ``blazepose33`` order;
:func:`lift2d3d.detect.to_skeleton` maps them to ``coco17`` (or any skeleton
whose joints are BlazePose landmarks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from . import decode
from .anchors import ssd_anchor_centres
from .filters import FRAME_PERIOD_US, OneEuroFilter
from .roi import Roi, crop, pad_roi_to_aspect, project, remove_letterbox, roi_from_alignment_points

#: Images with more pixels than this are refused (decoding alone would need
#: gigabytes); scale them down first.
MAX_PIXELS = 2 ** 28


@dataclass(frozen=True)
class PoseFrame:
    """Poses found in one image or video frame.

    Attributes
    ----------
    keypoints : (n_people, 33, 2) float64, image pixels (x right, y down), blazepose33 order
    scores : (n_people, 33) float64, per-landmark visibility in [0, 1] (MediaPipe's
        probability that the landmark is visible, i.e. in frame and not occluded)
    presence : (n_people, 33) float64, probability the landmark is in the frame
    depth : (n_people, 33) float64, pixels, relative depth (MediaPipe z; smaller = nearer)
    world : (n_people, 33, 3) float64, metres, hip-centred 3D from the model's own head
    pose_score : (n_people,) float64, pose presence score of the landmark model
    rois : tuple of Roi, the crop used for each person
    status : str, "ok" or "no_person"
    message : str
    heatmaps : (n_people, 64, 64, 33) float32 sigmoid heatmaps, or None unless asked for
    image_size : (width, height)
    sources : tuple of str, per person "detector" (fresh detection) or "tracking"
        (crop from the previous frame's landmarks)
    """

    keypoints: np.ndarray
    scores: np.ndarray
    presence: np.ndarray
    depth: np.ndarray
    world: np.ndarray
    pose_score: np.ndarray
    rois: tuple
    status: str
    message: str
    image_size: tuple
    heatmaps: np.ndarray | None = None
    sources: tuple = field(default=())

    @property
    def n_people(self) -> int:
        return int(self.keypoints.shape[0])


def _empty_frame(image_size, message) -> PoseFrame:
    z = np.zeros((0, 33))
    return PoseFrame(np.zeros((0, 33, 2)), z, z.copy(), z.copy(), np.zeros((0, 33, 3)), np.zeros(0),
                     (), "no_person", message, image_size)


def as_bgr(image: np.ndarray, what: str = "image") -> np.ndarray:
    """Validate an image array and return it as contiguous uint8 BGR.

    Accepts grayscale (H, W) or (H, W, 1), BGR (H, W, 3) and BGRA (H, W, 4),
    in uint8 or uint16 (scaled to 8 bits).
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"{what}: expected an image array of shape (H, W), (H, W, 3) or (H, W, 4); "
                         f"got shape {image.shape}")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ValueError(f"{what}: {image.shape[1]}x{image.shape[0]} pixels is more than the "
                         f"{MAX_PIXELS} this detector accepts; scale it down first "
                         "(the model sees a 224x224 view of the whole image anyway).")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"{what}: expected uint8 (or uint16) pixels, got {image.dtype}")
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] != 3:
        raise ValueError(f"{what}: expected 1, 3 or 4 channels, got {image.shape[2]}")
    return np.ascontiguousarray(image)


class PoseDetector:
    """Single- or multi-person 2D pose detector (BlazePose full, ONNX).

    Parameters
    ----------
    static_image_mode : bool
        True: run the person detector on every image (unrelated photos).
        False (default): track the person through consecutive frames.
    max_people : int
        Poses per frame.  With more than one, the detector runs on every frame
        (no tracking) and each detection gets its own landmark crop.
    min_detection_confidence : float
        Person detector score threshold (MediaPipe default 0.5).
    min_tracking_confidence : float
        Pose presence score below which a pose is rejected and tracking lost.
    heatmaps : bool
        Also return the landmark model's 64x64 heatmaps.
    smooth_landmarks : bool
        Video only: one-euro filter the landmarks (min cutoff 0.05 Hz, beta 80,
        derivative cutoff 1 Hz) and low-pass the visibilities (alpha 0.1), as
        MediaPipe Pose does by default.  Off by default: raw per-frame
        landmarks, which the lifter may smooth later in 3D.
    n_threads : int, optional
        ONNX Runtime intra-op threads (default: all cores).
    models : dict, optional
        ``{"pose_detection": path, "pose_landmark_full": path}``; default: the
        verified cache, built on first use (see :mod:`lift2d3d.detect.models`).
    """

    def __init__(self, static_image_mode=False, max_people=1, min_detection_confidence=0.5,
                 min_tracking_confidence=0.5, heatmaps=False, smooth_landmarks=False, n_threads=None,
                 models=None):
        if max_people < 1:
            raise ValueError(f"max_people must be >= 1, got {max_people}")
        self.static_image_mode = bool(static_image_mode)
        self.max_people = int(max_people)
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.heatmaps = bool(heatmaps)
        self.smooth_landmarks = bool(smooth_landmarks)
        self.n_threads = n_threads
        if models is None:
            from .models import model_paths
            models = model_paths()
        self._detector = self._session(models["pose_detection"])
        self._landmarker = self._session(models["pose_landmark_full"])
        self._anchors = ssd_anchor_centres()
        self._aux_filter = OneEuroFilter(min_cutoff=0.01, beta=10.0, derivate_cutoff=1.0)
        self._landmark_filter = OneEuroFilter(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0)
        self.reset()

    def _session(self, path):
        from .models import import_onnxruntime
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        if self.n_threads:
            options.intra_op_num_threads = int(self.n_threads)
            options.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])

    def reset(self):
        """Forget the tracked person (call between unrelated videos)."""
        self._roi = None
        self._frame_index = 0
        self._lost()

    def _lost(self):
        self._aux_filter.reset()
        self._landmark_filter.reset()
        self._visibility = None

    # -- model steps -----------------------------------------------------------------

    def detect_people(self, rgb: np.ndarray):
        """Run the person detector on an RGB uint8 image.

        Returns
        -------
        boxes : (n, 4) float64, pixels (xmin, ymin, xmax, ymax)
        keypoints : (n, 4, 2) float64, pixels: hip centre, full-body size/rotation
            point, shoulder centre, upper-body point
        scores : (n,) float64
        """
        h, w = rgb.shape[:2]
        full = Roi(center=(w / 2.0, h / 2.0), width=float(w), height=float(h), rotation=0.0)
        padded, padding = pad_roi_to_aspect(full, decode.DETECTOR_INPUT, decode.DETECTOR_INPUT)
        tensor = crop(rgb, padded, decode.DETECTOR_INPUT, decode.DETECTOR_INPUT, border="zero")
        x = (tensor.astype(np.float32) / 127.5 - 1.0)[None]
        raw_boxes, raw_scores = self._detector.run(None, {self._detector.get_inputs()[0].name: x})
        boxes, kps, scores = decode.decode_detections(raw_boxes[0], raw_scores[0, :, 0], self._anchors,
                                                      min_score=self.min_detection_confidence)
        boxes, kps, scores = decode.weighted_nms(boxes, kps, scores, iou_threshold=0.3)
        size = np.array([w, h], dtype=np.float64)
        boxes = remove_letterbox(boxes.reshape(-1, 2, 2), padding).reshape(-1, 4) * np.tile(size, 2)
        kps = remove_letterbox(kps, padding) * size
        return boxes, kps, scores

    def landmarks(self, rgb: np.ndarray, roi: Roi):
        """Run the landmark model on ``roi`` of an RGB image.

        Returns a dict: ``landmarks`` (39, 5) with x, y in image pixels,
        z in pixels, visibility, presence; ``pose_score``; ``world`` (33, 3);
        ``heatmap`` (64, 64, 39) logits.
        """
        size = decode.LANDMARK_INPUT
        tensor = crop(rgb, roi, size, size, border="replicate")
        x = (tensor.astype(np.float32) / 255.0)[None]
        raw, flag, _segmentation, heatmap, world = self._landmarker.run(
            None, {self._landmarker.get_inputs()[0].name: x})
        lm = decode.decode_landmarks(raw[0], size)
        lm = decode.refine_from_heatmap(lm, heatmap[0], kernel=7, min_confidence=0.5)
        out = lm.copy()
        out[:, :2] = project(lm[:, :2], roi)
        out[:, 2] = lm[:, 2] * roi.width
        c, s = np.cos(roi.rotation), np.sin(roi.rotation)
        wl = world[0].reshape(decode.N_LANDMARKS, 3)[: decode.N_BODY].astype(np.float64)
        world_rot = np.stack([c * wl[:, 0] - s * wl[:, 1], s * wl[:, 0] + c * wl[:, 1], wl[:, 2]], axis=1)
        return {"landmarks": out, "pose_score": float(np.asarray(flag).ravel()[0]), "world": world_rot,
                "heatmap": heatmap[0]}

    # -- frames ----------------------------------------------------------------------

    def process(self, image: np.ndarray, color: str = "bgr", timestamp_us: int | None = None) -> PoseFrame:
        """Find the pose(s) in one image or the next video frame.

        Parameters
        ----------
        image : (H, W), (H, W, 3) or (H, W, 4) uint8
            Grayscale, BGR(A) as OpenCV reads it, or RGB(A) with ``color="rgb"``.
        color : {"bgr", "rgb"}
        timestamp_us : int, optional
            Frame time in microseconds for the tracking filter (must increase);
            default: (frame index + 1) * 33333, as MediaPipe's Python solution.
        """
        bgr = as_bgr(image)
        if color == "rgb":
            rgb = bgr
        elif color == "bgr":
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        else:
            raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
        if timestamp_us is None:
            # MediaPipe's Python solution stamps frame k at (k + 1) * 33333 us.
            timestamp_us = (self._frame_index + 1) * FRAME_PERIOD_US
        self._frame_index += 1
        if self.static_image_mode or self.max_people > 1:
            return self._process_detections(rgb)
        return self._process_tracked(rgb, int(timestamp_us))

    def _pose(self, rgb, roi):
        result = self.landmarks(rgb, roi)
        if not result["pose_score"] >= self.min_tracking_confidence:
            return None
        return result

    def _roi_from_detection(self, kps) -> Roi:
        return roi_from_alignment_points(kps[0], kps[1])

    def _process_detections(self, rgb) -> PoseFrame:
        h, w = rgb.shape[:2]
        _, kps, scores = self.detect_people(rgb)
        if len(scores) == 0:
            return _empty_frame((w, h), "no person detected")
        poses, rois = [], []
        for k in range(min(len(scores), self.max_people)):
            roi = self._roi_from_detection(kps[k])
            pose = self._pose(rgb, roi)
            if pose is not None:
                poses.append(pose)
                rois.append(roi)
        if not poses:
            return _empty_frame((w, h), "a person was detected but the landmark model rejected the pose "
                                        f"(presence below {self.min_tracking_confidence})")
        return self._frame(poses, rois, (w, h), ("detector",) * len(poses))

    def _process_tracked(self, rgb, timestamp_us) -> PoseFrame:
        h, w = rgb.shape[:2]
        source = "tracking"
        pose = None
        if self._roi is not None:
            roi = self._roi
            pose = self._pose(rgb, roi)
        if pose is None:
            # Lost (or never had) the person: detect on this very frame.
            self._lost()
            self._roi = None
            source = "detector"
            _, kps, scores = self.detect_people(rgb)
            if len(scores) == 0:
                return _empty_frame((w, h), "no person detected")
            roi = self._roi_from_detection(kps[0])
            pose = self._pose(rgb, roi)
            if pose is None:
                return _empty_frame((w, h), "a person was detected but the landmark model rejected the pose "
                                            f"(presence below {self.min_tracking_confidence})")
        aux = pose["landmarks"][[decode.AUX_CENTER, decode.AUX_SCALE], :2]
        # Speed is measured relative to the side of the unscaled alignment square.
        object_scale = 2.0 * float(np.hypot(*(aux[1] - aux[0])))
        if self.smooth_landmarks:
            lm = pose["landmarks"].copy()
            lm[: decode.N_BODY, :3] = self._landmark_filter(lm[: decode.N_BODY, :3], timestamp_us,
                                                            object_scale=object_scale)
            visibility = lm[: decode.N_BODY, 3].copy()
            if self._visibility is not None:
                visibility = 0.1 * visibility + 0.9 * self._visibility  # low-pass, alpha 0.1
            lm[: decode.N_BODY, 3] = visibility
            self._visibility = visibility
            pose = dict(pose, landmarks=lm)
        aux = self._aux_filter(aux, timestamp_us, object_scale=object_scale)
        self._roi = roi_from_alignment_points(aux[0], aux[1])
        return self._frame([pose], [roi], (w, h), (source,))

    def _frame(self, poses, rois, image_size, sources) -> PoseFrame:
        lms = np.stack([p["landmarks"][: decode.N_BODY] for p in poses])
        heatmaps = None
        if self.heatmaps:
            heatmaps = np.stack([1.0 / (1.0 + np.exp(-p["heatmap"][..., : decode.N_BODY])) for p in poses])
            heatmaps = heatmaps.astype(np.float32)
        return PoseFrame(keypoints=lms[..., :2], scores=lms[..., 3], presence=lms[..., 4], depth=lms[..., 2],
                         world=np.stack([p["world"] for p in poses]),
                         pose_score=np.array([p["pose_score"] for p in poses]), rois=tuple(rois),
                         status="ok", message="", image_size=image_size, heatmaps=heatmaps,
                         sources=tuple(sources))
