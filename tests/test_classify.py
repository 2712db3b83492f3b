"""Tests of mirlearn.classify: voting, the track forest, metrics and the predictions CSV."""

from __future__ import annotations

import csv
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from mirlearn.classify import (Metrics, TrackForestClassifier, confusion_matrix, evaluate_tracks,
                               format_confusion, mean_per_track, stratified_subsample, vote,
                               write_predictions)
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import ConfigError
from mirlearn.features.frameset import FrameSet

CLASSES = ["blues", "jazz", "rock"]


def make_frameset(rng: np.random.Generator, labels: list[str], lengths: list[int], *, dim: int = 8,
                  classes: list[str] | None = CLASSES, sep: float = 4.0, prefix: str = "t",
                  noise_labels: bool = False) -> FrameSet:
    """Tracks whose frames sit around a class-specific centre (separable when ``sep`` is large)."""
    tracks = TrackTable([Track(f"{prefix}{i:03d}", Path("x"), lab) for i, lab in enumerate(labels)], classes)
    centres = {c: sep * np.eye(dim, dtype=np.float32)[k % dim] for k, c in enumerate(CLASSES)}
    parts = []
    for lab, n in zip(labels, lengths):
        centre = np.zeros(dim, np.float32) if noise_labels else centres[lab]
        parts.append(centre + rng.standard_normal((n, dim), dtype=np.float32))
    X = np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return FrameSet(X.astype(np.float32), offsets, tracks)


def small_forest(**kw) -> TrackForestClassifier:
    kw.setdefault("n_estimators", 20)
    kw.setdefault("n_jobs", 2)
    kw.setdefault("random_state", 0)
    return TrackForestClassifier(**kw)


# -- vote ----------------------------------------------------------------------------------

def test_vote_majority_and_scores():
    pred = np.array([0, 1, 1, 2, 2, 2, 0])
    offsets = np.array([0, 3, 7])
    track_pred, scores = vote(pred, offsets, 3)
    assert track_pred.tolist() == [1, 2]
    assert track_pred.dtype == np.int64
    np.testing.assert_allclose(scores, [[1 / 3, 2 / 3, 0], [1 / 4, 0, 3 / 4]])


def test_vote_from_probabilities_uses_argmax_per_frame():
    proba = np.array([[0.6, 0.4, 0.0], [0.1, 0.2, 0.7], [0.2, 0.1, 0.7]])
    track_pred, _ = vote(proba, np.array([0, 3]), 3)
    assert track_pred.tolist() == [2]


def test_vote_tie_broken_by_summed_probabilities():
    # Two votes each for class 0 and class 2; class 2 has the larger summed probability.
    proba = np.array([
        [0.40, 0.35, 0.25],
        [0.40, 0.30, 0.30],
        [0.05, 0.05, 0.90],
        [0.10, 0.10, 0.80],
    ])
    track_pred, scores = vote(proba, np.array([0, 4]), 3)
    assert track_pred.tolist() == [2]
    np.testing.assert_allclose(scores, [[0.5, 0.0, 0.5]])
    # class 1 has the largest summed probability of all but is not tied: it cannot win
    proba2 = np.array([[0.5, 0.45, 0.05], [0.04, 0.45, 0.51]])
    assert vote(proba2, np.array([0, 2]), 3)[0].tolist() == [2]


def test_vote_tie_broken_by_lowest_index_without_probabilities():
    pred = np.array([2, 1, 1, 2, 0, 3, 3, 0])
    track_pred, _ = vote(pred, np.array([0, 4, 8]), 4)
    assert track_pred.tolist() == [1, 0]


def test_vote_tie_with_equal_probability_sums_takes_lowest_index():
    proba = np.array([[0.0, 0.75, 0.25], [0.0, 0.25, 0.75]])
    assert vote(proba, np.array([0, 2]), 3)[0].tolist() == [1]


def test_vote_empty_track_raises_naming_it():
    with pytest.raises(ValueError, match="track 1 has no frames"):
        vote(np.array([0, 1, 1]), np.array([0, 3, 3]), 2)
    with pytest.raises(ValueError, match="'b'"):
        vote(np.zeros((3, 2)), np.array([0, 3, 3]), 2, track_ids=["a", "b"])


