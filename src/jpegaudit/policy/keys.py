"""Typed keys of a policy table: each key knows its TOML type, its bounds and how to say what is
wrong with a value. Rules declare their keys with these, so that validation, error messages and
the reference in docs/policy.md come from one place."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from jpegaudit.policy.errors import PolicyError

KeyType = Literal["int", "number", "str", "str-list", "number-table"]


def toml_type_name(value: Any) -> str:
    """What a TOML value is, as a user reading their file would call it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__} (TOML date/time)"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Key:
    """One key of a rule (or of the policy's top level)."""

    name: str
    type: KeyType
    doc: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None  # allowed strings (of a str or of each list item)
    pattern: re.Pattern[str] | None = None  # strings also accepted when they match this
    pattern_doc: str = ""  # how docs and messages describe `pattern`
    length: int | None = None  # exact number of items of a list
    default_doc: str = ""  # how docs describe the default when the key is absent

    # -- description ---------------------------------------------------------------------
    def type_doc(self) -> str:
        """The type with its bounds, as docs and error messages spell it."""
        if self.type == "int":
            text = "integer"
        elif self.type == "number":
            text = "number"
        elif self.type == "str":
            text = "string"
        elif self.type == "str-list":
            text = "array of strings" if self.length is None else f"array of {self.length} strings"
        else:
            text = "table of numbers"
        bounds = self._bounds_doc()
        return f"{text} {bounds}" if bounds else text

    def _bounds_doc(self) -> str:
        lo, hi = self.minimum, self.maximum
        if lo is None and hi is None:
            return ""
        fmt = _number_text
        if lo is not None and lo == hi:
            return f"equal to {fmt(lo)}"
        if lo is not None and hi is not None:
            return f"from {fmt(lo)} to {fmt(hi)}"
        if lo is not None:
            return f">= {fmt(lo)}"
        return f"<= {fmt(hi)}"

    def choices_doc(self) -> str:
        parts = []
        if self.choices:
            parts.append(", ".join(self.choices))
        if self.pattern_doc:
            parts.append(self.pattern_doc)
        return "; or ".join(parts)

    # -- validation ----------------------------------------------------------------------
    def convert(self, value: Any, where: str) -> Any:
        """The value as Python wants it, or PolicyError naming `where` (file and table) and
        this key."""
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self._wrong(value, where)
            self._check_bounds(value, where)
            return value
        if self.type == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._wrong(value, where)
            if not math.isfinite(value):
                raise PolicyError(
                    f"{where}: key '{self.name}' must be a finite number, got {value}"
                )
            self._check_bounds(value, where)
            return float(value)
        if self.type == "str":
            if not isinstance(value, str):
                raise self._wrong(value, where)
            self._check_choice(value, where, self.name)
            return value
        if self.type == "str-list":
            if not isinstance(value, list):
                raise self._wrong(value, where)
            if not value:
                raise PolicyError(f"{where}: key '{self.name}' must not be an empty array")
            if self.length is not None and len(value) != self.length:
                raise PolicyError(
                    f"{where}: key '{self.name}' must have exactly {self.length} items, "
                    f"got {len(value)}"
                )
            for i, item in enumerate(value):
                if not isinstance(item, str):
                    raise PolicyError(
                        f"{where}: key '{self.name}' item {i + 1} must be a string, got "
                        f"{_shown(item)} ({toml_type_name(item)})"
                    )
                self._check_choice(item, where, self.name)
            if len(set(value)) != len(value):
                raise PolicyError(f"{where}: key '{self.name}' lists the same value twice")
            return tuple(value)
        # number-table: names are checked by the rule, which knows which names exist
        if not isinstance(value, dict):
            raise self._wrong(value, where)
        if not value:
            raise PolicyError(f"{where}: key '{self.name}' must not be an empty table")
        out = {}
        for name, number in value.items():
            sub = Key(f"{self.name}.{name}", "number", "", minimum=self.minimum)
            out[name] = sub.convert(number, where)
        return out

    def _wrong(self, value: Any, where: str) -> PolicyError:
        return PolicyError(
            f"{where}: key '{self.name}' must be {_article(self.type_doc())}, got "
            f"{_shown(value)} ({toml_type_name(value)})"
        )

    def _check_bounds(self, value: float, where: str) -> None:
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise PolicyError(
                f"{where}: key '{self.name}' must be {self._bounds_doc()}, got {value}"
            )

    def _check_choice(self, value: str, where: str, key: str) -> None:
        if self.choices is None and self.pattern is None:
            return
        if self.choices is not None and value in self.choices:
            return
        if self.pattern is not None and self.pattern.fullmatch(value):
            return
        raise PolicyError(
            f"{where}: key '{key}' has unknown value {value!r} (expected {self.choices_doc()})"
        )


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _article(text: str) -> str:
    return ("an " if text[0] in "aeiou" else "a ") + text


def check_table_keys(
    table: dict[str, Any], known: dict[str, Key], where: str, what: str = "key"
) -> None:
    """Reject keys nobody declared (typos must not silently disable a rule)."""
    for name in table:
        if name not in known:
            raise PolicyError(
                f"{where}: unknown {what} '{name}' (known: {', '.join(sorted(known))})"
            )
    for key in known.values():
        if key.required and key.name not in table:
            raise PolicyError(f"{where}: missing required key '{key.name}' ({key.type_doc()})")
