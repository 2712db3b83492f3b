"""Offline augmentation variants: identity, seeding, notes for short tracks, the frame cache."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import ConfigError
from mirlearn.features import cache as cache_mod
from mirlearn.features.augment.transforms import (AudioTransform, copy_id, extract_augmented, offline_transforms,
                                                  source_id)
from mirlearn.features.cache import cache_key, extract_frames
from mirlearn.features.settings import FrameSettings

SR = 22050


def _tone(seconds, f=440.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


@pytest.fixture
def table(tmp_path):
    tracks = []
    for i, (label, seconds) in enumerate([("a", 1.5), ("a", 1.0), ("b", 1.2), ("b", 0.05)]):
        path = tmp_path / f"t{i}.wav"
        sf.write(path, _tone(seconds, 300 + 100 * i), SR)
        tracks.append(Track(f"{label}.{i:05d}", path, label))
    return TrackTable(tracks)


def test_tags_copy_ids_and_their_source():
    t = AudioTransform("time_stretch", 1.2)
    assert t.tag == "stretch1.2" and copy_id("blues.00029", t) == "blues.00029~stretch1.2"
    assert source_id("blues.00029~stretch1.2") == "blues.00029" == source_id("blues.00029")
    assert AudioTransform("pitch_shift", -5).tag == "shift-5"
    assert AudioTransform("gain", 6).tag == "gain+6dB" and AudioTransform("noise", 20).tag == "noise20dB"
    assert AudioTransform("noise", 20, crop_seconds=1.0, segment=2).tag == "noise20dB-seg2"
    assert AudioTransform("time_stretch", 1.2).key() != AudioTransform("time_stretch", 1.5).key()


def test_a_configuration_expands_to_its_variants():
    ts = offline_transforms(time_stretch=[0.5, 1.5], pitch_shift=[2], noise_snr_db=[10], crop_seconds=2.0, segments=3)
    assert len(ts) == (2 + 1 + 1) * 3
    assert len({t.tag for t in ts}) == len(ts)


@pytest.mark.parametrize("kw,match", [
    (dict(time_stretch=[0.0]), "rate"), (dict(time_stretch=[-1.0]), "rate"), (dict(pitch_shift=[25]), "24"),
    (dict(gain_db=[float("nan")]), "finite"), (dict(segments=2), "crop_seconds"),
    (dict(noise_snr_db=[10], crop_seconds=-1.0), "crop_seconds"), (dict(pitch_shift=[2, 2]), "twice"),
    (dict(time_stretch=[1.2], backend="sox"), "sox"),
])
def test_bad_settings_are_one_line_errors(kw, match):
    with pytest.raises(ConfigError, match=match):
        offline_transforms(**kw)
    with pytest.raises(ConfigError, match="unknown augmentation"):
        AudioTransform("reverse", 1.0)


def test_draws_depend_on_seed_segment_and_track_not_on_order():
    y = _tone(1.0)
    t = AudioTransform("noise", 10, crop_seconds=0.5, seed=3)
    a, note = t(y, SR, "x.1")
    assert note is None and len(a) == SR // 2
    np.testing.assert_array_equal(a, t(y, SR, "x.1")[0])
    assert not np.array_equal(a, t(y, SR, "x.2")[0])
    assert not np.array_equal(a, AudioTransform("noise", 10, crop_seconds=0.5, seed=4)(y, SR, "x.1")[0])
    assert not np.array_equal(a, AudioTransform("noise", 10, crop_seconds=0.5, segment=1, seed=3)(y, SR, "x.1")[0])


def test_too_short_tracks_are_used_as_they_are_with_a_note():
    y = _tone(0.05)
    out, note = AudioTransform("time_stretch", 1.5)(y, SR, "x")
    np.testing.assert_array_equal(out, y)
    assert "too short to time stretch" in note
    out, note = AudioTransform("gain", 6.0, crop_seconds=1.0)(y, SR, "x")
    assert len(out) == len(y) and "kept whole" in note


def test_stretch_and_shift_change_duration_and_keep_it():
    y = _tone(1.0)
    assert abs(len(AudioTransform("time_stretch", 2.0)(y, SR, "x")[0]) - SR / 2) <= SR * 0.01
    assert len(AudioTransform("pitch_shift", 2.0)(y, SR, "x")[0]) == len(y)


def test_variants_go_through_the_frame_cache(table, tmp_path, monkeypatch):
    settings = FrameSettings(kind="logmel", n_mels=40, top_db=None)
    plain = extract_frames(table, settings, cache_dir=tmp_path / "c", n_jobs=1, progress=False, skip_bad=True)
    gain = AudioTransform("gain", 6.0)
    assert cache_key(table, settings, transform=gain) != cache_key(table, settings)
    assert cache_key(table, settings) == cache_key(table, settings, transform=None)  # plain keys unchanged
    [(t, louder)] = extract_augmented(table, settings, [gain], cache_dir=tmp_path / "c", n_jobs=2,
                                      progress=False, skip_bad=True, log=lambda s: None)
    assert t is gain
    assert [tr.track_id for tr in louder.tracks] == [copy_id(tr.track_id, gain) for tr in plain.tracks]
    assert louder.tracks.y.tolist() == plain.tracks.y.tolist()
    # +6 dB exactly, where float32 rounding of the FFT is far below the values (> -60 dB)
    loud = np.asarray(plain.X) > -60
    np.testing.assert_allclose(np.asarray(louder.X)[loud], np.asarray(plain.X)[loud] + 6.0, atol=1e-3)
    # a second call reads the cache: nothing is decoded
    monkeypatch.setattr(cache_mod, "_decode", lambda *a: (_ for _ in ()).throw(AssertionError("decoded")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = extract_augmented(table, settings, [gain], cache_dir=tmp_path / "c", skip_bad=True, progress=False,
                                  log=lambda s: None)
    np.testing.assert_array_equal(np.asarray(again[0][1].X), np.asarray(louder.X))


def test_notes_of_a_variant_are_warned_on_every_use(table, tmp_path):
    settings = FrameSettings(kind="logmel", n_mels=40)
    crop = AudioTransform("gain", 0.0, crop_seconds=1.2)  # tracks of 1.0 s are kept whole
    for _ in range(2):
        with pytest.warns(UserWarning, match=r"used as they are: .*t1\.wav: shorter than the 1\.2 s segment"):
            extract_frames(table, settings, cache_dir=tmp_path / "c", n_jobs=1, progress=False, skip_bad=True,
                           transform=crop)