def test_vote_bad_input():
    with pytest.raises(ValueError, match="class indices"):
        vote(np.array([0, 3]), np.array([0, 2]), 3)
    with pytest.raises(ValueError, match="columns"):
        vote(np.zeros((2, 2)), np.array([0, 2]), 3)
    with pytest.raises(ValueError, match="offsets"):
        vote(np.array([0, 1]), np.array([0, 3]), 3)


def test_vote_no_tracks():
    pred, scores = vote(np.zeros(0, np.int64), np.array([0]), 3)
    assert pred.shape == (0,) and scores.shape == (0, 3)


def test_vote_matches_loop(rng):
    lengths = rng.integers(1, 30, size=50)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    proba = rng.dirichlet(np.ones(4), size=int(offsets[-1]))
    got, _ = vote(proba, offsets, 4)
    for i in range(50):
        p = proba[offsets[i]:offsets[i + 1]]
        counts = np.bincount(p.argmax(1), minlength=4)
        tied = np.flatnonzero(counts == counts.max())
        sums = p.sum(0)
        assert got[i] == tied[np.argmax(sums[tied])]


def test_mean_per_track():
    v = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(mean_per_track(v, np.array([0, 2, 3])), [[0.5, 0.5], [1.0, 1.0]])


# -- stratified subsampling -------------------------------------------------------------------

