"""Tests of the kind settings of FrameSettings (n_mels, fmin, fmax, top_db, n_bins,
bins_per_octave): checked when made, in ``to_dict()`` and cache keys only when they matter."""

from __future__ import annotations

import json
import math

import pytest

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.cache import cache_key
from mirlearn.features.settings import FrameSettingError, FrameSettings

#: ``cache_key`` of one (missing) track with the defaults of each kind, computed before the
#: kind settings existed: these keys name every cache (and fingerprint) made so far.
PINNED_KEYS = {
    "fft": "d0011e2c34ab2a3bb62e0230a9bfbde7e8ac36abdffed82ab2174e2fc539c09b",
    "logmel": "c51612a58fe0488a28f67ef2c7cae4966c913bc4f9f13dbf702fb93cc512cfb0",
    "mfcc": "415e1bd3004ef55757e4042a837e5def63fb83cd98d5db798d785e5e1047bc91",
}
PINNED_KEYS_30S_CENTRED = {  # max_seconds=30; center=True with hop 256
    "fft": ("b5f6392b4946a6a75add070ac2918942d2ba2315de0079dcc0b97d6485f370c4",
            "e865ae18a45678be3211a4e34b0509a04f8bbedc4c700232f11cd7e3da567857"),
    "logmel": ("06b5bc2578a93f5b4e3a5d0da44cef56d08c85fe9fd194aa5fd57b625c8e313b",
               "9615b72b7a25bb8c0fbc506669b415ecdaad4651b5d4b439e2c66c366fa0ae36"),
    "mfcc": ("260194954daf633f89bd7d4f70b6cd61d76ded952afc40a7d9ffb0e5438bcef0",
             "5e45715406d2192d7bbef27f41e975a81c2ccde95245cdc7e0c17b9166afe5a2"),
}
TRACKS = TrackTable([Track("a", "/nonexistent/mirlearn/a.wav", "x")])
BASE = {"sr": 22050, "n_fft": 1024, "hop_length": 512, "window": "hann", "center": False,
        "max_seconds": None}


@pytest.mark.parametrize("kind", ["fft", "logmel", "mfcc"])
def test_dicts_and_cache_keys_of_the_old_kinds_are_unchanged(kind: str) -> None:
    s = FrameSettings(kind=kind)
    assert s.to_dict() == {**BASE, "kind": kind}
    assert cache_key(TRACKS, s) == PINNED_KEYS[kind]
    assert cache_key(TRACKS, s.replace(max_seconds=30.0)) == PINNED_KEYS_30S_CENTRED[kind][0]
    assert cache_key(TRACKS, s.replace(center=True, hop_length=256)) == PINNED_KEYS_30S_CENTRED[kind][1]
    # Settings a kind does not read stay out of its dict and key.
    other = s.replace(n_bins=40, bins_per_octave=24) if kind != "fft" else s.replace(n_mels=40, fmax=8000.0)
    if kind != "logmel":
        other = other.replace(n_mels=40, fmin=50.0, top_db=60.0)
    assert other.to_dict() == s.to_dict() and cache_key(TRACKS, other) == PINNED_KEYS[kind]


def test_kind_settings_enter_dict_and_key_when_they_differ_from_their_defaults() -> None:
    s = FrameSettings(kind="logmel", n_mels=80, fmax=8000, top_db=None)
    d = s.to_dict()
    assert d == {**BASE, "kind": "logmel", "n_mels": 80, "fmax": 8000.0, "top_db": math.inf}
    assert FrameSettings.from_dict(json.loads(json.dumps(d))) == s
    assert len({cache_key(TRACKS, x) for x in (s, s.replace(n_mels=96), s.replace(fmin=20),
                                                s.replace(top_db=60), FrameSettings(kind="logmel"))}) == 5
    c = FrameSettings(kind="cqt")
    assert c.to_dict() == {**BASE, "kind": "cqt"} and c.dim == 80
    c24 = c.replace(bins_per_octave=24, fmin=55)
    assert c24.to_dict() == {**BASE, "kind": "cqt", "bins_per_octave": 24, "fmin": 55.0}
    assert FrameSettings.from_dict(c24.to_dict()) == c24
    assert len({cache_key(TRACKS, x) for x in (c, c24, c.replace(n_bins=84), c.replace(top_db=70))}) == 4
    # The same value as an int or a float is the same setting.
    assert FrameSettings(kind="logmel", fmax=8000) == FrameSettings(kind="logmel", fmax=8000.0)


def test_dims_are_known_before_any_audio() -> None:
    assert FrameSettings(kind="logmel", n_mels=40).dim == 40
    assert FrameSettings(kind="logmel").dim == 128
    assert FrameSettings(kind="cqt", n_bins=84).dim == 84
    assert FrameSettings(kind="mfcc", n_mels=80).dim == 40  # mfcc keeps its own 40 bands


def test_top_db_none_is_stored_as_inf() -> None:
    s = FrameSettings(kind="logmel", top_db=None)
    assert s.top_db == math.inf and s.db_floor is None
    assert FrameSettings(kind="logmel").db_floor == 80.0
    assert s == FrameSettings(kind="logmel", top_db=float("inf"))


@pytest.mark.parametrize("changes, key", [
    ({"kind": "logmel", "n_mels": 0}, "n_mels"),
    ({"kind": "logmel", "n_mels": 40.0}, "n_mels"),
    ({"n_mels": -3}, "n_mels"),  # wrong whatever the kind
    ({"kind": "logmel", "fmax": 12000.0}, "fmax"),  # above sr / 2
    ({"kind": "logmel", "fmin": 4000.0, "fmax": 3000.0}, "fmax"),
    ({"kind": "logmel", "fmin": 4000.0, "fmax": 4000.0}, "fmax"),
    ({"kind": "logmel", "fmin": 11025.0}, "fmin"),  # fmax is sr / 2
    ({"kind": "logmel", "fmin": -1.0}, "fmin"),
    ({"kind": "logmel", "fmax": float("nan")}, "fmax"),
    ({"kind": "logmel", "top_db": 0}, "top_db"),
    ({"kind": "logmel", "top_db": -80.0}, "top_db"),
    ({"kind": "logmel", "top_db": "80"}, "top_db"),
    ({"kind": "cqt", "bins_per_octave": 0}, "bins_per_octave"),
    ({"kind": "cqt", "n_bins": 0}, "n_bins"),
    ({"kind": "cqt", "n_bins": 120}, "n_bins"),  # 10 octaves from C1 pass the Nyquist frequency
    ({"kind": "cqt", "sr": 8000, "n_bins": 84}, "n_bins"),
    ({"kind": "cqt", "fmin": 0.0}, "fmin"),
])
def test_bad_kind_settings_fail_when_made_naming_the_setting(changes: dict, key: str) -> None:
    with pytest.raises(FrameSettingError) as e:
        FrameSettings(**changes)
    assert e.value.key == key and key in str(e.value) and "\n" not in str(e.value)


def test_good_edges_are_accepted() -> None:
    FrameSettings(kind="logmel", fmax=11025.0, fmin=11024.0, n_mels=1)
    FrameSettings(kind="cqt", n_bins=84, fmin=32.70)
    FrameSettings(kind="cqt", n_bins=160, bins_per_octave=24)
    FrameSettings(kind="fft", fmax=30000.0)  # not read by the kind: not checked against sr
