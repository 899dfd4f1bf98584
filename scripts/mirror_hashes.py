"""The compiled core (src/jpegaudit/_ccore.pyx) records, in `MIRRORS`, the SHA-256 of each
pure-Python module it mirrors. tests/audit/test_compiled_core.py fails when a module changed
since: whoever changes the Python core then changes the compiled one to match (or confirms it
needs nothing), rebuilds, runs the differential tests, and records the new hashes with

    python scripts/mirror_hashes.py --update

Without --update it prints which modules changed since the hashes were recorded."""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "jpegaudit"
PYX = PACKAGE / "_ccore.pyx"
_BLOCK = re.compile(r"^MIRRORS = \{\n(?P<body>.*?)^\}\n", re.M | re.S)
_ENTRY = re.compile(r'^\s+"(?P<module>[^"]+)": "(?P<digest>[0-9a-f]*)",$', re.M)


def recorded() -> dict[str, str]:
    match = _BLOCK.search(PYX.read_text())
    if match is None:
        raise SystemExit(f"no MIRRORS block in {PYX}")
    return {m["module"]: m["digest"] for m in _ENTRY.finditer(match["body"])}


def current(module: str) -> str:
    return hashlib.sha256((PACKAGE / module).read_bytes()).hexdigest()


def changed() -> list[str]:
    return [module for module, digest in recorded().items() if current(module) != digest]


def update() -> None:
    text = PYX.read_text()
    match = _BLOCK.search(text)
    assert match is not None
    body = "".join(f'    "{module}": "{current(module)}",\n' for module in recorded())
    PYX.write_text(text[: match.start("body")] + body + text[match.end("body") :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="record the current hashes")
    args = parser.parse_args(argv)
    if args.update:
        update()
        print(f"recorded {len(recorded())} hashes in {PYX}")
        return 0
    stale = changed()
    for module in stale:
        print(f"changed since the compiled core was checked against it: {module}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
