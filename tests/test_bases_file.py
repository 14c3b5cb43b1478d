"""Bases files: round trip, every validation error, and the shipped default bases."""

import json

import numpy as np
import pytest

from lift2d3d.bases import BasesFileError, ShapeBases, _arrays_sha256, default_bases_path, load_bases
from lift2d3d.skeletons import BODY15


def _valid(tmp_path, n_bases=4):
    rng = np.random.default_rng(0)
    bases = ShapeBases(bases=rng.normal(size=(n_bases, 3, 15)), mean_pose=rng.normal(size=(3, 15)),
                       skeleton=BODY15, metadata=dict(alpha=0.01, source="test", training_error=1.0,
                                                      sparsity=0.5, inputs_sha256="0" * 64))
    return bases, bases.save(tmp_path / "good.npz")


def _write(path, bases, mean_pose, metadata, **extra):
    np.savez(path, bases=bases, mean_pose=mean_pose, metadata=np.array(json.dumps(metadata)), **extra)
    return path


def _parts(path):
    with np.load(path) as data:
        return data["bases"], data["mean_pose"], json.loads(str(data["metadata"]))


def test_round_trip(tmp_path):
    bases, path = _valid(tmp_path)
    loaded = load_bases(path)
    np.testing.assert_array_equal(loaded.bases, bases.bases)
    np.testing.assert_array_equal(loaded.mean_pose, bases.mean_pose)
    assert loaded.alpha == 0.01 and loaded.metadata["n_bases"] == 4
    assert loaded.metadata["joint_names"] == list(BODY15.joints)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(BasesFileError, match="not found; check the path"):
        load_bases(tmp_path / "nope.npz")
    with pytest.raises(BasesFileError, match="learn-bases --deepmimic"):
        load_bases(tmp_path / "deepmimic_body15.npz")
    with pytest.raises(BasesFileError, match="cmu_body15_files.csv"):
        load_bases(tmp_path / "cmu_body15.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(BasesFileError, match="not a readable .npz"):
        load_bases(tmp_path / "text.npz")


def test_pickled_arrays_are_refused(tmp_path):
    bases, path = _valid(tmp_path)
    B, M, meta = _parts(path)
    evil = tmp_path / "evil.npz"
    np.savez(evil, bases=B, mean_pose=M, metadata=np.array([meta], dtype=object))
    with pytest.raises(BasesFileError, match="not a readable .npz"):
        load_bases(evil)


def test_missing_arrays_and_metadata(tmp_path):
    bases, path = _valid(tmp_path)
    B, M, meta = _parts(path)
    np.savez(tmp_path / "no_mean.npz", bases=B, metadata=np.array(json.dumps(meta)))
    with pytest.raises(BasesFileError, match="missing array\\(s\\) mean_pose"):
        load_bases(tmp_path / "no_mean.npz")
    np.savez(tmp_path / "bad_json.npz", bases=B, mean_pose=M, metadata=np.array("{alpha: 1"))
    with pytest.raises(BasesFileError, match="metadata is not valid JSON"):
        load_bases(tmp_path / "bad_json.npz")
    partial = {k: v for k, v in meta.items() if k not in ("alpha", "inputs_sha256")}
    with pytest.raises(BasesFileError, match="metadata lacks alpha, inputs_sha256"):
        load_bases(_write(tmp_path / "partial.npz", B, M, partial))


def test_checksum_mismatch(tmp_path):
    bases, path = _valid(tmp_path)
    B, M, meta = _parts(path)
    B = B.copy()
    B[0, 0, 0] += 1e-9
    with pytest.raises(BasesFileError, match="checksum mismatch.*learn-bases"):
        load_bases(_write(tmp_path / "tampered.npz", B, M, meta))


def test_wrong_shapes_and_joint_names(tmp_path):
    bases, path = _valid(tmp_path)
    B, M, meta = _parts(path)
    flat = B[:, :2]  # (K, 2, P): not 3D
    with pytest.raises(BasesFileError, match=r"shape \(n_bases, 3, n_joints\)"):
        load_bases(_write(tmp_path / "flat.npz", flat, M, dict(meta, arrays_sha256=_arrays_sha256(flat, M))))
    short = B[:, :, :14]
    with pytest.raises(BasesFileError, match="14 joints but skeleton 'body15' has 15"):
        load_bases(_write(tmp_path / "short.npz", short, M[:, :14],
                          dict(meta, arrays_sha256=_arrays_sha256(short, M[:, :14]))))
    wrong_mean = M[:2]
    with pytest.raises(BasesFileError, match="mean_pose must have shape"):
        load_bases(_write(tmp_path / "mean.npz", B, wrong_mean, dict(meta, arrays_sha256=_arrays_sha256(B, wrong_mean))))  # noqa: E501
    swapped = dict(meta, joint_names=list(reversed(meta["joint_names"])))
    with pytest.raises(BasesFileError, match="joint_names .* do not match skeleton 'body15'"):
        load_bases(_write(tmp_path / "names.npz", B, M, swapped))
    with pytest.raises(BasesFileError, match="unknown skeleton 'body99'"):
        load_bases(_write(tmp_path / "skel.npz", B, M, dict(meta, skeleton="body99")))
    nan = B.copy()
    nan[1, 1, 1] = np.nan
    with pytest.raises(BasesFileError, match="NaN or inf"):
        load_bases(_write(tmp_path / "nan.npz", nan, M, dict(meta, arrays_sha256=_arrays_sha256(nan, M))))


@pytest.mark.parametrize("name", ["default", "deepmimic"])
def test_shipped_bases(name):
    path = default_bases_path(name)
    assert path.stat().st_size < 1_000_000
    bases = ShapeBases.load(name)
    meta = bases.metadata
    assert bases.skeleton.name == "body15" and bases.n_bases == meta["n_bases"]
    assert 0 < bases.alpha < 1 and len(meta["inputs_sha256"]) == 64
    if name == "deepmimic":
        assert "DeepMimic" in meta["source"]
        assert meta["command"].startswith("lift2d3d learn-bases --deepmimic")
    else:       # the CMU corpus: every file it used, with its hash, recorded in the bases and in the card
        assert path == default_bases_path("cmu") and "MoCap corpus" in meta["source"]
        assert meta["command"].startswith("lift2d3d learn-bases --mocap")
        files = meta["corpus"]["files"]
        assert len(files) > 200 and all(len(f["sha256"]) == 64 for f in files)
        listed = (path.parent / "cmu_body15_files.csv").read_text().splitlines()
        assert len(listed) == len(files) + 1 and all(f["sha256"] in "\n".join(listed) for f in files)
        assert "mocap.cs.cmu.edu" in (path.parent / "README.md").read_text()
    # realistic adult size (metres): legs and arms
    lengths = dict(zip(BODY15.edges, bases.bone_lengths()))
    assert 0.3 < lengths[("left_hip", "left_knee")] < 0.55
    assert 0.2 < lengths[("left_shoulder", "left_elbow")] < 0.4
    np.testing.assert_allclose(bases.mean_pose.mean(axis=1), 0, atol=1e-9)


def test_no_basis_pose_and_deep_metadata_are_named_errors(tmp_path):
    """K = 0 used to reach the solver's records as a ZeroDivisionError; deep JSON a RecursionError."""
    B, M, meta = _parts(_valid(tmp_path)[1])
    empty = B[:0]
    with pytest.raises(BasesFileError, match="at least one basis pose|n_bases >= 1"):
        load_bases(_write(tmp_path / "k0.npz", empty, M, dict(meta, arrays_sha256=_arrays_sha256(empty, M))))
    with pytest.raises(BasesFileError, match="at least one basis pose"):
        ShapeBases(bases=empty, mean_pose=M, skeleton="body15")
    np.savez(tmp_path / "deep.npz", bases=B, mean_pose=M, metadata=np.array("[" * 100_000 + "]" * 100_000))
    with pytest.raises(BasesFileError, match="metadata is not valid JSON"):
        load_bases(tmp_path / "deep.npz")
    np.savez(tmp_path / "list.npz", bases=B, mean_pose=M, metadata=np.array("[1, 2]"))
    with pytest.raises(BasesFileError, match="not a JSON object"):
        load_bases(tmp_path / "list.npz")
