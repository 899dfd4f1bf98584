"""Reading a policy: a TOML file of its own (`jpegaudit.toml`) or the `[tool.jpegaudit]` table of
`pyproject.toml`. Everything is validated before anything is scanned; every error names the
file and the key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jpegaudit.policy.errors import PolicyError
from jpegaudit.policy.keys import Key, check_table_keys
from jpegaudit.policy.rules import RULE_KINDS, Rule

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

POLICY_VERSION = 1
DEFAULT_POLICY_FILE = "jpegaudit.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = "tool.jpegaudit"

TOP_LEVEL_KEYS = (
    Key(
        "version",
        "int",
        "Version of the policy format. This jpegaudit reads version 1.",
        minimum=POLICY_VERSION,
        maximum=POLICY_VERSION,
        default_doc="1",
    ),
    Key(
        "paths",
        "str-list",
        "What to check when the command gives no PATH, relative to the policy file's folder. "
        "Give each split's folder (`data/train`, `data/val`): a folder's name is its split.",
    ),
)
RULE_ARRAY = "rule"


@dataclass(frozen=True)
class Policy:
    source: str  # the file, as given
    rules: tuple[Rule, ...]
    paths: tuple[str, ...] = ()  # resolved against the policy file's folder
    table: str = ""  # "tool.jpegaudit" when read from pyproject.toml


def _label(source: str, table: str) -> str:
    return f"{source} [{table}]" if table else source


def load_policy(path: str | os.PathLike) -> Policy:
    """Read and validate a policy file; raise PolicyError naming the file (and key) if wrong."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError:
        raise PolicyError(f"policy file {source} not found") from None
    except IsADirectoryError:
        raise PolicyError(f"policy {source} is a directory, not a TOML file") from None
    except OSError as exc:
        raise PolicyError(f"cannot read policy {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{source}: not valid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    table = ""
    if Path(source).name == PYPROJECT:
        table = PYPROJECT_TABLE
        document = document.get("tool", {}).get("jpegaudit")
        if document is None:
            raise PolicyError(f"{source}: has no [{PYPROJECT_TABLE}] table")
        if not isinstance(document, dict):
            raise PolicyError(f"{source}: '{PYPROJECT_TABLE}' must be a table")
    base = os.path.dirname(source)
    return parse_policy(document, source, base_dir=base, table=table)


def parse_policy(
    document: Mapping[str, Any], source: str, *, base_dir: str = "", table: str = ""
) -> Policy:
    """Validate a policy already parsed from TOML (a dict)."""
    label = _label(source, table)
    known = {k.name: k for k in TOP_LEVEL_KEYS}
    known_names = {**known, RULE_ARRAY: Key(RULE_ARRAY, "str", "")}
    check_table_keys(dict(document), known_names, label, what="top-level key")
    values = {k: known[k].convert(v, label) for k, v in document.items() if k in known}
    if RULE_ARRAY not in document:
        raise PolicyError(f"{label}: defines no rules (add a [[rule]] table)")
    tables = document[RULE_ARRAY]
    if isinstance(tables, dict):
        raise PolicyError(f"{label}: 'rule' must be an array of tables: write [[rule]], not [rule]")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise PolicyError(f"{label}: 'rule' must be an array of tables ([[rule]])")
    if not tables:
        raise PolicyError(f"{label}: defines no rules (add a [[rule]] table)")
    rules = _parse_rules(tables, label)
    paths = tuple(
        os.path.normpath(os.path.join(base_dir, p)) if not os.path.isabs(p) else p
        for p in values.get("paths", ())
    )
    return Policy(source=source, rules=rules, paths=paths, table=table)


def _parse_rules(tables: list[dict[str, Any]], label: str) -> tuple[Rule, ...]:
    kinds: list[str] = []
    for index, table in enumerate(tables, start=1):
        where = f"{label}: [[rule]] #{index}"
        if "kind" not in table:
            raise PolicyError(f"{where}: missing required key 'kind' (one of {_kinds()})")
        kind = table["kind"]
        if not isinstance(kind, str):
            raise PolicyError(f"{where}: key 'kind' must be a string, got {kind!r}")
        if kind not in RULE_KINDS:
            raise PolicyError(f"{where}: key 'kind' has unknown value {kind!r} (one of {_kinds()})")
        kinds.append(kind)
    shared = {k for k in kinds if kinds.count(k) > 1}
    rules: list[Rule] = []
    names: dict[str, int] = {}
    for index, (table, kind) in enumerate(zip(tables, kinds, strict=True), start=1):
        where = f"{label}: [[rule]] #{index} ({kind})"
        default = f"{kind}#{index}" if kind in shared else kind
        name = table.get("name", default)
        rule = RULE_KINDS[kind].from_table(table, name=name, index=index, where=where)
        if rule.name in names:
            raise PolicyError(
                f"{where}: key 'name' repeats '{rule.name}' of rule #{names[rule.name]}; "
                "rule names must be unique"
            )
        if not rule.name.strip():
            raise PolicyError(f"{where}: key 'name' must not be blank")
        names[rule.name] = index
        rules.append(rule)
    return tuple(rules)


def _kinds() -> str:
    return ", ".join(RULE_KINDS)


def find_policy(directory: str | os.PathLike = ".") -> str:
    """The policy to use when none is named: `jpegaudit.toml`, else `pyproject.toml` if it has
    a `[tool.jpegaudit]` table."""
    folder = Path(directory)
    own = folder / DEFAULT_POLICY_FILE
    if own.is_file():
        return os.path.relpath(own) if not folder.is_absolute() else str(own)
    pyproject = folder / PYPROJECT
    if pyproject.is_file():
        try:
            with open(pyproject, "rb") as fh:
                has_table = "jpegaudit" in tomllib.load(fh).get("tool", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            has_table = False
        if has_table:
            return os.path.relpath(pyproject) if not folder.is_absolute() else str(pyproject)
    raise PolicyError(
        f"no policy: give --policy FILE, or create {DEFAULT_POLICY_FILE} "
        f"(`jpegaudit check PATH --init` writes one), or a [{PYPROJECT_TABLE}] table in "
        f"{PYPROJECT}"
    )
