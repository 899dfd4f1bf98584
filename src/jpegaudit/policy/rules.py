"""Policy rules: one small class per kind. A file rule says which rows it can judge and which of
those break it; the shared `evaluate` does the scoping, counting, tolerance and examples, so
adding a check is adding a class (and a line in RULE_KINDS). Drift rules compare two splits
with the distances of `jpegaudit.analysis.drift`, the ones the report shows."""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from jpegaudit import sniff
from jpegaudit.analysis import vocabulary
from jpegaudit.jpeg import describe
from jpegaudit.policy.errors import CheckError, PolicyError
from jpegaudit.policy.keys import Key, check_table_keys
from jpegaudit.policy.report import DriftMeasurement, Example, RuleOutcome

if TYPE_CHECKING:
    import pandas as pd

# Vocabularies of the store's columns (docs/store-schema.md), from the modules that produce
# them, so that a typo in a policy is an error instead of a value that never matches.
FORMATS = sniff.FORMATS
COLORS = describe.COLOR_MODELS
SUBSAMPLINGS = describe.SUBSAMPLING_NAMES
RAW_FACTORS = re.compile(r"[1-4]x[1-4](,[1-4]x[1-4])+")
PROCESSES = describe.PROCESSES
SEVERITIES = ("error", "warning")


