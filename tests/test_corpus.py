"""The corpus walk: cgspeed Daz-style BVH, mixed formats, performers, resampling, thinning, the report."""

import hashlib
import json

import numpy as np
import pytest

from lift2d3d.mocap import find_takes, read_asf_amc, read_bvh, read_corpus
from lift2d3d.mocap.corpus import resample_indices
from lift2d3d.mocap.rigs import RIGS, detect_rig
from lift2d3d.skeletons import BODY15

from test_mocap_acclaim import _amc_text, _asf_text, _random_motion

# cgspeed's "Daz-friendly" CMU rig, in centimetres: (parent, offset, end site)
DAZ = {
    "hip": (None, (0, 0, 0), None),
    "abdomen": ("hip", (0, 20, 0), None), "chest": ("abdomen", (0, 12, 0), None),
    "neck": ("chest", (0, 22, 0), None), "head": ("neck", (0, 7, 0), None),
    "leftEye": ("head", (4, 8, 8), (1, 0, 0)), "rightEye": ("head", (-4, 8, 8), (1, 0, 0)),
    "lCollar": ("chest", (3, 19, 0), None), "lShldr": ("lCollar", (9, 0, 0), None),
    "lForeArm": ("lShldr", (28, 0, 0), None), "lHand": ("lForeArm", (23, 0, 0), (10, 0, 0)),
    "rCollar": ("chest", (-3, 19, 0), None), "rShldr": ("rCollar", (-9, 0, 0), None),
    "rForeArm": ("rShldr", (-28, 0, 0), None), "rHand": ("rForeArm", (-23, 0, 0), (-10, 0, 0)),
    "lButtock": ("hip", (8, 0, 0), None), "lThigh": ("lButtock", (1, -3, 0), None),
    "lShin": ("lThigh", (0, -37, 0), None), "lFoot": ("lShin", (0, -45, 0), (0, -5, 12)),
    "rButtock": ("hip", (-8, 0, 0), None), "rThigh": ("rButtock", (-1, -3, 0), None),
    "rShin": ("rThigh", (0, -37, 0), None), "rFoot": ("rShin", (0, -45, 0), (0, -5, 12)),
}
DAZ_NAMES = list(DAZ)


def daz_bvh(motion_rows, frame_time=1 / 120):
    """cgspeed-style BVH text: frame 0 a T-pose at another place, then ``motion_rows`` (dict joint -> ZXY degrees,
    plus "root": position)."""
    def block(name, depth):
        parent, offset, end = DAZ[name]
        pad = "  " * depth
        kind = "ROOT" if parent is None else "JOINT"
        channels = ("CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation" if parent is None
                    else "CHANNELS 3 Zrotation Xrotation Yrotation")
        inner = "".join(block(c, depth + 1) for c in DAZ_NAMES if DAZ[c][0] == name)
        if end is not None:
            inner += f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET {' '.join(map(str, end))}\n{pad}  }}\n"
        return (f"{pad}{kind} {name}\n{pad}{{\n{pad}  OFFSET {' '.join(map(str, offset))}\n{pad}  {channels}\n"
                f"{inner}{pad}}}\n")

    def row(frame):
        values = list(frame.get("root", (0, 90, 0))) + list(frame.get("hip", (0, 0, 0)))
        for name in DAZ_NAMES[1:]:
            values += list(frame.get(name, (0, 0, 0)))
        return " ".join(f"{v:.6f}" for v in values)

    rows = [row({"root": (50, 90, -70)})] + [row(frame) for frame in motion_rows]
    return (f"HIERARCHY\n{block('hip', 0)}MOTION\nFrames: {len(rows)}\nFrame Time: {frame_time:.8f}\n"
            + "\n".join(rows) + "\n")


