"""The core never imports torch: not on `import jpegaudit`, not in a scan, not on importing
the deep package, not in deep mode with the libjpeg-turbo reader. Checked in a fresh interpreter, where an accidental import would show in
sys.modules (meaningful where torch is installed: the torchjpeg environment)."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

SCRIPT = """
import sys
import jpegaudit
from jpegaudit import api
import jpegaudit.deep, jpegaudit.deep.backend, jpegaudit.deep.double, jpegaudit.deep.stats
result = api.scan([sys.argv[1]], sys.argv[2], jobs=1)
assert result.scanned == 2, result
api.audit_file(sys.argv[1] + "/a.jpg")
from jpegaudit.deep import backend, libjpeg_reader
if libjpeg_reader.available():
    assert backend.deep_columns(sys.argv[1] + "/a.jpg")["deep_blocks"] == 6  # 16x16 4:2:0: 4 + 1 + 1
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchjpeg", "torchvision"))
print(",".join(heavy))
"""


def test_import_and_scan_do_not_import_torch(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (16, 16), "red").save(data / "a.jpg", quality=80)
    Image.new("L", (16, 16)).save(data / "b.png")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data), str(tmp_path / "store")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == ""