# -- scope and tolerance ----------------------------------------------------------------------
def glob_to_regex(pattern: str) -> str:
    """A path glob as a regular expression: `*` and `?` stay within one folder, `**` crosses
    folders, `[...]` is a character class. The glob matches the whole path or any tail of it
    that starts after a `/`, so `train/**` matches `data/train/a.jpg` and `/abs/data/train/a.jpg`
    alike (paths are shown as reached from the argument given, relative or absolute)."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "(?:.*/)?" + "".join(out)


def _compile_globs(globs: tuple[str, ...] | None, key: str, where: str) -> re.Pattern[str] | None:
    if not globs:
        return None
    try:
        return re.compile("|".join(f"(?:{glob_to_regex(g)})" for g in globs), re.DOTALL)
    except re.error as exc:
        raise PolicyError(f"{where}: key '{key}' holds a glob that is not valid: {exc}") from None


@dataclass(frozen=True)
class Scope:
    """Which rows a rule looks at: splits and path globs (include, then exclude)."""

    splits: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    exclude: tuple[str, ...] | None = None
    paths_regex: re.Pattern[str] | None = None
    exclude_regex: re.Pattern[str] | None = None

    @classmethod
    def build(cls, splits, paths, exclude, where: str) -> Scope:
        return cls(
            splits,
            paths,
            exclude,
            _compile_globs(paths, "paths", where),
            _compile_globs(exclude, "exclude", where),
        )

    @property
    def everything(self) -> bool:
        return not (self.splits or self.paths or self.exclude)

    def mask(self, df: pd.DataFrame):
        """A numpy bool array: which rows are in scope."""
        import numpy as np

        mask = np.ones(len(df), dtype=bool)
        if self.splits:
            mask &= df["split"].isin(self.splits).to_numpy(dtype=bool)
        if self.paths_regex is not None:
            mask &= _matches(df["path"], self.paths_regex)
        if self.exclude_regex is not None:
            mask &= ~_matches(df["path"], self.exclude_regex)
        return mask

    def describe(self) -> str:
        parts = []
        if self.splits:
            parts.append("splits " + ", ".join(self.splits))
        if self.paths:
            parts.append("paths " + ", ".join(self.paths))
        if self.exclude:
            parts.append("excluding " + ", ".join(self.exclude))
        return "; ".join(parts)


def _matches(paths: pd.Series, regex: re.Pattern[str]):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        # RE2 over the Arrow strings is several times faster than a Python loop; the patterns
        # glob_to_regex writes mean the same in RE2 and in `re` (RE2's `$` is end of text).
        matched = pc.match_substring_regex(pa.array(paths), "^(?s:" + regex.pattern + ")$")
        return matched.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    except (pa.ArrowException, TypeError, ValueError):  # a [...] class RE2 does not take
        return np.fromiter(
            (regex.fullmatch(p) is not None for p in paths), dtype=bool, count=len(paths)
        )


@dataclass(frozen=True)
class Tolerance:
    """How many violations a rule accepts: a count, a fraction of the files it judged, or both
    (then both must hold). Neither: none."""

    count: int | None = None
    fraction: float | None = None

    def allows(self, violations: int, checked: int) -> bool:
        if violations == 0:
            return True
        if self.count is None and self.fraction is None:
            return False
        if self.count is not None and violations > self.count:
            return False
        if self.fraction is not None and violations > self.fraction * checked + 1e-9:
            return False
        return True

    def describe(self) -> str:
        parts = []
        if self.count is not None:
            parts.append(f"{self.count:,} file" + ("" if self.count == 1 else "s"))
        if self.fraction is not None:
            parts.append(f"{self.fraction * 100:g}%")
        return " and ".join(parts) if parts else "none"


@dataclass(frozen=True)
class RuleSettings:
    """What every rule has, whatever its kind."""

    name: str
    index: int  # position in the policy, from 1
    severity: str = "error"
    description: str = ""
    scope: Scope = Scope()
    tolerance: Tolerance = Tolerance()


# -- keys every rule accepts --------------------------------------------------------------------
KIND_KEY = Key("kind", "str", "The rule kind (see the list of kinds).", required=True)
NAME_KEY = Key(
    "name",
    "str",
    "Shown in every output (JUnit test case, GitHub annotation title). Unique in a policy.",
    default_doc="the kind; `kind#N` (N = the rule's position) when several rules share a kind",
)
SEVERITY_KEY = Key(
    "severity",
    "str",
    "`error` fails the check (exit 1); `warning` is reported but never fails.",
    choices=SEVERITIES,
    default_doc='"error"',
)
DESCRIPTION_KEY = Key("description", "str", "Why the rule exists; shown with its findings.")
SPLITS_KEY = Key("splits", "str-list", "Only files in these splits.", default_doc="every split")
PATHS_KEY = Key(
    "paths",
    "str-list",
    "Only files whose path matches one of these globs (`*`, `?`, `[...]` within a folder, "
    "`**` across folders; a glob may match any tail of the path that starts after a `/`).",
    default_doc="every path",
)
EXCLUDE_KEY = Key(
    "exclude", "str-list", "Leave out files whose path matches one of these globs (same syntax)."
)
TOLERATE_KEY = Key(
    "tolerate",
    "int",
    "Number of violating files accepted.",
    minimum=0,
    default_doc="0 (unless `tolerate_fraction` is given)",
)
TOLERATE_FRACTION_KEY = Key(
    "tolerate_fraction",
    "number",
    "Fraction (0..1) of the judged files that may violate. With `tolerate` too, both must hold.",
    minimum=0,
    maximum=1,
)
FILE_RULE_COMMON_KEYS = (
    KIND_KEY,
    NAME_KEY,
    SEVERITY_KEY,
    DESCRIPTION_KEY,
    SPLITS_KEY,
    PATHS_KEY,
    EXCLUDE_KEY,
    TOLERATE_KEY,
    TOLERATE_FRACTION_KEY,
)


def _bool_mask(series) -> Any:
    """A nullable boolean Series as plain booleans (missing counts as False)."""
    return series.fillna(False).astype(bool)


def _bool_array(values) -> Any:
    """A nullable boolean Series (or array) as a numpy bool array, missing as False."""
    import numpy as np

    if hasattr(values, "fillna"):
        values = values.fillna(False)
    return np.array(values, dtype=bool)  # a writable copy: callers combine masks in place


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _present(value: Any) -> bool:
    """A record value that is there (records carry None, pd.NA or NaN for missing)."""
    import pandas as pd

    return not (value is None or value is pd.NA or _is_nan(value))


def _text(value: Any) -> str:
    return str(value) if _present(value) else "missing"


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


# -- the base classes --------------------------------------------------------------------------
class Rule(ABC):
    kind: ClassVar[str]
    summary: ClassVar[str]  # one sentence for docs and `--help`
    keys: ClassVar[tuple[Key, ...]] = ()  # the kind's own keys
    common_keys: ClassVar[tuple[Key, ...]] = FILE_RULE_COMMON_KEYS

    def __init__(self, settings: RuleSettings, params: Mapping[str, Any]) -> None:
        self.settings = settings
        self.params = dict(params)

    @property
    def name(self) -> str:
        return self.settings.name

    @classmethod
    def all_keys(cls) -> dict[str, Key]:
        return {k.name: k for k in (*cls.common_keys, *cls.keys)}

    @classmethod
    def from_table(cls, table: Mapping[str, Any], name: str, index: int, where: str) -> Rule:
        known = cls.all_keys()
        check_table_keys(dict(table), known, where)
        values = {k: known[k].convert(v, where) for k, v in table.items()}
        settings = RuleSettings(
            name=name,
            index=index,
            severity=values.get("severity", "error"),
            description=values.get("description", ""),
            scope=Scope.build(
                values.get("splits"), values.get("paths"), values.get("exclude"), where
            ),
            tolerance=Tolerance(values.get("tolerate"), values.get("tolerate_fraction")),
        )
        params = {k.name: values[k.name] for k in cls.keys if k.name in values}
        cls.check_params(params, where)
        return cls(settings, params)

    @classmethod
    def check_params(cls, params: dict[str, Any], where: str) -> None:
        """Checks across keys (at least one of, exactly one of); single keys check themselves."""
        return None

    @abstractmethod
    def evaluate(self, df: pd.DataFrame, examples: int) -> RuleOutcome: ...

    def _outcome(self, **fields: Any) -> RuleOutcome:
        s = self.settings
        return RuleOutcome(
            name=s.name,
            kind=self.kind,
            severity=s.severity,  # type: ignore[arg-type]
            scope=s.scope.describe(),
            description=s.description,
            **fields,
        )


class FileRule(Rule):
    """A rule judged file by file: `applicable` says which rows carry what the rule needs,
    `violating` which of those break it, `detail` what is wrong with one row."""

    @abstractmethod
    def applicable(self, df: pd.DataFrame) -> pd.Series: ...

    @abstractmethod
    def violating(self, df: pd.DataFrame) -> pd.Series: ...

    @abstractmethod
    def detail(self, row: dict[str, Any]) -> str: ...

    @abstractmethod
    def phrase(self) -> str:
        """What violating files do, after "N of M files" (`have luma quality below 75`)."""

    def evaluate(self, df: pd.DataFrame, examples: int) -> RuleOutcome:
        import numpy as np

        # Masks over the whole frame, never a filtered copy of it: a store has 64 columns and
        # maybe millions of rows; only the example rows are ever materialised.
        scope = self.settings.scope
        judged = _bool_array(self.applicable(df))
        if not scope.everything:
            judged &= scope.mask(df)
        bad = judged & _bool_array(self.violating(df))
        checked, violations = int(judged.sum()), int(bad.sum())
        tolerance = self.settings.tolerance
        passed = tolerance.allows(violations, checked)
        found = self._examples(df, np.flatnonzero(bad), examples)
        if checked == 0:
            message = "no files to judge" + (
                f" in scope ({scope.describe()})" if scope.describe() else ""
            )
        else:
            share = f" ({violations / checked:.2%})" if violations else ""
            message = f"{violations:,} of {_plural(checked, 'file')}{share} {self.phrase()}"
            if violations:
                message += f"; tolerated: {tolerance.describe()}"
        return self._outcome(
            passed=passed,
            message=message,
            checked=checked,
            violations=violations,
            tolerated=tolerance.describe(),
            examples=found,
        )

    def _examples(self, df: pd.DataFrame, rows, limit: int) -> tuple[Example, ...]:
        """The first `limit` violating rows in path order, with what is wrong with each."""
        if limit <= 0 or len(rows) == 0:
            return ()
        paths = df["path"].iloc[rows]
        first = paths.sort_values(kind="stable").index[:limit]
        records = df.loc[first].to_dict("records")
        return tuple(Example(r["path"], self.detail(r)) for r in records)


def _exactly_one(params: dict[str, Any], names: tuple[str, str], where: str) -> None:
    given = [n for n in names if n in params]
    if len(given) != 1:
        raise PolicyError(f"{where}: give exactly one of '{names[0]}' or '{names[1]}'")


def _at_least_one(params: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    if not any(n in params for n in names):
        quoted = ", ".join(f"'{n}'" for n in names)
        raise PolicyError(f"{where}: give at least one of {quoted}")


# -- value-set rules: allowed or forbidden values of one column --------------------------------
class ValueSetRule(FileRule):
    column: ClassVar[str]
    noun: ClassVar[str]  # "format", "colour model"

    @classmethod
    def check_params(cls, params, where):
        _exactly_one(params, ("allowed", "forbidden"), where)

    def applicable(self, df):
        return df[self.column].notna()

    def violating(self, df):
        values = df[self.column]
        if "allowed" in self.params:
            return ~values.isin(self.params["allowed"])
        return values.isin(self.params["forbidden"])

    def detail(self, row):
        return f"{self.noun} {_text(row[self.column])}"

    def phrase(self):
        if "allowed" in self.params:
            return f"have a {self.noun} other than {', '.join(self.params['allowed'])}"
        return f"have a forbidden {self.noun} ({', '.join(self.params['forbidden'])})"


def _value_keys(vocabulary: tuple[str, ...], what: str, pattern=None, pattern_doc=""):
    return (
        Key(
            "allowed",
            "str-list",
            f"The {what} files may have; any other fails.",
            choices=vocabulary,
            pattern=pattern,
            pattern_doc=pattern_doc,
            default_doc="give exactly one of `allowed`, `forbidden`",
        ),
        Key(
            "forbidden",
            "str-list",
            f"The {what} files must not have.",
            choices=vocabulary,
            pattern=pattern,
            pattern_doc=pattern_doc,
            default_doc="give exactly one of `allowed`, `forbidden`",
        ),
    )


class FormatsRule(ValueSetRule):
    kind = "formats"
    summary = (
        "Content formats allowed (or forbidden), read from the bytes, not the name. Entries whose "
        "content could not be read (FIFOs, unreadable files) have no format: they break "
        "`allowed`, never `forbidden`."
    )
    keys = _value_keys(FORMATS, "content formats")
    column = "format"
    noun = "format"

    def applicable(self, df):
        import pandas as pd

        if "allowed" in self.params:
            return pd.Series(True, index=df.index)
        return df[self.column].notna()

    def detail(self, row):
        if not _present(row["format"]):
            return f"not read ({_text(row['entry_type'])}: {_text(row['error'])})"
        return f"format {row['format']}"


class SubsamplingRule(ValueSetRule):
    kind = "subsampling"
    summary = "Chroma subsampling allowed (or forbidden). Files without a frame are not judged."
    keys = _value_keys(
        SUBSAMPLINGS,
        "subsampling schemes",
        pattern=RAW_FACTORS,
        pattern_doc="a raw factor string such as `1x1,2x1,1x1`",
    )
    column = "subsampling"
    noun = "subsampling"


class ColorsRule(ValueSetRule):
    kind = "colors"
    summary = (
        "Colour models allowed (or forbidden), e.g. no CMYK. Files without a frame are not judged."
    )
    keys = _value_keys(COLORS, "colour models")
    column = "color"
    noun = "colour model"


class ProcessesRule(ValueSetRule):
    kind = "processes"
    summary = (
        "Coding processes allowed (or forbidden), e.g. only baseline and progressive. "
        "Files without a frame are not judged."
    )
    keys = _value_keys(PROCESSES, "coding processes")
    column = "process"
    noun = "coding process"

    def detail(self, row):
        coding = row.get("arithmetic")
        arithmetic = " (arithmetic)" if _present(coding) and bool(coding) else ""
        return f"coding process {_text(row['process'])}{arithmetic}"


# -- single-purpose file rules -------------------------------------------------------------------
class ExtensionMatchesRule(FileRule):
    kind = "extension-matches"
    summary = (
        "A file's extension must not name a format other than its content (a PNG named `.jpg`). "
        "Extensions that name no known format are not mismatches."
    )

    def applicable(self, df):
        return df["ext_mismatch"].notna()

    def violating(self, df):
        return df["ext_mismatch"]

    def detail(self, row):
        return f"{_text(row['format'])} content named .{row['ext']}"

    def phrase(self):
        return "have content that does not match their extension"


class MinQualityRule(FileRule):
    kind = "min-quality"
    summary = (
        "Minimum IJG quality of the luma table and/or the chroma table (`quality_luma`, "
        "`quality_chroma`: exact for IJG tables, else the nearest IJG quality). A file is judged "
        "on each quality it has: grayscale files and files whose chroma shares the luma table "
        "have no chroma quality; files without tables are not judged."
    )
    keys = (
        Key(
            "luma",
            "int",
            "Lowest luma quality accepted.",
            minimum=1,
            maximum=100,
            default_doc="give at least one of `luma`, `chroma`",
        ),
        Key(
            "chroma",
            "int",
            "Lowest chroma quality accepted.",
            minimum=1,
            maximum=100,
            default_doc="give at least one of `luma`, `chroma`",
        ),
    )

    @classmethod
    def check_params(cls, params, where):
        _at_least_one(params, ("luma", "chroma"), where)

    def _parts(self):
        return [
            (c, self.params[k])
            for k, c in (("luma", "quality_luma"), ("chroma", "quality_chroma"))
            if k in self.params
        ]

    def applicable(self, df):
        import pandas as pd

        mask = pd.Series(False, index=df.index)
        for column, _ in self._parts():
            mask |= df[column].notna().to_numpy()
        return mask

    def violating(self, df):
        import pandas as pd

        mask = pd.Series(False, index=df.index)
        for column, minimum in self._parts():
            mask |= _bool_mask(df[column] < minimum).to_numpy()
        return mask

    def detail(self, row):
        parts = []
        for column, minimum in self._parts():
            value = row[column]
            if _present(value) and value < minimum:
                parts.append(f"{column} {value} < {minimum}")
        exact = row.get("quality_exact")
        approx = "" if _present(exact) and bool(exact) else " (nearest IJG quality)"
        return ", ".join(parts) + approx

    def phrase(self):
        wants = [f"{k} quality below {v}" for k, v in self.params.items()]
        return "have " + " or ".join(wants)


def _dimensions_known(df):
    return _bool_mask((df["width"] > 0) & (df["height"] > 0))


_ONE_SIZE = "give at least one of `width`, `height`, `pixels`"


class MinSizeRule(FileRule):
    kind = "min-size"
    summary = (
        "Minimum frame width, height and/or pixel count (frame dimensions from SOF, not rotated "
        "by EXIF orientation). Files without a frame, or whose height is left to a DNL marker "
        "(0), are not judged."
    )
    keys = (
        Key(
            "width", "int", "Smallest width accepted, in pixels.", minimum=1, default_doc=_ONE_SIZE
        ),
        Key(
            "height",
            "int",
            "Smallest height accepted, in pixels.",
            minimum=1,
            default_doc=_ONE_SIZE,
        ),
        Key("pixels", "int", "Smallest width x height accepted.", minimum=1, default_doc=_ONE_SIZE),
    )

    @classmethod
    def check_params(cls, params, where):
        _at_least_one(params, ("width", "height", "pixels"), where)

    def applicable(self, df):
        return _dimensions_known(df)

    def violating(self, df):
        import pandas as pd

        width = df["width"].astype("Int64")
        height = df["height"].astype("Int64")
        mask = pd.Series(False, index=df.index)
        if "width" in self.params:
            mask |= _bool_mask(width < self.params["width"])
        if "height" in self.params:
            mask |= _bool_mask(height < self.params["height"])
        if "pixels" in self.params:
            mask |= _bool_mask(width * height < self.params["pixels"])
        return mask

    def detail(self, row):
        return f"{row['width']}x{row['height']} ({int(row['width']) * int(row['height']):,} pixels)"

    def phrase(self):
        names = {
            "width": "under {} px wide",
            "height": "under {} px high",
            "pixels": "under {} pixels",
        }
        wants = [names[k].format(f"{v:,}") for k, v in self.params.items()]
        return "are " + " or ".join(wants)


class MaxAspectRatioRule(FileRule):
    kind = "max-aspect-ratio"
    summary = (
        "Maximum ratio of the long side to the short side (3 accepts 300x100 and 100x300, "
        "not 301x100). Files without known dimensions are not judged."
    )
    keys = (
        Key("max", "number", "Largest long/short side ratio accepted.", required=True, minimum=1),
    )

    def applicable(self, df):
        return _dimensions_known(df)

    def violating(self, df):
        width = df["width"].astype("float64")
        height = df["height"].astype("float64")
        ratio = width.where(width > height, height) / width.where(width < height, height)
        return ratio > self.params["max"]

    def detail(self, row):
        w, h = int(row["width"]), int(row["height"])
        return f"{w}x{h} (ratio {max(w, h) / min(w, h):.2f})"

    def phrase(self):
        return f"have an aspect ratio above {self.params['max']:g}"


class NoTruncatedRule(FileRule):
    kind = "no-truncated"
    summary = (
        "No truncated JPEG: the file ends inside its header, or no EOI marker follows the "
        "first SOS. Non-JPEG files are not judged."
    )

    def applicable(self, df):
        return df["truncated"].notna()

    def violating(self, df):
        return df["truncated"]

    def detail(self, row):
        error = row["error"]
        return "truncated" + (
            f": {error}" if isinstance(error, str) else " (no EOI after the scan)"
        )

    def phrase(self):
        return "are truncated"


class NoTrailingDataRule(FileRule):
    kind = "no-trailing-data"
    summary = (
        "No bytes after the JPEG's end (EOI): appended archives, a second image, junk. "
        "Truncated and non-JPEG files are not judged."
    )
    keys = (
        Key(
            "max_bytes",
            "int",
            "Trailing bytes accepted per file (some cameras pad with a few).",
            minimum=0,
            default_doc="0",
        ),
    )

    def applicable(self, df):
        return df["trailing_bytes"].notna()

    def violating(self, df):
        return df["trailing_bytes"] > self.params.get("max_bytes", 0)

    def detail(self, row):
        return f"{_plural(int(row['trailing_bytes']), 'byte')} after EOI"

    def phrase(self):
        limit = self.params.get("max_bytes", 0)
        return "have data after EOI" if limit == 0 else f"have more than {limit:,} bytes after EOI"


class NoErrorsRule(FileRule):
    kind = "no-errors"
    summary = (
        "Every entry is a whole, readable JPEG header: no `error` of any kind (not a JPEG, "
        "truncated header, missing SOS, unreadable, special file)."
    )

    def applicable(self, df):
        import pandas as pd

        return pd.Series(True, index=df.index)

    def violating(self, df):
        return df["error"].notna()

    def detail(self, row):
        return _text(row["error"])

    def phrase(self):
        return "have errors"


# -- drift between two splits ----------------------------------------------------------------------
def _drift_module():
    try:
        from jpegaudit.analysis import drift
    except ImportError as exc:
        raise PolicyError(
            f"drift rules need jpegaudit.analysis.drift, which cannot be imported here: {exc}"
        ) from None
    return drift


def drift_setting_names() -> tuple[str, ...]:
    return tuple(_drift_module().DRIFT_SETTINGS)


CATEGORICAL_METRICS = ("total_variation", "jensen_shannon")


class DriftRule(Rule):
    kind = "drift"
    summary = (
        "Maximum distribution distance between two splits, per setting, computed by "
        "`jpegaudit.analysis.drift` as the report does: categorical settings by total variation "
        "distance (share of files that would have to change category, 0..1; or Jensen-Shannon "
        "distance), qualities by Wasserstein distance in IJG quality points, sizes and ratios by "
        "Wasserstein distance of log2 values (doublings). A setting with no values in a split "
        "is undefined and does not break the rule. The check cannot run (exit 2) when a split "
        "has no files in scope."
    )
    keys = (
        Key(
            "between",
            "str-list",
            "The two splits compared.",
            required=True,
            length=2,
        ),
        Key(
            "max",
            "number-table",
            "Per setting, the largest distance accepted: `{ subsampling = 0.05, "
            "quality_luma = 2.0 }`. Settings: those of `jpegaudit.analysis.drift.DRIFT_SETTINGS` "
            "(format, color, subsampling, process, quality_luma, quality_chroma, encoder, width, "
            "height, pixels, aspect_ratio, bytes, ...); its `SUGGESTED_LIMITS` are a sensible "
            "start.",
            required=True,
            minimum=0,
        ),
        Key(
            "categorical_metric",
            "str",
            "Distance used for categorical settings.",
            choices=CATEGORICAL_METRICS,
            default_doc='"total_variation"',
        ),
    )
    common_keys = (KIND_KEY, NAME_KEY, SEVERITY_KEY, DESCRIPTION_KEY, PATHS_KEY, EXCLUDE_KEY)

    @classmethod
    def check_params(cls, params, where):
        known = drift_setting_names()
        for name in params["max"]:
            if name not in known:
                raise PolicyError(
                    f"{where}: key 'max' names unknown setting '{name}' (known: {', '.join(known)})"
                )

    def evaluate(self, df, examples):
        scope = self.settings.scope
        scoped = df if scope.everything else df[scope.mask(df)]
        split_a, split_b = self.params["between"]
        present = scoped["split"].value_counts()
        for split in (split_a, split_b):
            if present.get(split, 0) == 0:
                have = ", ".join(sorted(str(s) for s in present.index)) or "none"
                raise CheckError(
                    f"rule '{self.name}': split '{split}' has no files to compare "
                    f"(splits checked: {have})"
                )
        limits: dict[str, float] = self.params["max"]
        table = _drift_module().drift_table(
            scoped,
            split_a,
            split_b,
            settings=list(limits),
            categorical_metric=self.params.get("categorical_metric", "total_variation"),
        )
        measured = []
        for row in table.to_dict("records"):
            distance = float(row["distance"])
            measured.append(
                DriftMeasurement(
                    setting=str(row["setting"]),
                    metric=str(row["metric"]),
                    distance=None if math.isnan(distance) else distance,
                    limit=limits[row["setting"]],
                    n_a=int(row["n_a"]),
                    n_b=int(row["n_b"]),
                    unit=str(row.get("unit", "")),
                    detail=str(row.get("detail", "")),
                )
            )
        over = [m for m in measured if m.exceeded]
        shown = ", ".join(f"{m.setting} {_distance_text(m.distance)} > {m.limit:g}" for m in over)
        message = (
            f"{len(over)} of {_plural(len(measured), 'setting')} differ between {split_a} and "
            f"{split_b} beyond their limit" + (f": {shown}" if over else "")
        )
        return self._outcome(
            passed=not over,
            message=message,
            checked=len(measured),
            violations=len(over),
            unit="settings",
            tolerated="none",
            measurements=tuple(measured),
        )


# -- label leakage ---------------------------------------------------------------------------------
def _leakage_module():
    try:
        from jpegaudit.analysis import leakage
    except ImportError as exc:
        raise PolicyError(
            f"label-leakage rules need jpegaudit.analysis.leakage, which cannot be imported: {exc}"
        ) from None
    return leakage


LEAKAGE_FEATURES = vocabulary.LEAKAGE_FEATURES


class LabelLeakageRule(Rule):
    kind = "label-leakage"
    summary = (
        'Compression must not predict the label (docs/provenance.md, "Label leakage"): the '
        "rule fails when a compression feature's association with the label (Cramér's V, "
        "bias-corrected) reaches `max_association` with a permutation p-value at most `alpha`, "
        "or when one label's files differ from the rest (total variation distance of one "
        "feature) by at least `max_label_distance` and by more than any label does under "
        "shuffled labels. The label is the store's `label` column, or the class folder of the "
        "path when the store has none. Examples name the labels that differ, with files."
    )
    keys = (
        Key("max_association", "number", "Largest corrected Cramér's V accepted (0..1).",
            minimum=0, maximum=1, default_doc="0.3"),
        Key("max_label_distance", "number", "Largest distance of one label from the rest "
            "accepted (0..1).", minimum=0, maximum=1, default_doc="0.5"),
        Key("alpha", "number", "Permutation p-value at or below which an association counts.",
            minimum=0, maximum=1, default_doc="0.05"),
        Key("features", "str-list", "The compression features judged.",
            choices=LEAKAGE_FEATURES, default_doc="all of them"),
        Key("permutations", "int", "Label shuffles behind the p-values and the null distance.",
            minimum=1, maximum=999, default_doc="49"),
    )  # fmt: skip
    common_keys = (
        KIND_KEY, NAME_KEY, SEVERITY_KEY, DESCRIPTION_KEY, SPLITS_KEY, PATHS_KEY, EXCLUDE_KEY,
    )  # fmt: skip

    def evaluate(self, df, examples):
        leakage = _leakage_module()
        scope = self.settings.scope
        scoped = df if scope.everything else df[scope.mask(df)]
        labelled, source = leakage.with_labels(scoped)
        p = self.params
        result = leakage.label_leakage(
            labelled,
            features=tuple(p.get("features", leakage.FEATURES)),
            permutations=p.get("permutations", leakage.PERMUTATIONS),
            max_association=p.get("max_association", leakage.THRESHOLDS["max_association"]),
            max_label_distance=p.get(
                "max_label_distance", leakage.THRESHOLDS["max_label_distance"]
            ),
            alpha=p.get("alpha", leakage.THRESHOLDS["alpha"]),
        )
        features = result.get("features", [])
        over = [f for f in features if f["flagged"]]
        labels = result.get("flagged_labels", [])
        found = []
        for item in result.get("labels_differing", []):
            if item["flagged"] and len(found) < max(examples, 0):
                detail = (
                    f"label {item['label']}: {item['feature']} {item['label_value']} in "
                    f"{item['label_value_share']:.0%} of its {item['files']} files, "
                    f"{item['rest_value']} in the rest (distance {item['distance']:.2f})"
                )
                found += [Example(path, detail) for path in item["examples"][:1]]
        shown = ", ".join(f"{f['feature']} V={f['cramers_v']:.2f}" for f in over)
        message = (
            f"{len(over)} of {_plural(len(features), 'feature')} predict the label"
            + (f" ({shown})" if shown else "")
            + f"; {_plural(len(labels), 'label')} differ from the rest"
            + (f": {', '.join(labels[:10])}" if labels else "")
            + f" ({result['labels']:,} labels, {source})"
        )
        return self._outcome(
            passed=not result["flagged"],
            message=message,
            checked=len(features),
            violations=len(over) + len(labels),
            unit="settings",
            tolerated="none",
            examples=tuple(found),
        )


def _distance_text(distance: float | None) -> str:
    return "undefined" if distance is None else f"{distance:.4g}"


RULE_KINDS: dict[str, type[Rule]] = {
    cls.kind: cls
    for cls in (
        FormatsRule,
        ExtensionMatchesRule,
        MinQualityRule,
        SubsamplingRule,
        ColorsRule,
        ProcessesRule,
        MinSizeRule,
        MaxAspectRatioRule,
        NoTruncatedRule,
        NoTrailingDataRule,
        NoErrorsRule,
        DriftRule,
        LabelLeakageRule,
    )
}
