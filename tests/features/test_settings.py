"""Tests of mirlearn.features.settings: the one frame-settings type, checked when made."""

from __future__ import annotations

import json

import pytest

from mirlearn.features.settings import FrameSettingError, FrameSettings, frame_count
from mirlearn.features.timebase import TimeBase


def test_frame_count() -> None:
    s = FrameSettings()
    assert frame_count(1023, s) == 0
    assert frame_count(1024, s) == 1
    assert frame_count(1535, s) == 1
    assert frame_count(1536, s) == 2
    assert frame_count(661794, s) == 1291  # a GTZAN clip
    assert s.frame_count(661794) == 1291
    c = FrameSettings(center=True)
    assert frame_count(0, c) == 1
    assert frame_count(661794, c) == 1 + 661794 // 512


def test_dict_round_trip_and_old_dicts() -> None:
    s = FrameSettings(max_seconds=30)
    d = s.to_dict()
    assert d == {"sr": 22050, "n_fft": 1024, "hop_length": 512, "window": "hann",
                 "center": False, "kind": "fft", "max_seconds": 30.0}
    assert isinstance(s.max_seconds, float)
    assert FrameSettings.from_dict(json.loads(json.dumps(d))) == s
    # A dict saved before max_seconds was a setting (model.json of older models).
    old = {"sr": 22050, "n_fft": 1024, "hop_length": 512, "window": "hann", "center": False, "kind": "fft"}
    assert FrameSettings.from_dict(old) == FrameSettings()
    with pytest.raises(TypeError):
        FrameSettings.from_dict({**old, "hop": 3})


def test_replace_and_dims() -> None:
    s = FrameSettings(hop_length=256)
    m = s.replace(kind="mfcc")
    assert (m.kind, m.hop_length, m.dim) == ("mfcc", 256, 40)
    assert s.replace(kind="logmel").dim == 128 and s.dim == 513
    assert s.kind == "fft"  # frozen: replace makes a copy
    with pytest.raises(FrameSettingError, match="hop_length"):
        s.replace(hop_length=0)


def test_time_base() -> None:
    tb = FrameSettings(sr=16000, n_fft=400, hop_length=160, center=True, kind="logmel").time_base
    assert tb == TimeBase(16000, 160, "logmel", n_fft=400, center=True)


@pytest.mark.parametrize("changes, key", [
    ({"hop_length": 0}, "hop_length"),
    ({"hop_length": -512}, "hop_length"),
    ({"n_fft": -5}, "n_fft"),
    ({"n_fft": 0}, "n_fft"),
    ({"sr": 0}, "sr"),
    ({"sr": 22050.0}, "sr"),
    ({"sr": True}, "sr"),
    ({"hop_length": 2048}, "hop_length"),  # longer than the frame
    ({"max_seconds": -1}, "max_seconds"),
    ({"max_seconds": 0}, "max_seconds"),
    ({"max_seconds": float("inf")}, "max_seconds"),
    ({"kind": "stft"}, "kind"),
    ({"window": ""}, "window"),
    ({"center": "yes"}, "center"),
])
def test_bad_values_fail_at_once_naming_key_and_value(changes: dict, key: str) -> None:
    with pytest.raises(FrameSettingError) as e:
        FrameSettings(**changes)
    assert isinstance(e.value, ValueError)
    assert e.value.key == key and e.value.value == changes[key]
    assert key in str(e.value) and repr(changes[key]) in str(e.value) and "\n" not in str(e.value)


def test_unknown_kind_message_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown frame kind; known: fft, logmel, mfcc, cqt"):
        FrameSettings(kind="stft")
