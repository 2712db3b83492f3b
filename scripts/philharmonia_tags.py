"""Write a tagging / regression manifest of the Philharmonia samples from their file names.

The Philharmonia Orchestra's file names give instrument, pitch, length, dynamic and articulation
(``cello_A3_05_forte_arco-normal.mp3``). This turns them into the columns `mirlearn transfer` and
`mirlearn run --task tags` read: ``label`` (the instrument), ``tags`` (its family, its reed when it
has one, its dynamic as loud/soft, its register as low/high) and ``target`` (the MIDI pitch). It is
the real multi-label and regression set of the measurements in the README. The ``track_id`` is
the one a folder dataset gives the same file (``cello/cello_A3_05_forte_arco-normal``), so
split files of runs on the folder apply to the manifest too.

    python scripts/philharmonia_tags.py ../shared/data/philharmonia ph-tags.csv
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

FAMILY = {"bassoon": "woodwind", "clarinet": "woodwind", "cor_anglais": "woodwind", "flute": "woodwind",
          "oboe": "woodwind", "saxophone": "woodwind", "french_horn": "brass", "trombone": "brass",
          "cello": "strings", "double_bass": "strings"}
REED = {"bassoon": "double reed", "oboe": "double reed", "cor_anglais": "double reed", "clarinet": "single reed",
        "saxophone": "single reed"}
LOUD = {"forte", "fortissimo", "mezzo-forte"}
SOFT = {"piano", "pianissimo", "mezzo-piano", "molto-pianissimo"}
SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def midi_pitch(note: str) -> int:
    """``A4`` → 69, ``As2`` (A sharp) → 46, ``Cs5`` → 73."""
    m = re.fullmatch(r"([A-G])(s?)(-?\d)", note)
    if m is None:
        raise ValueError(f"not a note name: {note!r}")
    return 12 * (int(m.group(3)) + 1) + SEMITONE[m.group(1)] + (1 if m.group(2) else 0)


def rows(root: Path):
    for f in sorted(root.glob("*/*.mp3")):
        instrument = f.parent.name
        parts = f.stem.split("_")   # the file's own instrument name, e.g. english-horn in cor_anglais/
        note, dynamic = parts[1], parts[3]
        pitch = midi_pitch(note)
        tags = [FAMILY[instrument]]
        if instrument in REED:
            tags.append(REED[instrument])
        if dynamic in LOUD:
            tags.append("loud")
        elif dynamic in SOFT:
            tags.append("soft")
        tags.append("low register" if pitch < 48 else "high register" if pitch >= 72 else "middle register")
        yield [str(f.resolve()), f"{instrument}/{f.stem}", instrument, ";".join(tags), pitch]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    root, out = Path(argv[0]), Path(argv[1])
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "track_id", "label", "tags", "target"])
        n = 0
        for r in rows(root):
            w.writerow(r)
            n += 1
    print(f"{out}: {n} tracks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
