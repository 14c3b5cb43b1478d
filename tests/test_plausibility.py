"""No silently wrong answer: implausible input is flagged suspect_input, plausible input is not;
and the lifter takes (and returns) other skeletons' joint orders."""

import numpy as np
import pytest

from lift2d3d import Camera, Lifter, ShapeBases
from lift2d3d.benchmark import synthetic_keypoints
from lift2d3d.mapping import JointMapping


@pytest.fixture(scope="module")
def lifter():
    return Lifter()


@pytest.fixture(scope="module")
def views(lifter):
    """Keypoints (60, 15, 2) of sparse poses of the bases seen by random cameras, 1.5 px noise."""
    keypoints, cam = synthetic_keypoints(lifter.bases, 60, seed=3)
    return keypoints, cam


def test_correct_input_is_not_flagged(lifter, views):
    keypoints, _ = views
    result = lifter.lift(keypoints)
    assert np.mean(result.status == "ok") >= 0.98
    assert result.ok.mean() >= 0.98


def test_normalised_coordinates_are_flagged_and_image_size_converts_them(lifter, views):
    """MediaPipe's landmarks are x / width and y / height: lifted as pixels the pose is distorted."""
    keypoints, _ = views
    size = np.array([1920.0, 1080.0])
    normalised = keypoints / size
    flagged = lifter.lift(normalised)
    assert np.all(flagged.status == "suspect_input")
    assert not flagged.ok.any()
    assert "normalised" in flagged.message[0] and "image_size" in flagged.message[0]
    assert np.all(np.isfinite(flagged.joints3d))         # kept for inspection
    converted = lifter.lift(normalised, image_size=tuple(size))
    plain = lifter.lift(keypoints)
    assert np.all(converted.status == plain.status)
    np.testing.assert_allclose(converted.joints3d, plain.joints3d, atol=1e-6)
    single = lifter.lift(normalised[0])
    assert single.status == "suspect_input" and not single.ok
    with pytest.raises(ValueError, match="not normalised"):
        lifter.lift(keypoints, image_size=(1920, 1080))


def test_a_shuffled_joint_order_is_flagged(lifter, views):
    keypoints, _ = views
    rng = np.random.default_rng(0)
    shuffled = np.stack([k[rng.permutation(15)] for k in keypoints])
    result = lifter.lift(shuffled)
    assert np.mean(result.status == "suspect_input") >= 0.9
    assert "joint order" in result.message[np.flatnonzero(result.status == "suspect_input")[0]]


def test_left_right_swapped_for_the_arms_only_is_flagged(lifter, views):
    keypoints, _ = views
    sk = lifter.skeleton
    swapped = keypoints.copy()
    for joint in ("shoulder", "elbow", "wrist"):
        a, b = sk.index("left_" + joint), sk.index("right_" + joint)
        swapped[:, [a, b]] = swapped[:, [b, a]]
    result = lifter.lift(swapped)
    # torsos seen edge-on cannot tell; the others must be flagged
    assert np.mean(result.status == "suspect_input") >= 0.4
    # the unswapped views: random mixtures of 3-6 atoms, of which the code check (plausibility.code_ratio)
    # (plausibility.MAX_CODE_RATIO) may flag a rare one
    assert np.mean(lifter.lift(keypoints).status == "suspect_input") <= 1 / 60


def test_one_wild_joint_is_flagged_or_dropped_saying_so(lifter, views):
    """A joint thousands of pixels off used to hide in the pose size it inflated (93 px error, ok)."""
    keypoints, _ = views
    wild = keypoints.copy()
    wrist = lifter.skeleton.index("left_wrist")
    for offset in (5000.0, 999_999.0):
        wild[:, wrist] = keypoints[:, wrist] + [offset, 0.0]
        result = lifter.lift(wild)
        # 999,999 px from a keypoint near x = 960 is past status.MAX_ABS_PIXELS: non_finite
        assert np.all(result.status == ("suspect_input" if offset < 1e5 else "non_finite")), offset
        assert all("left_wrist" in m for m in result.message)
    wild[:, wrist] = keypoints[:, wrist] + [5000.0, 0.0]
    robust = Lifter(method="robust").lift(wild)
    assert np.mean(robust.status == "ok") >= 0.95
    assert all("dropped as outlier(s):" in m and "left_wrist (" in m for m in robust.message[robust.status == "ok"])


