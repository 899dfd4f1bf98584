"""What a check found: one outcome per rule, and the report over all of them. Plain frozen
dataclasses; the formatters turn them into text, JSON, JUnit XML or GitHub annotations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from jpegaudit.exit_codes import EXIT_PASS, EXIT_VIOLATION

Status = Literal["pass", "fail", "warn"]


@dataclass(frozen=True)
class Example:
    """One file that breaks a rule, and what about it does."""

    path: str
    detail: str


@dataclass(frozen=True)
class DriftMeasurement:
    """One setting of a drift rule: the distance between the two splits and its limit."""

    setting: str
    metric: str
    distance: float | None  # None: undefined (a split has no values for this setting)
    limit: float
    n_a: int  # files with a value for the setting in the first split
    n_b: int
    unit: str = ""  # "share of files", "quality points", "log2 (doublings)"
    detail: str = ""  # what moved most ("4:2:0: 90.0% -> 60.0%", "median 90 -> 60")

    @property
    def exceeded(self) -> bool:
        return self.distance is not None and self.distance > self.limit


@dataclass(frozen=True)
class RuleOutcome:
    name: str
    kind: str
    severity: Literal["error", "warning"]
    passed: bool
    message: str  # one line: what was found, against what was tolerated
    checked: int  # files the rule could judge (drift: settings compared)
    violations: int  # files breaking it (drift: settings over their limit)
    unit: Literal["files", "settings"] = "files"
    tolerated: str = "none"  # how much was tolerated, for humans ("3 files", "1%")
    scope: str = ""  # "" when the rule covers every file checked
    description: str = ""  # the policy author's why, if given
    examples: tuple[Example, ...] = ()
    measurements: tuple[DriftMeasurement, ...] = ()

    @property
    def status(self) -> Status:
        if self.passed:
            return "pass"
        return "fail" if self.severity == "error" else "warn"

    @property
    def fraction(self) -> float | None:
        return self.violations / self.checked if self.checked else None


@dataclass(frozen=True)
class ScanSummary:
    """What the scan before the check did (None when the check ran on a store as it was)."""

    scanned: int
    unchanged: int
    removed: int
    errors: int
    elapsed_s: float


@dataclass(frozen=True)
class CheckReport:
    outcomes: tuple[RuleOutcome, ...]
    files: int  # rows the policy was evaluated on
    files_by_split: dict[str, int] = field(default_factory=dict)
    policy: str = ""  # where the policy came from ("jpegaudit.toml", "pyproject.toml")
    store: str = ""
    scan: ScanSummary | None = None
    elapsed_s: float = 0.0

    @property
    def failed(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "fail")

    @property
    def warned(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "warn")

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        """0 when every error-severity rule holds, 1 when one does not (warnings never fail)."""
        return EXIT_PASS if self.passed else EXIT_VIOLATION