def test_subsample_reproducible_and_stratified():
    lengths = np.array([100, 3, 50, 0, 200])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    a = stratified_subsample(offsets, 60, random_state=7)
    b = stratified_subsample(offsets, 60, random_state=7)
    c = stratified_subsample(offsets, 60, random_state=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(a) == 60 and np.all(np.diff(a) > 0)
    per_track = np.bincount(np.searchsorted(offsets, a, side="right") - 1, minlength=5)
    # the short track gives all 3 frames; the others share the remaining 57 equally
    assert per_track[1] == 3 and per_track[3] == 0
    assert sorted(per_track[[0, 2, 4]].tolist()) == [19, 19, 19]


def test_subsample_every_track_contributes_and_limits():
    offsets = np.array([0, 10, 20, 30])
    rows = stratified_subsample(offsets, 4, random_state=0)
    counts = np.bincount(rows // 10, minlength=3)
    assert counts.min() >= 1 and counts.sum() == 4
    np.testing.assert_array_equal(stratified_subsample(offsets, 1000), np.arange(30))
    with pytest.raises(ValueError, match="every track"):
        stratified_subsample(offsets, 2)


def test_fit_with_max_train_frames(rng):
    fs = make_frameset(rng, ["blues", "jazz", "rock"] * 4, [200] * 12)
    clf = small_forest(max_train_frames=600).fit(fs)
    assert clf.n_train_frames_ == 600
    again = small_forest(max_train_frames=600).fit(fs)
    np.testing.assert_array_equal(clf.predict_frames(fs), again.predict_frames(fs))
    assert clf.score(fs) == 1.0


# -- the track forest --------------------------------------------------------------------------

def test_max_samples_rows_per_tree(rng):
    fs = make_frameset(rng, ["blues", "jazz", "rock"] * 4, [200] * 12)
    # An int is a number of frames per tree: each tree is grown on exactly that many draws.
    clf = small_forest(max_samples=150).fit(fs)
    assert clf.forest_.max_samples == 150 and clf.n_train_frames_ == 2400
    assert all(t.tree_.weighted_n_node_samples[0] == 150 for t in clf.forest_.estimators_)
    # More rows per tree than there are frames means a full bootstrap (no error from sklearn).
    full = small_forest(max_samples=10**6).fit(fs)
    assert full.forest_.max_samples is None
    assert all(t.tree_.weighted_n_node_samples[0] == 2400 for t in full.forest_.estimators_)
    assert small_forest(max_samples=0.5).fit(fs).forest_.max_samples == 0.5
    with pytest.raises(ValueError, match="max_samples"):
        small_forest(max_samples=0).fit(fs)


def test_separable_features_give_perfect_track_accuracy(rng):
    labels = ["blues", "jazz", "rock"] * 5
    train = make_frameset(rng, labels, rng.integers(80, 160, size=15).tolist())
    test = make_frameset(rng, labels[:9], rng.integers(50, 100, size=9).tolist(), prefix="u")
    clf = small_forest().fit(train)
    assert clf.classes_.tolist() == CLASSES
    assert clf.predict(test).tolist() == test.tracks.y.tolist()
    assert clf.score(test) == 1.0
    proba = clf.predict_proba(test)
    assert proba.shape == (9, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert np.all(proba.argmax(1) == test.tracks.y)
    p = clf.predict_tracks(test)
    np.testing.assert_array_equal(p.pred, test.tracks.y)
    assert p.frame_pred.shape == (len(test.X),)
    m = evaluate_tracks(test.tracks.y, p.pred, clf.classes_, test.frame_labels(), p.frame_pred)
    assert m.accuracy == 1.0 and m.frame_accuracy > 0.95


def test_chunked_prediction_equals_unchunked(rng):
    fs = make_frameset(rng, ["blues", "jazz", "rock"] * 3, [150] * 9, sep=1.0)
    clf = small_forest(n_jobs=1).fit(fs)
    whole = clf.predict_frames(fs, chunk_rows=len(fs.X))
    np.testing.assert_array_equal(clf.predict_frames(fs, chunk_rows=97), whole)
    np.testing.assert_array_equal(clf.predict_frames(fs), whole)


def test_predict_on_memmap(rng, tmp_path):
    fs = make_frameset(rng, ["blues", "jazz", "rock"] * 2, [100] * 6)
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=fs.X.shape)
    mm[:] = fs.X
    mm.flush()
    fs_mm = FrameSet(np.load(tmp_path / "X.npy", mmap_mode="r"), fs.offsets, fs.tracks)
    clf = small_forest(n_jobs=1, chunk_rows=128).fit(fs_mm)
    np.testing.assert_array_equal(clf.predict_frames(fs_mm), small_forest(n_jobs=1).fit(fs).predict_frames(fs))


def test_classes_fixed_from_track_table(rng):
    train = make_frameset(rng, ["blues", "jazz", "rock"] * 4, [100] * 12)
    clf = small_forest().fit(train)
    # a test set without jazz, whose own table knows only its own labels
    test = make_frameset(rng, ["rock", "blues", "rock"], [60] * 3, classes=None, prefix="u")
    assert test.tracks.classes == ["blues", "rock"]
    assert clf.predict(test).tolist() == [2, 0, 2]
    assert clf.track_targets(test).tolist() == [2, 0, 2]
    assert clf.score(test) == 1.0
    assert clf.predict_proba(test).shape == (3, 3)


def test_class_without_training_tracks_keeps_its_column(rng):
    train = make_frameset(rng, ["blues", "rock"] * 4, [100] * 8)  # table classes include jazz
    clf = small_forest().fit(train)
    assert clf.n_classes_ == 3
    proba = clf.predict_frames(train)
    assert proba.shape == (len(train.X), 3)
    assert np.all(proba[:, 1] == 0)
    assert clf.predict(train).tolist() == train.tracks.y.tolist()


def test_unknown_label_in_score_raises(rng):
    clf = small_forest().fit(make_frameset(rng, ["blues", "jazz"] * 2, [50] * 4, classes=["blues", "jazz"]))
    test = make_frameset(rng, ["rock"], [20], classes=None)
    with pytest.raises(ValueError, match="rock"):
        clf.score(test)


def test_determinism_with_random_state(rng):
    fs = make_frameset(rng, ["blues", "jazz", "rock"] * 3, [120] * 9, noise_labels=True)
    a = small_forest(random_state=3).fit(fs).predict_frames(fs)
    b = small_forest(random_state=3).fit(fs).predict_frames(fs)
    c = small_forest(random_state=4).fit(fs).predict_frames(fs)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)  # thread order may change the last bit
    assert not np.allclose(a, c)


def test_empty_test_track_is_named(rng):
    clf = small_forest().fit(make_frameset(rng, ["blues", "jazz", "rock"], [50] * 3))
    test = make_frameset(rng, ["blues", "jazz"], [10, 0], prefix="u")
    with pytest.raises(ValueError, match="'u001'"):
        clf.predict(test)


def test_wrong_dimension_and_not_fitted(rng):
    from sklearn.exceptions import NotFittedError

    fs = make_frameset(rng, ["blues", "jazz"], [30, 30])
    with pytest.raises(NotFittedError):
        small_forest().predict(fs)
    clf = small_forest().fit(fs)
    with pytest.raises(ValueError, match="features"):
        clf.predict(make_frameset(rng, ["blues"], [5], dim=4))


@pytest.mark.parametrize("spec", ["extra_trees", "hist_gradient_boosting", "instance"])
def test_other_backends(rng, spec):
    fs = make_frameset(rng, ["blues", "jazz", "rock"] * 3, [80] * 9)
    if spec == "instance":
        from sklearn.ensemble import ExtraTreesClassifier

        est = ExtraTreesClassifier(n_estimators=10, random_state=0)
        clf = TrackForestClassifier(estimator=est).fit(fs)
        assert clf.forest_ is not est and isinstance(clf.forest_, ExtraTreesClassifier)
    else:
        clf = small_forest(backend=spec, n_estimators=10).fit(fs)
    assert clf.score(fs) == 1.0


def test_unknown_backend():
    fs = make_frameset(np.random.default_rng(0), ["blues"], [5])
    with pytest.raises(ConfigError, match="backend"):
        small_forest(backend="xgboost").fit(fs)


def test_sklearn_parameter_contract(rng):
    from sklearn.base import clone

    clf = TrackForestClassifier(n_estimators=7, max_features=0.5, max_train_frames=100)
    params = clf.get_params()
    assert params["n_estimators"] == 7 and params["max_features"] == 0.5 and params["backend"] == "sklearn"
    c2 = clone(clf)
    assert c2.get_params() == params and c2 is not clf
    clf.set_params(min_samples_leaf=5)
    assert clf.min_samples_leaf == 5
    with pytest.raises(ValueError, match="invalid parameter"):
        clf.set_params(n_trees=3)
    assert "n_estimators=7" in repr(clf) and "backend" not in repr(clf)
    fitted = small_forest().fit(make_frameset(rng, ["blues", "jazz"], [40, 40]))
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored.classes_.tolist() == fitted.classes_.tolist()


def test_import_does_not_load_sklearn():
    import subprocess

    code = "import sys, mirlearn.classify; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- metrics -----------------------------------------------------------------------------------

def test_evaluate_tracks_hand_example():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2, 2, 0, 2])
    m = evaluate_tracks(y_true, y_pred, CLASSES)
    assert m.n_tracks == 9
    assert m.accuracy == pytest.approx(6 / 9)
    np.testing.assert_allclose(m.per_class_accuracy, [2 / 3, 1 / 2, 3 / 4])
    assert m.confusion.tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 3]]
    assert m.frame_accuracy is None
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 3), m.confusion)


