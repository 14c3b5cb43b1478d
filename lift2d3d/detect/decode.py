"""Decoding of the BlazePose model outputs into boxes, keypoints and landmarks.

Plain functions over arrays, one per step of MediaPipe's post-processing:

* :func:`decode_detections` -- SSD regression + sigmoid scores
  (``TensorsToDetectionsCalculator``, reverse output order, scale 224);
* :func:`weighted_nms` -- weighted non-maximum suppression, IoU 0.3
  (``NonMaxSuppressionCalculator``, algorithm WEIGHTED);
* :func:`decode_landmarks` -- 39 landmarks x (x, y, z, visibility, presence)
  normalised to the crop (``TensorsToLandmarksCalculator``, sigmoid on the
  last two);
* :func:`refine_from_heatmap` -- sub-pixel refinement from the 64x64 heatmaps
  (``RefineLandmarksFromHeatmapCalculator``, 7x7 kernel, confidence 0.5).
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 39          # 33 body landmarks + 2 auxiliary (ROI) + 4 unused
N_BODY = 33
AUX_CENTER, AUX_SCALE = 33, 34
LANDMARK_INPUT = 256
DETECTOR_INPUT = 224
SCORE_CLIP = 100.0


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      min_score: float = 0.5, scale: float = DETECTOR_INPUT):
    """Turn the detector's raw tensors into candidate detections.

    Parameters
    ----------
    raw_boxes : (n_anchors, 12) float
        Per anchor: box centre x, y, width, height, then 4 keypoints (x, y),
        all as offsets in input pixels.
    raw_scores : (n_anchors,) float, logits
    anchors : (n_anchors, 2) float, anchor centres in [0, 1]
    min_score : float
        Sigmoid score below which a candidate is dropped.

    Returns
    -------
    boxes : (n, 4) float64, (xmin, ymin, xmax, ymax) in [0, 1] of the input
    keypoints : (n, 4, 2) float64, in [0, 1] of the input
    scores : (n,) float64
    """
    scores = sigmoid(np.clip(raw_scores.astype(np.float64), -SCORE_CLIP, SCORE_CLIP))
    keep = scores >= min_score
    raw = raw_boxes[keep].astype(np.float64) / scale
    anchors = anchors[keep]
    cx = raw[:, 0] + anchors[:, 0]
    cy = raw[:, 1] + anchors[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keypoints = raw[:, 4:12].reshape(-1, 4, 2) + anchors[:, None, :]
    return boxes, keypoints, scores[keep]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = 0.3):
    """Weighted non-maximum suppression (BlazeFace/BlazePose style).

    Every cluster of candidates overlapping the best remaining one by more
    than ``iou_threshold`` is replaced by their score-weighted mean box and
    keypoints, keeping the best score.  Averaging rather than picking one
    candidate is what makes the detector's keypoints stable.

    Returns boxes, keypoints, scores of the merged detections, best first.
    """
    order = np.argsort(-scores, kind="stable")
    remaining = order
    out_boxes, out_kps, out_scores = [], [], []
    while remaining.size:
        best = remaining[0]
        overlap = _iou(boxes[best], boxes[remaining])
        cluster = remaining[overlap > iou_threshold]
        remaining = remaining[overlap <= iou_threshold]
        w = scores[cluster]
        out_boxes.append((boxes[cluster] * w[:, None]).sum(0) / w.sum())
        out_kps.append((keypoints[cluster] * w[:, None, None]).sum(0) / w.sum())
        out_scores.append(scores[best])
        if cluster.size == 0:  # defensive: NaN boxes never overlap themselves
            remaining = remaining[1:]
    if not out_scores:
        return np.zeros((0, 4)), np.zeros((0, 4, 2)), np.zeros(0)
    return np.array(out_boxes), np.array(out_kps), np.array(out_scores)


def decode_landmarks(raw: np.ndarray, size: int = LANDMARK_INPUT) -> np.ndarray:
    """(195,) raw landmark tensor -> (39, 5) x, y, z (crop fraction), visibility, presence."""
    lm = raw.reshape(N_LANDMARKS, 5).astype(np.float64)
    out = np.empty_like(lm)
    out[:, :3] = lm[:, :3] / size
    out[:, 3:] = sigmoid(lm[:, 3:])
    return out


def refine_from_heatmap(landmarks: np.ndarray, heatmap: np.ndarray, kernel: int = 7,
                        min_confidence: float = 0.5) -> np.ndarray:
    """Refine landmark x, y with the weighted mean of the heatmap around them.

    Parameters
    ----------
    landmarks : (n, >=2) float, x, y as crop fractions (modified copy returned)
    heatmap : (H, W, n_channels) float, logits; channel i belongs to landmark i
    kernel : int, odd window side in heatmap cells
    min_confidence : float, refine only where the window's peak sigmoid reaches it

    Notes
    -----
    Reproduces MediaPipe's calculator including its quirks: the window centre
    is truncated toward zero, the row bound is checked against the width, and
    the mean cell index is divided by the size without a half-cell offset.
    """
    out = np.array(landmarks, dtype=np.float64, copy=True)
    hm_h, hm_w, n_channels = heatmap.shape
    half = (kernel - 1) // 2
    for i in range(min(len(out), n_channels)):
        if not (np.isfinite(out[i, 0]) and np.isfinite(out[i, 1])):
            continue
        col = int(out[i, 0] * hm_w)
        row = int(out[i, 1] * hm_h)
        if col < 0 or col >= hm_w or row < 0 or col >= hm_h:
            continue
        r0, r1 = max(0, row - half), min(hm_h, row + half + 1)
        c0, c1 = max(0, col - half), min(hm_w, col + half + 1)
        conf = sigmoid(heatmap[r0:r1, c0:c1, i].astype(np.float64))
        total = conf.sum()
        if conf.size and conf.max() >= min_confidence and total > 0:
            rows, cols = np.mgrid[r0:r1, c0:c1]
            out[i, 0] = (cols * conf).sum() / hm_w / total
            out[i, 1] = (rows * conf).sum() / hm_h / total
    return out