def test_cgspeed_daz_rig_is_detected_and_read(tmp_path):
    path = tmp_path / "08_01.bvh"
    path.write_text(daz_bvh([{}, {"lShldr": (90, 0, 0)}]))
    assert detect_rig(DAZ_NAMES) == "cgspeed-daz"
    clip = read_bvh(path)
    assert clip.joints3d.shape == (2, 15, 3)   # the T-pose of frame 0 is dropped
    assert clip.fps == pytest.approx(120, rel=1e-6)
    joint = {name: clip.joints3d[:, i] for i, name in enumerate(BODY15.joints)}
    # centimetres (hip to ankle 82 cm); shoulder = lShldr, hip = lThigh, knee = lShin, ankle = lFoot
    np.testing.assert_allclose(joint["left_shoulder"][0], [0.12, 1.41, 0], atol=1e-9)
    np.testing.assert_allclose(joint["right_elbow"][0], [-0.40, 1.41, 0], atol=1e-9)
    np.testing.assert_allclose(joint["left_wrist"][0], [0.63, 1.41, 0], atol=1e-9)
    np.testing.assert_allclose(joint["left_hip"][0], [0.09, 0.87, 0], atol=1e-9)
    np.testing.assert_allclose(joint["left_knee"][0], [0.09, 0.50, 0], atol=1e-9)
    np.testing.assert_allclose(joint["right_ankle"][0], [-0.09, 0.05, 0], atol=1e-9)
    # the head joint has no End Site: 10 cm beyond it along its bone (up)
    np.testing.assert_allclose(joint["head"][0], [0, 1.61, 0], atol=1e-9)
    # lShldr turned 90 degrees about z raises the upper arm
    np.testing.assert_allclose(joint["left_elbow"][1] - joint["left_shoulder"][1], [0, 0.28, 0], atol=1e-9)
    # with a user map nothing is dropped
    assert len(read_bvh(path, mapping=dict(RIGS["cgspeed-daz"]))) == 3
    assert len(read_bvh(path, rest_frames=0)) == 3


def _write_corpus(root):
    """A small corpus: AMC (+ a truncated one), cgspeed BVH (+ a copy of an AMC take), an unknown-subject folder."""
    rng = np.random.default_rng(0)
    amc_dir = root / "asf-amc" / "07"
    amc_dir.mkdir(parents=True)
    (amc_dir / "07.asf").write_text(_asf_text(length_unit=0.45))
    motion, values = _random_motion(rng, 40)
    motion[:, :3] = [0, 17, 0]
    # frames 0-19 hold still (repeats), then move
    motion[:20] = motion[0]
    for name in values:
        values[name][:20] = values[name][0]
    (amc_dir / "07_01.amc").write_text(_amc_text(motion, values))
    text = _amc_text(*_random_motion(rng, 3))
    (amc_dir / "07_02.amc").write_text("\n".join(text.splitlines()[:-4]) + "\n")
    frames = [{name: rng.uniform(-40, 40, 3) for name in DAZ_NAMES[1:]} for _ in range(20)]
    for folder, stem in (("08", "08_01"), ("07", "07_01"), ("martial", "martial_01")):
        (root / "bvh" / folder).mkdir(parents=True, exist_ok=True)
        (root / "bvh" / folder / f"{stem}.bvh").write_text(daz_bvh(frames))
    (root / "README.txt").write_text("not a take\n")
    (root / "bvh" / "notes.txt").write_text(json.dumps({"Loop": "none"}))


def test_find_takes_formats_performers_and_order(tmp_path):
    _write_corpus(tmp_path / "cmu")
    takes = find_takes(tmp_path / "cmu")
    assert [t.relpath for t in takes] == ["asf-amc/07/07_01.amc", "asf-amc/07/07_02.amc", "bvh/07/07_01.bvh",
                                          "bvh/08/08_01.bvh", "bvh/martial/martial_01.bvh"]
    assert [t.format for t in takes] == ["asf-amc", "asf-amc", "bvh", "bvh", "bvh"]
    assert [t.performer for t in takes] == ["07", "07", "07", "08", "martial"]
    assert [t.performer_known for t in takes] == [True] * 4 + [False]
    # a glob pattern, and several roots: paths relative to their common folder; a file reached twice counts once
    globbed = find_takes(str(tmp_path / "cmu" / "bvh" / "*" / "*.bvh"))
    assert [t.relpath for t in globbed] == ["07/07_01.bvh", "08/08_01.bvh", "martial/martial_01.bvh"]
    both = find_takes([tmp_path / "cmu" / "asf-amc", tmp_path / "cmu" / "bvh", tmp_path / "cmu" / "bvh" / "08"])
    assert [t.relpath for t in both] == [t.relpath for t in takes]
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        find_takes(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="matches no file"):
        find_takes(str(tmp_path / "cmu" / "*.xyz"))


