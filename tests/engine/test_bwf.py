"""Broadcast Wave bext chunk: EBU Tech 3285 v2 layout, round trip, and an independent reader (mediainfo)."""

import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.bwf import (
    BextInfo,
    coding_history_line,
    encode_bext,
    read_bext,
    riff_chunks,
    write_bext,
)
from shellac.engine.errors import AudioLoadError

HISTORY = (coding_history_line(sample_rate=22050, bit_depth=16, channels=1, text="master a.wav")
           + coding_history_line(sample_rate=48000, bit_depth=24, channels=2, text="Shellac 0.1.0 tag"))
INFO = BextInfo(
    description="Song A, Enrico Caruso, 1907. Restored access copy.",
    originator="Shellac 0.1.0", originator_reference="XXSHL0123456789AB101112123456789",
    origination_date="2024-05-06", origination_time="10-11-12", time_reference=2**33 + 5,
    loudness_value=-23.0, coding_history=HISTORY,
)


def _wav(path: Path, frames: int = 1001) -> Path:
    data = 0.1 * np.random.default_rng(0).standard_normal((frames, 2))
    sf.write(path, data, 48000, subtype="PCM_24")
    return path


def test_body_layout_follows_tech_3285() -> None:
    body = encode_bext(INFO)
    assert len(body) == 602 + len(HISTORY)
    assert body[:12] == b"Song A, Enri" and body[256:269] == b"Shellac 0.1.0"
    assert body[320:330] == b"2024-05-06" and body[330:338] == b"10-11-12"
    assert struct.unpack_from("<IIH", body, 338) == (5, 2, 2)  # time reference low/high, version 2
    assert struct.unpack_from("<5h", body, 412) == (-2300, 0x7FFF, 0x7FFF, 0x7FFF, 0x7FFF)
    assert body[602:] == HISTORY.encode("ascii")
    assert HISTORY == ("A=PCM,F=22050,W=16,M=mono,T=master a.wav\r\n"
                       "A=PCM,F=48000,W=24,M=stereo,T=Shellac 0.1.0 tag\r\n")


def test_round_trip_places_bext_before_data_with_right_sizes(tmp_path: Path) -> None:
    path = _wav(tmp_path / "x.wav")
    before = sf.read(path)[0]
    write_bext(path, INFO)
    write_bext(path, INFO)  # replacing, not stacking
    chunks = riff_chunks(path)
    assert [c.id for c in chunks] == ["fmt ", "bext", "data"]
    assert sum(8 + c.size + (c.size & 1) for c in chunks) + 12 == path.stat().st_size
    raw = path.read_bytes()
    assert struct.unpack_from("<I", raw, 4)[0] == path.stat().st_size - 8
    bext = chunks[1]
    assert bext.size % 2 == 1 and raw[bext.offset + bext.size] == 0  # odd body, pad byte
    assert read_bext(path) == BextInfo(**{**INFO.__dict__, "umid": b""})
    np.testing.assert_array_equal(sf.read(path)[0], before)


def test_fields_are_folded_to_ascii_and_truncated(tmp_path: Path) -> None:
    path = _wav(tmp_path / "y.wav")
    write_bext(path, BextInfo(description="Gigli – Ché gelida manina " * 20, originator="Ö" * 40))
    back = read_bext(path)
    assert len(back.description) == 256 and back.description.startswith("Gigli  Che gelida")
    assert back.originator == "O" * 32


def test_missing_bext_and_non_wave_are_refused(tmp_path: Path) -> None:
    path = _wav(tmp_path / "z.wav")
    with pytest.raises(AudioLoadError, match="no bext chunk"):
        read_bext(path)
    (tmp_path / "n.wav").write_bytes(b"OggS" + b"\0" * 40)
    with pytest.raises(AudioLoadError, match="not a RIFF/WAVE"):
        riff_chunks(tmp_path / "n.wav")


@pytest.mark.skipif(shutil.which("mediainfo") is None,
                    reason="mediainfo is not installed (apt-get install mediainfo; `make` does it)")
def test_mediainfo_reads_description_originator_and_history(tmp_path: Path) -> None:
    path = _wav(tmp_path / "m.wav")
    write_bext(path, INFO)
    out = subprocess.run(["mediainfo", "--Output=JSON", str(path)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    general = json.loads(out)["media"]["track"][0]
    assert general["Description"] == INFO.description
    assert general["Producer"] == INFO.originator
    assert general["Encoded_Date"] == "2024-05-06 10-11-12"
    # mediainfo joins the CR/LF-terminated history lines with " / ".
    assert general["Encoded_Library_Settings"] == " / ".join(HISTORY.strip().split("\r\n"))
    assert general["extra"]["bext_Version"] == "2"