def test_scrambled_limbs_and_another_skeletons_order_are_flagged(lifter, views):
    """Limb columns shuffled under COCO names, and Human3.6M's order read as COCO's: the fit bends the
    bases into a pose by cancelling large atoms (plausibility.code_ratio)."""
    keypoints, _ = views
    coco, scores = JointMapping("body15", "coco17").apply(keypoints, np.ones(keypoints.shape[:2]))
    limbs = [JointMapping("body15", "coco17").target.index(f"{s}_{p}") for p in ("shoulder", "elbow", "wrist", "hip",
                                                                                  "knee", "ankle")
             for s in ("left", "right")]
    rng = np.random.default_rng(4)
    shuffled = coco.copy()
    for n in range(len(shuffled)):
        order = rng.permutation(limbs)
        shuffled[n, limbs] = coco[n, order]
    assert np.mean(lifter.lift(shuffled, scores, skeleton="coco17").status == "suspect_input") >= 0.8
    h36m, h36m_scores = JointMapping("body15", "h36m17").apply(keypoints, np.ones(keypoints.shape[:2]))
    assert np.mean(lifter.lift(h36m, h36m_scores, skeleton="coco17").status == "suspect_input") >= 0.8
    # (a few of these random atom mixtures are flagged by the code check, plausibility.code_ratio; real MoCap
    # frames in benchmarks/plausibility.py: 0.1 %)
    assert np.mean(lifter.lift(coco, scores, skeleton="coco17").status == "ok") >= 0.95


def test_a_near_zero_score_is_a_missing_joint(lifter, views):
    """MediaPipe writes a landmark it did not see at a guessed place with visibility ~0.001: as a
    weight it still moved the fit by 7-16 mm; below status.MIN_SCORE it is missing."""
    keypoints, _ = views
    low, scores = keypoints.copy(), np.ones(keypoints.shape[:2])
    low[:, 5], scores[:, 5] = [960.0, 540.0], 0.001
    gone, none = keypoints.copy(), np.ones(keypoints.shape[:2])
    gone[:, 5], none[:, 5] = np.nan, 0.0
    np.testing.assert_array_equal(lifter.lift(low, scores).joints3d, lifter.lift(gone, none).joints3d)


def test_robust_outliers_do_not_make_input_suspect(lifter, views):
    keypoints, _ = views
    rng = np.random.default_rng(1)
    corrupted = keypoints.copy()
    corrupted[np.arange(60), rng.integers(15, size=60)] += 200.0
    assert np.mean(Lifter(method="robust").lift(corrupted).status == "suspect_input") <= 0.05


def test_perspective_fits_are_checked_too(views):
    _, cam = views
    points = cam + [0.0, 0.0, 4.0]
    keypoints = 1000.0 * points[..., :2] / points[..., 2:] + [640.0, 360.0]
    lifter = Lifter(camera=Camera(1000.0, (640.0, 360.0)))
    assert np.mean(lifter.lift(keypoints).status == "ok") >= 0.98
    rng = np.random.default_rng(2)
    shuffled = np.stack([k[rng.permutation(15)] for k in keypoints])
    assert np.mean(lifter.lift(shuffled).status == "suspect_input") >= 0.9


@pytest.mark.parametrize("skeleton", ["coco17", "h36m17", "openpose25", "blazepose33"])
def test_other_skeletons_are_mapped_by_name(lifter, views, skeleton):
    keypoints, _ = views
    mapping = JointMapping("body15", skeleton)
    other, scores = mapping.apply(keypoints, np.ones(keypoints.shape[:2]))
    back = JointMapping(skeleton, "body15")
    expected_input, expected_scores = back.apply(other, scores)
    result = lifter.lift(other, scores, skeleton=skeleton)
    reference = lifter.lift(expected_input, expected_scores)
    np.testing.assert_array_equal(result.joints3d, reference.joints3d)
    assert result.joints3d.shape == (60, 15, 3)


def test_wrong_shape_names_the_likely_skeleton(lifter):
    with pytest.raises(ValueError, match="skeleton='coco17'"):
        lifter.lift(np.zeros((17, 2)))
    with pytest.raises(ValueError, match="unknown skeleton"):
        lifter.lift(np.zeros((17, 2)), skeleton="coco18")


def test_results_in_another_skeletons_order(lifter, views):
    keypoints, _ = views
    result = lifter.lift(keypoints)
    h36m = result.to_skeleton("h36m17")
    assert h36m.joint_names[0] == "pelvis" and h36m.joints3d.shape == (60, 17, 3)
    sk = lifter.skeleton
    i = h36m.joint_names.index("left_wrist")
    np.testing.assert_array_equal(h36m.joints3d[:, i], result.joints3d[:, sk.index("left_wrist")])
    thorax = h36m.joints3d[:, h36m.joint_names.index("thorax")]
    np.testing.assert_allclose(thorax, 0.5 * (result.joints3d[:, sk.index("left_shoulder")]
                                              + result.joints3d[:, sk.index("right_shoulder")]))
    # joints body15 cannot provide are NaN, never invented
    assert np.isnan(h36m.joints3d[:, h36m.joint_names.index("head_top")]).all()
    coco = result.to_skeleton("coco17")
    assert np.isnan(coco.joints3d[:, coco.joint_names.index("nose")]).all()
    assert np.isfinite(coco.joints3d[:, coco.joint_names.index("left_ankle")]).all()
    np.testing.assert_array_equal(coco.status, result.status)


def test_bases_fixture_matches_default():
    assert ShapeBases.load("default").n_joints == 15