def test_read_corpus_resamples_thins_and_reports(tmp_path):
    root = tmp_path / "cmu"
    _write_corpus(root)
    lines = []
    corpus = read_corpus(root, fps=30, min_distance_mm=0, log=lines.append)
    status = {row["path"]: row["status"] for row in corpus.report}
    assert status["asf-amc/07/07_01.amc"] == "used"
    assert status["asf-amc/07/07_02.amc"].startswith("error: ") and "07_02.amc: line" in status["asf-amc/07/07_02.amc"]
    assert "truncated" in status["asf-amc/07/07_02.amc"]
    assert status["bvh/07/07_01.bvh"] == "duplicate take: asf-amc/07/07_01.amc is used"
    assert status["bvh/martial/martial_01.bvh"] == "used" and len(lines) == 5
    by_path = {take.file.relpath: take for take in corpus.takes}
    amc = by_path["asf-amc/07/07_01.amc"]
    # 120 -> 30 fps: every 4th of 40 frames
    assert (amc.n_frames, amc.n_resampled, len(amc), amc.fps) == (40, 10, 10, 30.0)
    full = read_asf_amc(root / "asf-amc/07/07_01.amc")
    np.testing.assert_array_equal(amc.joints3d, full.joints3d[::4])
    bvh = by_path["bvh/08/08_01.bvh"]
    assert (bvh.n_frames, bvh.n_resampled) == (20, 5)  # T-pose dropped; 19/120 s -> 5 frames at 30 fps
    # every file used is listed with its SHA-256, the skeleton included
    files = {entry["path"]: entry for entry in corpus.files}
    assert sorted(files) == ["asf-amc/07/07.asf", "asf-amc/07/07_01.amc", "bvh/08/08_01.bvh",
                             "bvh/martial/martial_01.bvh"]
    for path, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((root / path).read_bytes()).hexdigest()
    assert files["asf-amc/07/07.asf"]["format"] == "asf"
    summary = {row["format"]: row for row in corpus.summary()}
    assert summary["all"]["takes"] == 3 and summary["all"]["performers"] == 3
    assert corpus.performers == ["07", "08", "martial"]
    # thinning: the 20 still frames at 120 fps become 5 at 30 fps, of which one is kept
    thinned = read_corpus(root, fps=30, min_distance_mm=10)
    amc = [t for t in thinned.takes if t.file.format == "asf-amc"][0]
    assert len(amc) == 10 - 4
    # every copy of a take, and one format only
    assert len(read_corpus(root, prefer=None).takes) == 4
    only = read_corpus(root, formats=["bvh"])
    assert {t.file.format for t in only.takes} == {"bvh"} and len(only.takes) == 3
    assert corpus.inputs_sha256() == read_corpus(root, fps=30, min_distance_mm=0).inputs_sha256()
    with pytest.raises(ValueError, match="unknown format"):
        read_corpus(root, formats=["c3d"])


def test_resample_indices():
    np.testing.assert_array_equal(resample_indices(40, 120.0, 30.0), np.arange(0, 40, 4))
    np.testing.assert_array_equal(resample_indices(10, 30.0, 30.0), np.arange(10))
    np.testing.assert_array_equal(resample_indices(10, 30.0003, 30.0), np.arange(10))  # rounded frame time
    np.testing.assert_array_equal(resample_indices(10, 25.0, 30.0), np.arange(10))     # never up-sampled
    np.testing.assert_array_equal(resample_indices(7, float("nan"), 30.0), np.arange(7))
    # non-integer ratio: the nearest recorded frame to each 1/30 s step
    indices = resample_indices(101, 100.0, 30.0)
    times = np.arange(len(indices)) / 30.0
    assert len(indices) == 31 and np.all(np.abs(indices / 100.0 - times) <= 0.005 + 1e-12)
    assert len(resample_indices(0, 120.0, 30.0)) == 0


def test_deepmimic_clip_in_a_corpus(tmp_path):
    pytest.importorskip("pybullet_data")
    identity = [1.0, 0.0, 0.0, 0.0]
    frame = [1 / 30, 0.0, 0.9, 0.0] + identity * 3 + identity + [0.0] + identity * 2 + [0.0]
    frame += identity + [0.0] + identity * 2 + [0.0]
    assert len(frame) == 44
    (tmp_path / "data" / "16").mkdir(parents=True)
    (tmp_path / "data" / "16" / "16_07.txt").write_text(json.dumps({"Loop": "none", "Frames": [frame] * 6}))
    corpus = read_corpus(tmp_path / "data", min_distance_mm=10)
    (take,) = corpus.takes
    assert take.file.format == "deepmimic" and take.performer == "16" and take.n_frames == 6 and len(take) == 1
    assert [e["path"] for e in corpus.files] == ["16/16_07.txt", "pybullet_data/humanoid/humanoid.urdf"]
