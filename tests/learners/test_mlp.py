import numpy as np
import pytest

from mirlearn.errors import MirlearnError
from mirlearn.learners import MLPLearner
from tests.learners.blobs import blobs


def test_fit_transform_save_load(tmp_path, rng):
    fs = blobs(rng)
    ids = fs.tracks.ids
    learner = MLPLearner(hidden=(8, 6, 4), dropout=0.25, lr=0.05, batch_size=32, max_epochs=30,
                             patience=5, progress=False, run_dir=tmp_path / "net")
    learner.fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    # standardisation lives in the net and comes from the training frames only
    train_X = fs.subset(ids[:8]).X
    np.testing.assert_allclose(learner.net_.mean.numpy(), train_X.mean(0), rtol=1e-4, atol=1e-4)
    feats = learner.transform(fs, layers="all")
    assert feats.X.shape == (len(fs.X), 18) and feats.X.dtype == np.float32
    assert np.array_equal(feats.offsets, fs.offsets)
    l2 = learner.transform(fs, layers=2)
    np.testing.assert_allclose(l2.X, feats.X[:, 8:14], rtol=1e-6)
    assert (feats.X >= 0).all()  # ReLU activations, no dropout at transform time
    # memory-mapped output equals in-memory output
    mm = learner.transform(fs, layers="all", out=tmp_path / "f.f32")
    assert isinstance(mm.X, np.memmap)
    np.testing.assert_array_equal(np.asarray(mm.X), feats.X)
    # the net learned the blobs
    acc = (learner.predict_frames(fs).argmax(1) == fs.frame_labels()).mean()
    assert acc > 0.9
    learner.save(tmp_path / "m")
    again = MLPLearner.load(tmp_path / "m")
    np.testing.assert_array_equal(again.transform(fs).X, feats.X)
    assert again.classes_ == ["c0", "c1", "c2"]


def test_transform_before_fit_is_an_error(rng):
    with pytest.raises(MirlearnError, match="not fitted"):
        MLPLearner().transform(blobs(rng))


def test_frame_caps_are_passed_on_and_valid_sample_is_seeded(rng, monkeypatch):
    import mirlearn.nn.train as train_mod

    fs = blobs(rng, n_tracks=12, frames=40)
    ids = fs.tracks.ids
    seen = {}

    def spy(net, X_train, y_train, X_valid, y_valid, config, **kw):
        seen.update(n_train=len(X_train), valid=np.array(X_valid), fpe=config.frames_per_epoch)
        return real(net, X_train, y_train, X_valid, y_valid, config, **kw)

    real = train_mod.train_sgd
    monkeypatch.setattr(train_mod, "train_sgd", spy)
    kw = dict(hidden=(8, 6, 4), lr=0.05, batch_size=32, max_epochs=2, progress=False)
    MLPLearner(**kw, frames_per_epoch=64, max_valid_frames=50).fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    assert seen["n_train"] == 320 and seen["fpe"] == 64 and len(seen["valid"]) == 50
    first = seen["valid"]
    # the validation rows are a subset of the validation frames, the same for the same seed
    valid_X = fs.subset(ids[8:]).X
    assert all((valid_X == row).all(1).any() for row in first)
    MLPLearner(**kw, frames_per_epoch=64, max_valid_frames=50).fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    np.testing.assert_array_equal(seen["valid"], first)
    # a cap above the data size leaves everything in
    MLPLearner(**kw, max_valid_frames=10_000).fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    assert len(seen["valid"]) == 160 and seen["fpe"] is None


def test_from_config_carries_the_frame_caps():
    from mirlearn.config import load_config

    cfg = load_config("sigtia2014-relu-sgd-500", {"training": {"frames_per_epoch": 1000, "max_valid_frames": 500}})
    learner = MLPLearner.from_config(cfg)
    assert learner.frames_per_epoch == 1000 and learner.max_valid_frames == 500
    assert learner.get_params()["frames_per_epoch"] == 1000


def test_get_params_set_params_and_clone_follow_scikit_learn(rng):
    from sklearn.base import clone

    learner = MLPLearner(hidden=(8, 6, 4), dropout=0.25, lr=0.05, seed=3, progress=False)
    params = learner.get_params(deep=True)
    assert params["hidden"] == (8, 6, 4) and params["dropout"] == 0.25 and params["seed"] == 3
    assert learner.get_params(deep=False) == params
    assert learner.set_params(lr=0.1, seed=4) is learner and learner.lr == 0.1 and learner.seed == 4
    twin = clone(learner)
    assert twin is not learner and twin.get_params() == learner.get_params()
    assert not hasattr(twin, "net_")
    with pytest.raises(ValueError):
        learner.set_params(no_such_option=1)


def test_a_clone_of_a_fitted_learner_is_unfitted_and_trains_to_the_same_weights(rng):
    from sklearn.base import clone

    fs = blobs(rng)
    ids = fs.tracks.ids
    kw = dict(hidden=(8, 6, 4), lr=0.05, batch_size=32, max_epochs=3, progress=False)
    a = MLPLearner(**kw).fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    b = clone(a)
    with pytest.raises(MirlearnError, match="not fitted"):
        b.transform(fs)
    b.fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    np.testing.assert_array_equal(a.transform(fs).X, b.transform(fs).X)


def test_layers_are_named_and_known_before_fitting():
    learner = MLPLearner(hidden=(8, 6, 4))
    assert learner.layer_names() == ["1", "2", "3"]
    assert learner.select("all") == ("1", "2", "3") and learner.select(2) == ("2",)
    with pytest.raises(MirlearnError, match="feature layers"):
        learner.select("4")


def test_load_learner_reads_any_family(tmp_path, rng):
    from mirlearn.learners import load_learner

    fs = blobs(rng)
    ids = fs.tracks.ids
    a = MLPLearner(hidden=(8, 6, 4), max_epochs=1, progress=False).fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    a.save(tmp_path / "m")
    b = load_learner(tmp_path / "m")
    assert type(b) is MLPLearner and b.feature_layers_ == {"1": 8, "2": 6, "3": 4}
    np.testing.assert_array_equal(a.transform(fs).X, b.transform(fs).X)
