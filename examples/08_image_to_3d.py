# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 8. From an image to 3D with the ONNX detector
#
# **What you will learn**
#
# * the whole two-stage pipeline on real photographs: a 2D detector (BlazePose, run with ONNX
#   Runtime) finds 33 landmarks, a joint mapping turns them into the bases' 15 joints, and the
#   geometric lifter recovers the 3D pose;
# * how detector confidences become the lifter's per-joint weights;
# * what the lift looks like from the camera and from a novel view, and where it goes wrong.
#
# The pictures are three frames of the Pose2Sim demo (BSD-3-Clause, faces blurred by its
# authors; see `tests/data/README.md`): one person filmed by three cameras.  The detector
# needs its models converted once per machine: `lift2d3d models build` (see the README).

# %%
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np

import lift2d3d
from lift2d3d import Lifter, viz
from lift2d3d.detect import PoseDetector
from lift2d3d.mapping import JointMapping

BASES = "default"
# The test frames of a clone of the repository (this notebook lives in its examples/ folder).
DATA = Path(lift2d3d.__file__).resolve().parent.parent / "tests" / "data"
paths = sorted(DATA.glob("pose2sim_cam*.jpg"))
images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
print([p.name for p in paths], images[0].shape)

# %% [markdown]
# ## Stage 1: 2D landmarks
#
# `PoseDetector(static_image_mode=True)` runs the person detector on every picture (for a video,
# the default tracks the person from frame to frame instead).  Each pose has 33 landmarks in
# pixels and a visibility score per landmark.

# %%
detector = PoseDetector(static_image_mode=True)
frames = [detector.process(image, color="rgb") for image in images]
for path, frame in zip(paths, frames):
    print(f"{path.name}: {frame.keypoints.shape[0]} person(s), mean visibility {frame.scores.mean():.2f}")

# %% [markdown]
# ## Stage 2: onto the bases' skeleton
#
# The mapping copies the joints both skeletons share and derives the others from their
# definitions (pelvis = mid-hips, neck = mid-shoulders, head = mid-ears).  A derived joint is only
# as confident as its weakest source.

# %%
lifter = Lifter(BASES)
mapping = JointMapping("blazepose33", lifter.skeleton)
print(mapping.report())
keypoints, scores = mapping.apply(np.concatenate([f.keypoints[:1] for f in frames]),
                                  np.concatenate([f.scores[:1] for f in frames]))

# %% [markdown]
# ## Stage 3: lifting
#
# No camera intrinsics are known, so the lift is weak perspective; the visibility scores weight
# the joints (an occluded wrist counts less).

# %%
result = lifter.lift(keypoints, scores)
for path, status, error, message in zip(paths, result.status, result.reprojection_error, result.message):
    print(f"{path.name}: {status}, reprojection {error:.1f} px, {message}")

# %% [markdown]
# The person fills a small part of the frame, so for the pictures we crop around the keypoints
# (and shift them by the crop's corner).

# %%
def crop_around(image, keypoints, margin=0.3):
    """The image cut to the keypoints' box plus ``margin`` of its size, and the shifted keypoints."""
    low, high = np.nanmin(keypoints, axis=0), np.nanmax(keypoints, axis=0)
    pad = margin * (high - low).max()
    x0, y0 = np.maximum(low - pad, 0).astype(int)
    x1, y1 = np.minimum(high + pad, [image.shape[1], image.shape[0]]).astype(int)
    return image[y0:y1, x0:x1], keypoints - [x0, y0]


crops = [crop_around(image, kp) for image, kp in zip(images, keypoints)]

# %% tags=["gallery"]
fig = viz.plot_lift(crops[0][0], crops[0][1], result.joints3d[0], lifter.skeleton, scores=scores[0],
                    novel_view=(10, -30), titles=(f"BlazePose on {paths[0].name}", "lift: camera view",
                                                  "lift: novel view"))
plt.show()

# %% [markdown]
# ## Three cameras
#
# The three pictures come from three cameras around the room, at different moments of the
# take.  Each lift is in its own camera's frame.

# %%
fig = plt.figure(figsize=(12, 7))
for k, ((crop, kp), sc, joints) in enumerate(zip(crops, scores, result.joints3d)):
    ax = fig.add_subplot(2, 3, k + 1)
    viz.plot_2d(kp, lifter.skeleton, image=crop, ax=ax, scores=sc)
    ax.set_axis_off()
    ax.set_title(paths[k].stem, fontsize=10)
    ax3 = fig.add_subplot(2, 3, k + 4, projection="3d")
    viz.plot_3d(joints, lifter.skeleton, view=(10, -60), ax=ax3, title="novel view")
fig.tight_layout()
plt.show()

# %% [markdown]
# The same pipeline runs on videos and folders from the command line, writing a CSV of 3D
# joints and a side-by-side overlay drawn with `viz.render_lift`:
#
#     lift2d3d run video.mp4 -o lifted.csv --overlay lifted.mp4
#
# ## Exercise
#
# 1. Lift with `Lifter(BASES, method="robust")` and compare the three poses: does the robust
#    term change the limbs the detector was least sure of (lowest `scores`)?
# 2. Lift without the scores (`lifter.lift(keypoints)`) and measure how much each joint moves.
#    Which joints depend most on the weighting?
# 3. The three pictures show the same person.  Compare the bone lengths of the three lifts
#    (`np.linalg.norm` over `lifter.skeleton.edge_indices()`): which bones agree, which do not,
#    and why might the forearms disagree most?
