"""The skeleton registry and the mapping of each format onto the bases' body15."""

import numpy as np
import pytest

from lift2d3d.mapping import JointMapping
from lift2d3d.skeletons import BODY15, LIMB_JOINTS, SKELETONS, get_skeleton

EXPECTED = {"body15": 15, "coco17": 17, "h36m17": 17, "mpii16": 16, "openpose25": 25, "blazepose33": 33}


def test_registry_has_every_format_with_its_joint_count():
    assert {name: SKELETONS[name].n_joints for name in EXPECTED} == EXPECTED


def test_coco17_order_is_the_official_one():
    assert get_skeleton("coco17").joints == (
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
        "right_knee", "left_ankle", "right_ankle")


@pytest.mark.parametrize("name, index, joint", [
    ("openpose25", 1, "neck"), ("openpose25", 8, "mid_hip"), ("openpose25", 24, "right_heel"),
    ("blazepose33", 11, "left_shoulder"), ("blazepose33", 32, "right_foot_index"),
    ("h36m17", 0, "pelvis"), ("h36m17", 10, "head_top"), ("h36m17", 14, "right_shoulder"),
    ("mpii16", 0, "right_ankle"), ("mpii16", 9, "head_top"), ("mpii16", 15, "left_wrist"),
])
def test_joint_indices_follow_each_tools_numbering(name, index, joint):
    assert get_skeleton(name).joints[index] == joint


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_format_has_the_limb_joints_a_connected_tree_and_a_mirror(name):
    skeleton = get_skeleton(name)
    assert set(LIMB_JOINTS) <= set(skeleton.joints)
    # bones connect every joint (BlazePose adds a few loops, so >= n-1)
    touched = {j for edge in skeleton.edges for j in edge}
    assert touched == set(skeleton.joints)
    assert len(skeleton.edges) >= skeleton.n_joints - 1
    perm = skeleton.mirror_permutation()
    assert sorted(perm) == list(range(skeleton.n_joints))
    assert [perm[p] for p in perm] == list(range(skeleton.n_joints))
    left = skeleton.index("left_wrist")
    assert skeleton.joints[perm[left]] == "right_wrist"


def test_aliases_and_unknown_names():
    assert get_skeleton("coco") is SKELETONS["coco17"]
    assert get_skeleton("body25") is SKELETONS["openpose25"]
    assert get_skeleton("mediapipe") is SKELETONS["blazepose33"]
    with pytest.raises(KeyError, match="known skeletons: .*coco17"):
        get_skeleton("coco18")


@pytest.mark.parametrize("name, derived, missing", [
    ("coco17", {"pelvis", "neck", "head"}, set()),
    ("openpose25", {"pelvis", "head"}, set()),
    ("blazepose33", {"pelvis", "neck", "head"}, set()),
    ("mpii16", {"neck", "head"}, set()),
    ("h36m17", {"neck", "head"}, set()),
    ("body15", set(), set()),
])
def test_every_format_maps_onto_body15(name, derived, missing):
    mapping = JointMapping(name, "body15")
    assert set(mapping.derived) == derived
    assert set(mapping.missing) == missing
    assert set(mapping.direct) | set(mapping.derived) | set(mapping.missing) == set(BODY15.joints)
    assert set(LIMB_JOINTS) <= set(mapping.direct)


def _frame(skeleton, points):
    keypoints = np.full((1, skeleton.n_joints, 2), np.nan)
    scores = np.zeros((1, skeleton.n_joints))
    for joint, (xy, score) in points.items():
        keypoints[0, skeleton.index(joint)] = xy
        scores[0, skeleton.index(joint)] = score
    return keypoints, scores


def test_coco_mapping_derives_pelvis_neck_head_as_midpoints_with_the_weakest_score():
    coco = get_skeleton("coco17")
    points = {"left_hip": ((110, 300), 0.9), "right_hip": ((90, 302), 0.5),
              "left_shoulder": ((120, 150), 0.8), "right_shoulder": ((80, 150), 0.7),
              "left_ear": ((106, 100), 0.6), "right_ear": ((94, 100), 0.9),
              "left_wrist": ((130, 250), 0.4)}
    keypoints, scores = _frame(coco, points)
    out, out_scores = JointMapping(coco, BODY15).apply(keypoints, scores)
    assert np.allclose(out[0, BODY15.index("pelvis")], (100, 301))
    assert out_scores[0, BODY15.index("pelvis")] == 0.5
    assert np.allclose(out[0, BODY15.index("neck")], (100, 150))
    assert np.allclose(out[0, BODY15.index("head")], (100, 100))
    assert np.allclose(out[0, BODY15.index("left_wrist")], (130, 250))
    assert out_scores[0, BODY15.index("left_wrist")] == 0.4
    # joints not given stay missing: NaN and score 0
    assert np.isnan(out[0, BODY15.index("right_knee")]).all()
    assert out_scores[0, BODY15.index("right_knee")] == 0


