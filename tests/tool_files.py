"""Keypoint files written exactly as each tool writes them, from one set of 2D keypoints.

The 2D keypoints are projections of the toy bases' poses (``test_io_support``):
the limb joints, pelvis and neck of ``body15``, face points a few pixels from
the head, and nothing else.  Each ``write_*`` function puts them into one
tool's file layout, following that tool's own writer:

* OpenPose: ``<video>_<12-digit frame>_keypoints.json`` with ``people`` /
  ``pose_keypoints_2d`` (BODY_25, ``0, 0, 0`` for a missing joint);
* COCO results (MMPose/Detectron2/AlphaPose): ``[{image_id, category_id,
  keypoints: [x, y, v] * 17, score}]``;
* MMPose inferencer: ``mmengine.dump(predictions, indent='  ')`` of
  ``split_instances`` (``keypoints`` [[x, y]], ``keypoint_scores``, ``bbox``
  [[x1, y1, x2, y2]], ``bbox_score``), a video as ``[{frame_id, instances}]``,
  images as one ``<image>.json`` each;
* MediaPipe landmark tables (named and numbered columns, normalised x, y,
  relative z, visibility);
* DeepLabCut: ``DataFrame.to_csv`` / ``to_hdf("df_with_missing", format="table")``
  of the ``scorer/[individuals]/bodyparts/coords`` MultiIndex table;
* Sports2D pixel TRC: ``make_trc_with_trc_data``'s five header lines, then
  ``to_csv(sep="\\t", index=True, header=None)`` of ``time, X1, Y1, Z1, ...``.

Every writer returns a :class:`Written`: the path, the ``read_keypoints``
options it needs, the ids a reader must return (with their types), and the
keypoints and scores the file encodes in the reader's skeleton -- what a
plain wide CSV of the same keypoints holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lift2d3d.skeletons import BODY15, get_skeleton
from test_io_support import body15_poses

N_FRAMES = 6
IMAGE_SIZE = (640.0, 480.0)
_FACE = {"nose": (0, 8), "left_eye": (6, 2), "right_eye": (-6, 2), "left_ear": (12, 0), "right_ear": (-12, 0)}
_ALSO = {"mid_hip": "pelvis", "neck": "neck"}


@dataclass
class Written:
    path: Path
    options: dict
    ids: pd.DataFrame
    skeleton: str
    keypoints: np.ndarray  # (n_rows, n_joints, 2) pixels, NaN = missing
    scores: np.ndarray     # (n_rows, n_joints), 0 = missing
    layout: str = ""
    notes: list = field(default_factory=list)

    def plain_frame(self) -> pd.DataFrame:
        """The same keypoints as a plain wide table (ids, then <joint>_x/_y/_score)."""
        skeleton = get_skeleton(self.skeleton)
        columns = {c: self.ids[c].to_numpy() for c in self.ids.columns}
        for j, joint in enumerate(skeleton.joints):
            columns[f"{joint}_x"] = self.keypoints[:, j, 0]
            columns[f"{joint}_y"] = self.keypoints[:, j, 1]
            columns[f"{joint}_score"] = self.scores[:, j]
        return pd.DataFrame(columns)


def pixels(n=N_FRAMES, seed=3):
    """(n, 15, 2) body15 keypoints in pixels, inside a 640 x 480 image."""
    poses = body15_poses(n, seed=seed)
    return 240.0 * poses[..., :2] + np.array([320.0, 250.0])


def keypoints_in(skeleton, n=N_FRAMES, seed=3, face=True):
    """(keypoints (n, P, 2), scores (n, P)) of the test poses in ``skeleton``'s joint order.

    Limb joints, pelvis/mid-hip and neck from body15, the face a few pixels
    from the head (when ``face``); every other joint missing, and a few
    occluded.  Scores vary by joint and frame (0.55-0.95), as a detector's do.
    """
    skeleton = get_skeleton(skeleton)
    body = pixels(n, seed)
    keypoints = np.full((n, skeleton.n_joints, 2), np.nan)
    for j, joint in enumerate(skeleton.joints):
        source = _ALSO.get(joint, joint)
        if source in BODY15.joints and joint != "head":
            keypoints[:, j] = body[:, BODY15.index(source)]
        elif face and joint in _FACE:
            keypoints[:, j] = body[:, BODY15.index("head")] + np.array(_FACE[joint])
    # occlusions: the right ear is never seen (a profile), a wrist and an ankle now and then
    for joint, frames in (("right_ear", slice(None)), ("left_wrist", slice(1, 2)), ("right_ankle", slice(4, 5))):
        if joint in skeleton._index:
            keypoints[frames, skeleton.index(joint)] = np.nan
    rng = np.random.default_rng(seed + 100)
    scores = np.where(np.isfinite(keypoints[..., 0]), rng.uniform(0.55, 0.95, size=keypoints.shape[:2]), 0.0)
    return keypoints, scores.round(4)


def _ids(**columns):
    return pd.DataFrame(columns)


# ---------------------------------------------------------------------------------------- our own layouts

def write_wide_csv(tmp_path):
    kp, sc = keypoints_in("coco17")
    ids = _ids(video=np.array(["clip_a"] * N_FRAMES, dtype=object), frame=np.arange(N_FRAMES),
               person=np.zeros(N_FRAMES, dtype=np.int64))
    written = Written(tmp_path / "wide.csv", {}, ids, "coco17", kp, sc, "csv-wide")
    written.plain_frame().to_csv(written.path, index=False, float_format="%.10g")
    return written


def write_long_csv(tmp_path):
    kp, sc = keypoints_in("coco17")
    ids = _ids(video=np.array(["clip_a"] * N_FRAMES, dtype=object), frame=np.arange(N_FRAMES))
    coco = get_skeleton("coco17")
    rows = [{"video": "clip_a", "frame": f, "joint": joint, "x": kp[f, j, 0], "y": kp[f, j, 1], "score": sc[f, j]}
            for f in range(N_FRAMES) for j, joint in enumerate(coco.joints) if sc[f, j] > 0]
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False, float_format="%.10g")
    return Written(path, {}, ids, "coco17", kp, sc, "csv-long")


def write_npz(tmp_path):
    kp, sc = keypoints_in("coco17")
    path = tmp_path / "keypoints.npz"
    np.savez(path, keypoints=np.nan_to_num(kp), scores=sc, skeleton="coco17", frame=np.arange(N_FRAMES),
             person=np.zeros(N_FRAMES, dtype=np.int64))
    ids = _ids(frame=np.arange(N_FRAMES), person=np.zeros(N_FRAMES, dtype=np.int64))
    return Written(path, {}, ids, "coco17", kp, sc, "numpy")


# ---------------------------------------------------------------------------------------- OpenPose

def write_openpose(tmp_path, empty_frames=(2,)):
    """A BODY_25 folder; the frames in ``empty_frames`` found nobody (``"people": []``)."""
    kp, sc = keypoints_in("openpose25")
    folder = tmp_path / "openpose"
    folder.mkdir()
    rows, keep = [], []
    for f in range(N_FRAMES):
        people = []
        if f not in empty_frames:
            flat = np.column_stack([np.nan_to_num(kp[f]), sc[f]]).ravel()
            people.append({"person_id": [-1], "pose_keypoints_2d": [round(float(v), 6) for v in flat],
                           "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
                           "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                           "hand_right_keypoints_3d": []})
        (folder / f"clip_b_{f:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
        rows.append(f)
        keep.append(f not in empty_frames)
    keep = np.array(keep)
    kp, sc = kp.copy(), sc.copy()
    kp[~keep], sc[~keep] = np.nan, 0.0
    ids = _ids(video=np.array(["clip_b"] * N_FRAMES, dtype=object), frame=np.arange(N_FRAMES),
               person=np.zeros(N_FRAMES, dtype=np.int64))
    written = Written(folder, {}, ids, "openpose25", kp, sc, "openpose-json")
    written.no_person = ~keep
    return written


# ---------------------------------------------------------------------------------------- COCO results

def write_coco_results(tmp_path):
    kp, sc = keypoints_in("coco17")
    entries = []
    for f in range(N_FRAMES):
        triples = np.column_stack([np.nan_to_num(kp[f]), sc[f]]).ravel()
        entries.append({"image_id": 100 + f, "category_id": 1, "keypoints": [round(float(v), 6) for v in triples],
                        "score": round(0.9 + f / 100, 3)})
    path = tmp_path / "results.json"
    path.write_text(json.dumps(entries))
    ids = _ids(image_id=100 + np.arange(N_FRAMES), person=np.zeros(N_FRAMES, dtype=np.int64),
               detection_score=np.array([round(0.9 + f / 100, 3) for f in range(N_FRAMES)]))
    return Written(path, {}, ids, "coco17", kp, sc, "coco-json")


# ---------------------------------------------------------------------------------------- MMPose

def _mmpose_instance(kp, sc, bbox_score):
    xy = np.nan_to_num(kp)
    present = xy[sc > 0]
    box = [float(present[:, 0].min()), float(present[:, 1].min()), float(present[:, 0].max()),
           float(present[:, 1].max())]
    # split_instances: result['bbox'] = bboxes[i].tolist(),  (a one-element tuple -> [[x1, y1, x2, y2]])
    return {"keypoints": xy.tolist(), "keypoint_scores": sc.tolist(), "bbox": [box], "bbox_score": bbox_score}


def _dump(document, path):
    # mmengine.dump(obj, file, indent='  ') is json.dump with that indent
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent="  ")


def write_mmpose_video(tmp_path, empty_frames=(3,), halpe=False):
    """``<video>.json`` of ``MMPoseInferencer(pose2d=...)(video, pred_out_dir=...)``; a frame without instances."""
    kp, sc = keypoints_in("coco17")
    if halpe:  # Halpe-26: COCO's 17 first, then head, neck, hip and six foot points
        extra = np.full((N_FRAMES, 9, 2), 300.0)
        kp_file, sc_file = np.concatenate([kp, extra], axis=1), np.concatenate([sc, np.full((N_FRAMES, 9), 0.7)], 1)
    else:
        kp_file, sc_file = kp, sc
    predictions = []
    for f in range(N_FRAMES):
        instances = [] if f in empty_frames else [_mmpose_instance(kp_file[f], sc_file[f], 0.97)]
        predictions.append({"frame_id": f, "instances": instances})
    path = tmp_path / "walk.json"
    _dump(predictions, path)
    keep = np.array([f not in empty_frames for f in range(N_FRAMES)])
    kp, sc = kp.copy(), sc.copy()
    kp[~keep], sc[~keep] = np.nan, 0.0
    ids = _ids(frame_id=np.arange(N_FRAMES), person=np.zeros(N_FRAMES, dtype=np.int64),
               bbox_score=np.where(keep, 0.97, np.nan))
    written = Written(path, {}, ids, "coco17", kp, sc, "mmpose-json")
    written.no_person = ~keep
    return written


def write_mmpose_images(tmp_path):
    """``pred_out_dir`` of images: one ``<image>.json`` (a list of instances) per image, two people in one."""
    kp, sc = keypoints_in("coco17")
    folder = tmp_path / "mmpose_images"
    folder.mkdir()
    names, rows = [], []
    for f in range(N_FRAMES // 2):
        instances = [_mmpose_instance(kp[2 * f], sc[2 * f], 0.95), _mmpose_instance(kp[2 * f + 1], sc[2 * f + 1], 0.8)]
        _dump(instances, folder / f"img_{f:03d}.json")
        names += [f"img_{f:03d}"] * 2
        rows += [0, 1]
    ids = _ids(image=np.array(names, dtype=object), person=np.array(rows, dtype=np.int64),
               bbox_score=np.array([0.95, 0.8] * (N_FRAMES // 2)))
    return Written(folder, {}, ids, "coco17", kp, sc, "mmpose-json")


# ---------------------------------------------------------------------------------------- MediaPipe

def _mediapipe_landmarks():
    """blazepose33 keypoints normalised to IMAGE_SIZE, visibility as score; a landmark MediaPipe did not see
    is written at a guessed place (here the image centre) with visibility 0.001."""
    kp, sc = keypoints_in("blazepose33")
    width, height = IMAGE_SIZE
    normalised = kp / np.array([width, height])
    z = np.where(np.isfinite(kp[..., 0]), 0.1, -0.2)  # relative depth, unused
    # MediaPipe always gives every landmark; one it did not see is there with a near-zero visibility
    normalised = np.where(np.isfinite(normalised), normalised, 0.5)
    visibility = np.where(sc > 0, sc, 0.001)
    return kp, sc, normalised, z, visibility


def write_mediapipe_named(tmp_path):
    kp, sc, normalised, z, visibility = _mediapipe_landmarks()
    blaze = get_skeleton("blazepose33")
    columns = {"frame": np.arange(N_FRAMES)}
    for j, joint in enumerate(blaze.joints):
        columns[f"{joint}_x"] = normalised[:, j, 0]
        columns[f"{joint}_y"] = normalised[:, j, 1]
        columns[f"{joint}_z"] = z[:, j]
        columns[f"{joint}_visibility"] = visibility[:, j]
    path = tmp_path / "mediapipe_named.csv"
    pd.DataFrame(columns).to_csv(path, index=False, float_format="%.12g")
    return Written(path, {"image_size": IMAGE_SIZE}, _ids(frame=np.arange(N_FRAMES)), "blazepose33", kp, sc,
                   "mediapipe-csv")


def write_mediapipe_numbered(tmp_path):
    """The common tutorial layout: ``class, x1, y1, z1, v1, ..., x33, ...`` (landmarks numbered from 1)."""
    kp, sc, normalised, z, visibility = _mediapipe_landmarks()
    header = ["class"] + [f"{a}{i}" for i in range(1, 34) for a in "xyzv"]
    path = tmp_path / "coords.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        for f in range(N_FRAMES):
            cells = ["squat"]
            for j in range(33):
                cells += [repr(float(normalised[f, j, 0])), repr(float(normalised[f, j, 1])), repr(float(z[f, j])),
                          repr(float(visibility[f, j]))]
            handle.write(",".join(cells) + "\n")
    ids = _ids(frame=np.arange(N_FRAMES), **{"class": np.array(["squat"] * N_FRAMES, dtype=object)})
    return Written(path, {"image_size": IMAGE_SIZE}, ids, "blazepose33", kp, sc, "mediapipe-csv")


# ---------------------------------------------------------------------------------------- DeepLabCut

#: body parts as a DeepLabCut user might name them (mixed conventions on purpose)
DLC_PARTS = {
    "nose": "Nose", "left_eye": "LeftEye", "right_eye": "RightEye", "left_shoulder": "shoulder_left",
    "right_shoulder": "shoulder_right", "left_elbow": "l_elbow", "right_elbow": "r_elbow",
    "left_wrist": "LWrist", "right_wrist": "RWrist", "left_hip": "leftHip", "right_hip": "rightHip",
    "left_knee": "knee_L", "right_knee": "knee_R", "left_ankle": "Lankle", "right_ankle": "Rankle",
}


def _dlc_frame(individuals=None, scorer="DLC_resnet50_humanMar1shuffle1_100000"):
    kp, sc = keypoints_in("coco17", face=True)
    coco = get_skeleton("coco17")
    parts = list(DLC_PARTS)
    columns, data = [], []
    for k, individual in enumerate(individuals or [None]):
        rows = slice(k, None, len(individuals)) if individuals else slice(None)
        for joint in parts:
            j = coco.index(joint)
            for a, coord in enumerate(("x", "y", "likelihood")):
                columns.append((scorer,) + ((individual,) if individuals else ()) + (DLC_PARTS[joint], coord))
                values = kp[rows, j, a] if a < 2 else sc[rows, j]
                data.append(values)
    names = ["scorer"] + (["individuals"] if individuals else []) + ["bodyparts", "coords"]
    n = N_FRAMES // len(individuals) if individuals else N_FRAMES
    table = pd.DataFrame(np.column_stack(data)[:n], columns=pd.MultiIndex.from_tuples(columns, names=names),
                         index=range(n))
    # the reader's view: coco17 (the ears are not labelled)
    expected_kp, expected_sc = kp.copy(), sc.copy()
    unlabelled = [coco.index(j) for j in coco.joints if j not in DLC_PARTS]
    expected_kp[:, unlabelled], expected_sc[:, unlabelled] = np.nan, 0.0
    return table, expected_kp, expected_sc


def write_deeplabcut_csv(tmp_path):
    table, kp, sc = _dlc_frame()
    table.iloc[1, 3:6] = np.nan  # an occluded part: DeepLabCut leaves its cells empty
    kp[1, get_skeleton("coco17").index("left_eye")], sc[1, get_skeleton("coco17").index("left_eye")] = np.nan, 0.0
    path = tmp_path / "walkDLC_resnet50_humanMar1shuffle1_100000.csv"
    table.to_csv(path)
    return Written(path, {}, _ids(frame=np.arange(N_FRAMES)), "coco17", kp, sc, "deeplabcut-csv")


def write_deeplabcut_multi_csv(tmp_path):
    table, kp, sc = _dlc_frame(individuals=["ind1", "ind2"])
    path = tmp_path / "crowdDLC_dlcrnetms5_humanMar1shuffle1_50000_el.csv"
    table.to_csv(path)
    ids = _ids(frame=np.repeat(np.arange(N_FRAMES // 2), 2),
               individual=np.array(["ind1", "ind2"] * (N_FRAMES // 2), dtype=object))
    return Written(path, {}, ids, "coco17", kp, sc, "deeplabcut-csv")


def write_deeplabcut_h5(tmp_path):
    table, kp, sc = _dlc_frame()
    path = tmp_path / "walkDLC_resnet50_humanMar1shuffle1_100000.h5"
    table.to_hdf(path, key="df_with_missing", format="table", mode="w")
    return Written(path, {}, _ids(frame=np.arange(N_FRAMES)), "coco17", kp, sc, "deeplabcut-h5")


# ---------------------------------------------------------------------------------------- TRC (Sports2D)

#: Sports2D's HALPE_26 keypoint names (Head = top of the head; Neck and Hip added by Sports2D)
HALPE_NAMES = {
    "Nose": "nose", "LEye": "left_eye", "REye": "right_eye", "LEar": "left_ear", "REar": "right_ear",
    "LShoulder": "left_shoulder", "RShoulder": "right_shoulder", "LElbow": "left_elbow", "RElbow": "right_elbow",
    "LWrist": "left_wrist", "RWrist": "right_wrist", "LHip": "left_hip", "RHip": "right_hip", "LKnee": "left_knee",
    "RKnee": "right_knee", "LAnkle": "left_ankle", "RAnkle": "right_ankle", "Head": "head_top", "Neck": "neck",
    "Hip": "mid_hip", "LBigToe": "left_big_toe", "RBigToe": "right_big_toe", "LSmallToe": "left_small_toe",
    "RSmallToe": "right_small_toe", "LHeel": "left_heel", "RHeel": "right_heel",
}


def write_trc(tmp_path, y_up=False, name="walk_Sports2D_px_person00.trc"):
    """A Sports2D pixel TRC (Z = 0, gaps as zeros); ``y_up`` writes Y = H - y instead of image y."""
    kp, _ = keypoints_in("openpose25")
    openpose = get_skeleton("openpose25")
    fps = 30
    names = list(HALPE_NAMES)
    data = {"time": np.arange(N_FRAMES) / fps}
    for marker in names:
        joint = HALPE_NAMES[marker]
        xy = kp[:, openpose.index(joint)] if joint in openpose._index else np.full((N_FRAMES, 2), np.nan)
        xy = np.nan_to_num(xy)  # Sports2D fills large gaps with zeros
        y = IMAGE_SIZE[1] - xy[:, 1] if y_up else xy[:, 1]
        y = np.where(xy[:, 0] == 0, 0.0, y)
        data[f"{marker}_X"], data[f"{marker}_Y"], data[f"{marker}_Z"] = xy[:, 0], y, np.zeros(N_FRAMES)
    trc = pd.DataFrame(data)
    header = ["PathFileType\t4\t(X/Y/Z)\t" + str(name),
              "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
              "\t".join(map(str, [fps, fps, N_FRAMES, len(names), "m", fps, 0, N_FRAMES])),
              "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t\t",
              "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(len(names)))]
    path = tmp_path / name
    with open(path, "w") as handle:
        for line in header:
            handle.write(line + "\n")
        trc.to_csv(handle, sep="\t", index=True, header=None, lineterminator="\n")
    scores = np.isfinite(kp[..., 0]).astype(float)
    ids = _ids(frame=np.arange(N_FRAMES), time=np.arange(N_FRAMES) / fps)
    options = {"image_size": IMAGE_SIZE} if y_up else {}
    return Written(path, options, ids, "openpose25", kp, scores, "trc")


def write_trc_y_up(tmp_path):
    return write_trc(tmp_path, y_up=True, name="walk_up_px.trc")


#: Every file writer, by the reader it exercises (the contract tests run over all of them).
WRITERS = {
    "csv-wide": write_wide_csv, "csv-long": write_long_csv, "numpy": write_npz, "openpose-json": write_openpose,
    "coco-json": write_coco_results, "mmpose-video": write_mmpose_video, "mmpose-images": write_mmpose_images,
    "mediapipe-named": write_mediapipe_named, "mediapipe-numbered": write_mediapipe_numbered,
    "deeplabcut-csv": write_deeplabcut_csv, "deeplabcut-multi": write_deeplabcut_multi_csv,
    "deeplabcut-h5": write_deeplabcut_h5, "trc": write_trc, "trc-y-up": write_trc_y_up,
}
