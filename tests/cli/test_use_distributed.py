"""``embed`` under 2 gloo ranks: each rank writes the files of its share of the inputs; the
files, the combined file and the exit status are those of one process."""

from __future__ import annotations

import numpy as np

from mirlearn.cli import main


def test_embed_on_two_ranks_writes_what_one_process_writes(tiny_model, tiny, ranks, tmp_path, capsys):
    songs = sorted(tiny.rglob("*.wav"))[:5]
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    one = tmp_path / "one"
    assert main(["embed", str(tiny_model), *map(str, songs), "--out", str(one), "--no-progress", "-j", "1"]) == 0
    capsys.readouterr()

    two = tmp_path / "two"
    argv = ["-m", "mirlearn", "embed", str(tiny_model), *map(str, songs), str(bad), "--out", str(two),
            "--no-progress", "-j", "1"]
    (rc0, out0, err0), (rc1, out1, err1) = ranks(argv).wait(timeout=300)
    assert rc0 == rc1 == 1, (err0[-2000:], err1[-2000:])  # one unreadable file: the partial status, on both
    assert "embeddings of 5 files" in out0 and out1 == ""
    # the rank that tried the file names it; rank 0 closes with the job's count
    assert (err0 + err1).count("broken.wav") == 1 and "1 of 6 files could not be read" in err0
    assert "could not be read" not in err1  # rank 0's closing line speaks for the job
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())
    for f in one.iterdir():
        with np.load(f) as a, np.load(two / f.name) as b:
            for k in a.files:
                if a[k].dtype.kind == "f":
                    np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6)
                else:
                    assert np.array_equal(a[k], b[k]), k

    combined = tmp_path / "all.npz"
    argv = ["-m", "mirlearn", "embed", str(tiny_model), *map(str, songs), "--out", str(combined), "--no-progress",
            "-j", "1"]
    (rc0, _, err0), (rc1, _, _) = ranks(argv).wait(timeout=300)
    assert rc0 == rc1 == 0, err0[-2000:]
    alone = tmp_path / "alone.npz"
    assert main(["embed", str(tiny_model), *map(str, songs), "--out", str(alone), "--no-progress", "-j", "1"]) == 0
    with np.load(combined) as a, np.load(alone) as b:
        assert a.files == b.files
        for k in a.files:  # the inputs' order, not the ranks'
            if a[k].dtype.kind == "f":
                np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6)
            else:
                assert np.array_equal(a[k], b[k]), k