def test_evaluate_tracks_frames_and_absent_class():
    m = evaluate_tracks(np.array([0, 0]), np.array([0, 2]), CLASSES,
                        frame_true=np.array([0, 0, 0, 0]), frame_pred=np.array([0, 1, 0, 2]))
    assert m.frame_accuracy == 0.5 and m.n_frames == 4
    assert np.isnan(m.per_class_accuracy[1])
    d = m.to_dict()
    text = json.dumps(d, allow_nan=False)  # JSON-able, no NaN
    assert d["per_class_accuracy"] == {"blues": 0.5, "jazz": None, "rock": None}
    back = Metrics.from_dict(json.loads(text))
    np.testing.assert_array_equal(back.confusion, m.confusion)
    assert back.accuracy == m.accuracy and back.frame_accuracy == 0.5
    with pytest.raises(ValueError, match="both"):
        evaluate_tracks(np.array([0]), np.array([0]), CLASSES, frame_true=np.array([0]))


def test_format_confusion():
    conf = np.array([[2, 1, 0], [0, 1, 1], [0, 0, 0]])
    text = format_confusion(conf, CLASSES)
    lines = text.splitlines()
    assert len(lines) == 2 + 3
    assert lines[0].startswith("true \\ pred")
    assert lines[2].split() == ["blues", "2", "1", "0", "66.7"]
    assert lines[4].split() == ["rock", "0", "0", "0", "-"]
    assert "50.0" in format_confusion(conf, CLASSES, normalize=True).splitlines()[3]
    m = evaluate_tracks(np.array([0, 1]), np.array([0, 1]), CLASSES)
    assert m.format_confusion() == format_confusion(m.confusion, CLASSES)
    assert "100.00 %" in m.summary()


