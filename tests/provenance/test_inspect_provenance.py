"""`jpegaudit inspect FILE` explains the provenance verdict: the features, the recorded writers
they match, what else the file could be, and why."""

from __future__ import annotations

import json

import pytest
import writers as w
from click.testing import CliRunner

from jpegaudit.cli import main
from jpegaudit.inspect import describe, inspect_file


def _write(tmp_path, name: str, setting: dict):
    writer = w.writer(name)
    if not writer.available():
        pytest.skip(f"{name} not installed")
    path = tmp_path / f"{name}.jpg"
    path.write_bytes(writer.run(w.source_image(40, 24, seed=2), [setting])[0])
    return path


def test_inspect_names_the_writer_and_the_recorded_layout(tmp_path):
    text = describe(inspect_file(_write(tmp_path, "php-gd", {"quality": 60})))
    assert "encoder: gd (exact, its quality setting 60)" in text
    assert "COM segment is gd's signature" in text
    assert "recorded with this layout:" in text and "PHP GD" in text


def test_inspect_of_a_group_lists_the_writers_it_cannot_tell_apart(tmp_path):
    text = describe(inspect_file(_write(tmp_path, "pillow", {})))
    assert "not separable from the header" in text
    assert "OpenCV" in text and "cjpeg" in text


def test_inspect_of_an_unrecorded_layout_shows_the_nearest_and_what_differs(corpora_dir):
    text = describe(inspect_file(corpora_dir / "exif-samples" / "Canon_40D.jpg"))
    assert "EXIF Software 'GIMP 2.4.5' is gimp" in text
    assert "nearest recorded layouts (what differs):" in text
    assert "markers: ours APP0:JFIF APP1:Exif" in text


def test_inspect_json_carries_the_verdict_and_its_explanation(tmp_path):
    path = _write(tmp_path, "pillow", {"quality": 90})
    result = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    provenance = json.loads(result.output)["provenance"]
    assert provenance["encoder"] == "libjpeg" and provenance["quality"] == 90
    assert provenance["explanation"]["layout"].startswith("SOF0|p8|ids=1,2,3")
