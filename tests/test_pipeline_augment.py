"""A learner trains on its split's training tracks plus their augmented copies, never on a copy
of a validation or test track."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import MirlearnError
from mirlearn.features.augment.transforms import AudioTransform, copy_id, source_id
from mirlearn.features.frameset import FrameSet
from mirlearn.pipeline import learner_inputs, training_frames


def _frames(ids, labels, base=0.0):
    tracks = TrackTable([Track(i, f"/x/{i}.wav", lab) for i, lab in zip(ids, labels)], classes=["a", "b"])
    lengths = np.arange(2, 2 + len(ids))
    off = np.concatenate([[0], np.cumsum(lengths)])
    X = (np.arange(off[-1] * 3, dtype=np.float32).reshape(-1, 3) + base)
    return FrameSet(X, off, tracks)


@pytest.fixture
def data():
    ids, labels = [f"t{i}" for i in range(8)], ["a", "b"] * 4
    frames = _frames(ids, labels)
    split = Split("s0", train=("t0", "t1", "t2", "t3"), valid=("t4", "t5"), test=("t6", "t7"))
    variants = []
    for k, t in enumerate((AudioTransform("gain", 6.0), AudioTransform("noise", 20.0))):
        copies = _frames([copy_id(i, t) for i in ids if i != "t2"], [lab for i, lab in zip(ids, labels) if i != "t2"],
                         base=1000.0 * (k + 1))
        variants.append((t, copies))
    return frames, split, variants


def test_training_frames_are_the_training_tracks_then_their_copies(data, tmp_path):
    frames, split, variants = data
    train = training_frames(frames, split, variants, tmp_path / "train.npy")
    ids = [t.track_id for t in train.tracks]
    assert ids[:4] == list(split.train)
    # t2's copies could not be made: left out; no copy of t4..t7 (validation, test)
    assert ids[4:] == [f"t{i}~gain+6dB" for i in (0, 1, 3)] + [f"t{i}~noise20dB" for i in (0, 1, 3)]
    assert {source_id(i) for i in ids} <= set(split.train)
    assert train.tracks.y.tolist() == [0, 1, 0, 1] + [0, 1, 1] * 2  # a copy keeps its source's label
    np.testing.assert_array_equal(train.track_frames(4), variants[0][1].track_frames(0))


def test_the_fingerprint_names_the_augmentation_only_when_there_is_one(data):
    from mirlearn.learners.cnn import CNNLearner

    frames, split, variants = data
    plain = learner_inputs(CNNLearner(), frames, split)
    assert "augment" not in plain and "augment" not in plain["learner"]
    aug = learner_inputs(CNNLearner(augment={"mixup_alpha": 0.2}), frames, split, [t for t, _ in variants])
    assert [a["kind"] for a in aug["augment"]] == ["gain", "noise"]
    assert aug["learner"]["augment"] == {"mixup_alpha": 0.2}


def test_training_frames_refuses_a_leak(data, tmp_path, monkeypatch):
    import mirlearn.features.augment.transforms as tr

    frames, split, variants = data
    # a broken id scheme that maps training track tK to the held-out track t(K+4)'s copy
    monkeypatch.setattr(tr, "copy_id", lambda track_id, t: f"t{int(track_id[1:]) + 4}~{t.tag}")
    with pytest.raises(MirlearnError, match="outside the training part"):
        training_frames(frames, split, variants, tmp_path / "train.npy")