def test_write_predictions(tmp_path):
    path = tmp_path / "sub" / "predictions.csv"
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    write_predictions(path, ["a,1", "b"], np.array([0, 1]), np.array([0, 2]), scores, CLASSES)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["track_id"] == "a,1" and rows[0]["true"] == "blues" and rows[0]["correct"] == "1"
    assert rows[1]["predicted"] == "rock" and rows[1]["correct"] == "0"
    assert float(rows[1]["score:rock"]) == 0.6
    assert [p.name for p in path.parent.iterdir()] == ["predictions.csv"]  # no temporary left
    write_predictions(path, ["c"], None, np.array([1]), None, CLASSES)
    rows = list(csv.DictReader(open(path, newline="")))
    assert rows == [{"track_id": "c", "true": "", "predicted": "jazz", "correct": ""}]
    with pytest.raises(ValueError, match="scores"):
        write_predictions(path, ["c"], None, np.array([1]), np.zeros((1, 2)), CLASSES)


# -- progress of a fit (issue #11, finding 7) -------------------------------------------------

def _same_trees(a, b) -> bool:
    """Tree by tree: same structure, thresholds and leaf values (bitwise)."""
    if len(a.estimators_) != len(b.estimators_):
        return False
    for ta, tb in zip(a.estimators_, b.estimators_):
        x, y = ta.tree_, tb.tree_
        for name in ("children_left", "children_right", "feature", "threshold", "value"):
            if not np.array_equal(getattr(x, name), getattr(y, name)):
                return False
    return True


@pytest.mark.parametrize("kw", [{"max_samples": 300}, {"backend": "extra_trees"},
                                {"backend": "extra_trees", "max_samples": 0.5}])
def test_fit_in_chunks_with_progress_is_the_one_shot_forest(rng, kw, capsys, monkeypatch):
    """Growing the trees in warm-start chunks (to show progress) gives the trees of one fit, so
    the same predictions (compared with one job: scikit-learn sums the trees' probabilities in
    whatever order its threads finish)."""
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    fs = make_frameset(rng, ["blues", "jazz", "rock"] * 4, [100] * 12, noise_labels=True)
    one = small_forest(n_estimators=23, random_state=7, **kw).fit(fs)
    assert capsys.readouterr().err == ""  # no progress unless asked
    chunked = small_forest(n_estimators=23, random_state=7, **kw).fit(fs, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[-1].startswith("forest: 23/23 trees (100%)")
    assert chunked.forest_.n_estimators == 23 and not chunked.forest_.warm_start
    assert _same_trees(one.forest_, chunked.forest_)
    one.forest_.set_params(n_jobs=1)
    chunked.forest_.set_params(n_jobs=1)
    np.testing.assert_array_equal(one.predict_frames(fs), chunked.predict_frames(fs))


def test_fit_progress_of_an_estimator_without_tree_seeds_is_two_lines(rng, capsys):
    fs = make_frameset(rng, ["blues", "jazz", "rock"] * 3, [60] * 9)
    small_forest(backend="hist_gradient_boosting", n_estimators=5).fit(fs, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("forest: fitting HistGradientBoostingClassifier on 540 rows") \
        and lines[1].startswith("forest: fitted in ")
    small_forest(random_state=np.random.RandomState(0)).fit(fs, progress=True)  # a RandomState: one fit
    assert len(capsys.readouterr().err.splitlines()) == 2
