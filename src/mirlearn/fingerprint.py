"""Fingerprints of the inputs of a stored result, so that a result is reused only for the
inputs that made it.

A fingerprint is a JSON-ready dict of named parts (``data``, ``split``, ``learner``,
``forest``…), each a short hex digest of what it stands for, plus the parts' plain values where
they are small enough to show a user what differs. :func:`differences` names the parts that
differ between a stored fingerprint and the current one, in one line.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Sequence

import numpy as np

from mirlearn.features.frameset import FrameSet

__all__ = ["digest", "frames_digest", "split_digest", "differences", "FINGERPRINT_FORMAT"]

#: Bumped when what a fingerprint covers changes (old results are then recomputed).
FINGERPRINT_FORMAT = 1


def digest(obj: Any) -> str:
    """16 hex digits of the sha256 of ``obj`` as canonical JSON."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def _default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, (tuple, set)):
        return list(o)
    return str(o)


def frames_digest(frames: FrameSet, track_ids: Sequence[str] | None = None) -> str:
    """Digest of the frames of ``track_ids`` (default: all): ids, labels, frame counts, content.

    Content is sampled, not read whole (a GTZAN cache is 2.6 GB): the middle frame of every
    track, so that two datasets whose track ids happen to agree still differ. Reads one row
    per track of a memory map.
    """
    ids = list(frames.tracks.ids) if track_ids is None else list(track_ids)
    h = hashlib.sha256()
    h.update(json.dumps([frames.dim, str(frames.X.dtype), list(frames.tracks.classes)]).encode())
    for t in ids:
        p = frames.tracks.position(t)
        a, b = int(frames.offsets[p]), int(frames.offsets[p + 1])
        h.update(json.dumps([t, frames.tracks[p].label, b - a]).encode())
        if b > a:
            h.update(np.ascontiguousarray(frames.X[(a + b) // 2]).tobytes())
    return h.hexdigest()[:16]


def split_digest(parts: Mapping[str, Sequence[str]]) -> str:
    """Digest of a split's parts (``{"train": ids, "valid": ids, ...}``), order included."""
    return digest({k: list(v) for k, v in parts.items()})


def differences(stored: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """Names of the parts in which ``stored`` and ``current`` differ (``[]``: the same inputs).

    A part present on one side only counts as different; a stored record without a
    fingerprint (made before fingerprints existed) differs in ``"fingerprint"``.
    """
    if not stored:
        return ["fingerprint (none recorded)"]
    out = []
    for key in sorted(set(stored) | set(current)):
        if stored.get(key) != current.get(key):
            out.append(_describe(key, stored.get(key), current.get(key)))
    return out


def _describe(key: str, old: Any, new: Any) -> str:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        shown = ", ".join(f"{k} {old.get(k)!r} → {new.get(k)!r}" for k in keys[:4])
        more = f" (+{len(keys) - 4} more)" if len(keys) > 4 else ""
        return f"{key}: {shown}{more}"
    return key
