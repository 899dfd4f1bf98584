"""The CI gate: a policy (TOML) of rules evaluated on the scan store's rows.

    from jpegaudit.policy import run_check, FORMATTERS
    report = run_check(["data/train", "data/val"], "jpegaudit.toml")
    print(FORMATTERS["text"]().render(report)); raise SystemExit(report.exit_code)

`load_policy` / `parse_policy` read and validate a policy, `evaluate` runs it on any DataFrame
with the store's columns, `starter_policy` describes a DataFrame as a policy it passes.
PolicyError and CheckError mean "could not run" (exit 2); a report's exit_code is 0 or 1.
"""

from jpegaudit.policy.check import (
    DEFAULT_STORE,
    default_store,
    evaluate,
    run_check,
    store_rows,
)
from jpegaudit.policy.errors import CheckError, PolicyError
from jpegaudit.policy.formatters import FORMATTERS, Formatter, step_summary_markdown
from jpegaudit.policy.loader import Policy, find_policy, load_policy, parse_policy
from jpegaudit.policy.report import CheckReport, RuleOutcome
from jpegaudit.policy.rules import RULE_KINDS, Rule
from jpegaudit.policy.starter import starter_policy, write_starter_policy

__all__ = [
    "DEFAULT_STORE",
    "FORMATTERS",
    "RULE_KINDS",
    "CheckError",
    "CheckReport",
    "Formatter",
    "Policy",
    "PolicyError",
    "Rule",
    "RuleOutcome",
    "default_store",
    "evaluate",
    "find_policy",
    "load_policy",
    "parse_policy",
    "run_check",
    "starter_policy",
    "step_summary_markdown",
    "store_rows",
    "write_starter_policy",
]