def test_head_is_missing_rather_than_guessed_from_one_ear_or_the_nose():
    coco = get_skeleton("coco17")
    keypoints, scores = _frame(coco, {"nose": ((100, 110), 1.0), "left_ear": ((106, 100), 1.0)})
    out, out_scores = JointMapping(coco, BODY15).apply(keypoints, scores)
    assert np.isnan(out[0, BODY15.index("head")]).all() and out_scores[0, BODY15.index("head")] == 0


def test_openpose_pelvis_falls_back_to_mid_hip_per_frame():
    op = get_skeleton("openpose25")
    both, s1 = _frame(op, {"left_hip": ((110, 300), 1), "right_hip": ((90, 300), 1), "mid_hip": ((0, 0), 1)})
    one, s2 = _frame(op, {"left_hip": ((110, 300), 1), "mid_hip": ((101, 299), 0.7)})
    out, out_scores = JointMapping(op, BODY15).apply(np.concatenate([both, one]), np.concatenate([s1, s2]))
    pelvis = BODY15.index("pelvis")
    assert np.allclose(out[:, pelvis], [(100, 300), (101, 299)])
    assert np.allclose(out_scores[:, pelvis], [1.0, 0.7])


def test_mpii_and_h36m_heads_are_midpoints_of_the_head_segment():
    mpii = get_skeleton("mpii16")
    keypoints, scores = _frame(mpii, {"upper_neck": ((100, 130), 1), "head_top": ((100, 70), 1)})
    out, _ = JointMapping(mpii, BODY15).apply(keypoints, scores)
    assert np.allclose(out[0, BODY15.index("head")], (100, 100))
    h36m = get_skeleton("h36m17")
    keypoints, scores = _frame(h36m, {"neck_nose": ((100, 120), 1), "head_top": ((100, 80), 1),
                                      "pelvis": ((100, 300), 1)})
    out, _ = JointMapping(h36m, BODY15).apply(keypoints, scores)
    assert np.allclose(out[0, BODY15.index("head")], (100, 100))
    assert np.allclose(out[0, BODY15.index("pelvis")], (100, 300))   # H36M's own root joint


def test_report_says_what_was_mapped_derived_and_unused():
    text = JointMapping("coco17", "body15").report()
    assert "coco17 -> body15" in text
    assert "pelvis = mean(left_hip, right_hip)" in text
    assert "unused source joints (3): nose, left_eye, right_eye" in text
    assert "identity" in JointMapping("body15", "body15").report()


def test_apply_rejects_the_wrong_shape_with_the_expected_one():
    with pytest.raises(ValueError, match=r"\(n_frames, 17, 2\).*coco17"):
        JointMapping("coco17", "body15").apply(np.zeros((2, 15, 2)), np.ones((2, 15)))


def test_mirrored_bones_pair_each_left_bone_with_its_right_mirror():
    sk = get_skeleton("body15")
    named = {(sk.joints[a], sk.joints[b], sk.joints[c], sk.joints[d]) for a, b, c, d in sk.mirrored_bones()}
    assert named == {
        ("neck", "left_shoulder", "neck", "right_shoulder"),
        ("left_shoulder", "left_elbow", "right_shoulder", "right_elbow"),
        ("left_elbow", "left_wrist", "right_elbow", "right_wrist"),
        ("pelvis", "left_hip", "pelvis", "right_hip"),
        ("left_hip", "left_knee", "right_hip", "right_knee"),
        ("left_knee", "left_ankle", "right_knee", "right_ankle"),
    }
    for name in ("coco17", "h36m17", "mpii16", "openpose25", "blazepose33"):
        other = get_skeleton(name)
        for a, b, c, d in other.mirrored_bones():
            assert other.side(other.joints[a]) != "right" and other.side(other.joints[c]) != "left"
            assert "left" in (other.side(other.joints[a]), other.side(other.joints[b]))
