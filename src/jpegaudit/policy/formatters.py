"""Output formats of a check, behind one interface: `FORMATTERS[name]().render(report)` returns
the text to print. Text for people, JSON for programs, JUnit XML for any CI's test view, GitHub
workflow commands for annotations (plus a Markdown step summary)."""

from __future__ import annotations

import json
import socket
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import ClassVar
from xml.etree import ElementTree as ET

from jpegaudit.policy.report import CheckReport, DriftMeasurement, RuleOutcome

_STATUS_ORDER = {"fail": 0, "warn": 1, "pass": 2}
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def printable(text: str) -> str:
    """One line, whatever a file name holds: control characters escaped as in Python."""
    return text.translate(_CONTROL)


def _by_status(report: CheckReport) -> list[RuleOutcome]:
    return sorted(report.outcomes, key=lambda o: _STATUS_ORDER[o.status])


def verdict(report: CheckReport) -> str:
    """One line: passed or not, and how many rules broke."""
    rules = len(report.outcomes)
    failed, warned = len(report.failed), len(report.warned)
    head = "FAILED" if failed else "passed"
    parts = [f"{failed} of {rules} rules broken" if failed else f"{rules} rules hold"]
    if warned:
        parts.append(f"{warned} warning" + ("" if warned == 1 else "s"))
    splits = ", ".join(f"{k} {v:,}" for k, v in report.files_by_split.items())
    files = f"{report.files:,} files" + (f" ({splits})" if splits else "")
    return f"jpegaudit check {head}: {'; '.join(parts)}; {files}"


def measurement_text(m: DriftMeasurement) -> str:
    """One drift setting: `quality_luma: 30 quality points (wasserstein, limit 5; median 90 ->
    60; 8 vs 8 files)`."""
    distance = "undefined" if m.distance is None else f"{m.distance:.4g}"
    unit = f" {m.unit}" if m.unit and m.distance is not None else ""
    detail = f"; {m.detail}" if m.detail else ""
    return (
        f"{m.setting}: {distance}{unit} ({m.metric}, limit {m.limit:g}{detail}; "
        f"{m.n_a:,} vs {m.n_b:,} files)"
    )


class Formatter(ABC):
    name: ClassVar[str]

    @abstractmethod
    def render(self, report: CheckReport) -> str:
        """The whole output, ending with a newline."""


class TextFormatter(Formatter):
    """For people: broken rules first, each with its count and a few example paths."""

    name = "text"

    def render(self, report: CheckReport) -> str:
        lines = [verdict(report)]
        context = [f"policy {report.policy}"] if report.policy else []
        if report.store:
            context.append(f"store {report.store}")
        if report.scan is not None:
            s = report.scan
            context.append(
                f"scan: {s.scanned:,} read, {s.unchanged:,} unchanged, {s.removed:,} removed "
                f"in {s.elapsed_s:.2f} s"
            )
        if context:
            lines.append("; ".join(context))
        lines.append("")
        width = max((len(o.name) for o in report.outcomes), default=0)
        for o in _by_status(report):
            lines.append(f"{o.status.upper():4}  {o.name:<{width}}  {o.message}")
            indent = " " * 6
            if o.scope:
                lines.append(f"{indent}scope: {o.scope}")
            if o.description and o.status != "pass":
                lines.append(f"{indent}why: {o.description}")
            if o.status != "pass":
                for e in o.examples:
                    lines.append(f"{indent}{printable(e.path)}: {e.detail}")
                more = o.violations - len(o.examples)
                if o.unit == "files" and more > 0 and o.examples:
                    lines.append(f"{indent}... and {more:,} more")
            if o.status != "pass":  # a passing drift rule's settings are in --format json
                for m in o.measurements:
                    mark = "OVER" if m.exceeded else "ok"
                    lines.append(f"{indent}{mark:4}  {measurement_text(m)}")
        return "\n".join(lines) + "\n"


def report_to_dict(report: CheckReport) -> dict:
    """The report as plain JSON-able data (the `json` format)."""
    scan = report.scan
    return {
        "passed": report.passed,
        "exit_code": report.exit_code,
        "policy": report.policy,
        "store": report.store,
        "files": report.files,
        "files_by_split": report.files_by_split,
        "scan": None
        if scan is None
        else {
            "scanned": scan.scanned,
            "unchanged": scan.unchanged,
            "removed": scan.removed,
            "errors": scan.errors,
            "elapsed_s": round(scan.elapsed_s, 4),
        },
        "rules": [
            {
                "name": o.name,
                "kind": o.kind,
                "severity": o.severity,
                "status": o.status,
                "passed": o.passed,
                "message": o.message,
                "unit": o.unit,
                "checked": o.checked,
                "violations": o.violations,
                "fraction": o.fraction,
                "tolerated": o.tolerated,
                "scope": o.scope,
                "description": o.description,
                "examples": [{"path": e.path, "detail": e.detail} for e in o.examples],
                "measurements": [
                    {
                        "setting": m.setting,
                        "metric": m.metric,
                        "distance": m.distance,
                        "limit": m.limit,
                        "exceeded": m.exceeded,
                        "n_a": m.n_a,
                        "n_b": m.n_b,
                        "unit": m.unit,
                        "detail": m.detail,
                    }
                    for m in o.measurements
                ],
            }
            for o in report.outcomes
        ],
    }


class JsonFormatter(Formatter):
    name = "json"

    def render(self, report: CheckReport) -> str:
        return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _failure_text(o: RuleOutcome) -> str:
    lines = [o.message]
    if o.scope:
        lines.append(f"scope: {o.scope}")
    if o.description:
        lines.append(f"why: {o.description}")
    lines += [f"{printable(e.path)}: {e.detail}" for e in o.examples]
    more = o.violations - len(o.examples)
    if o.unit == "files" and more > 0 and o.examples:
        lines.append(f"... and {more:,} more")
    lines += [measurement_text(m) for m in o.measurements]
    return "\n".join(lines)


def _xml_safe(text: str) -> str:
    # XML 1.0 cannot carry most control characters even escaped; file names can hold them.
    return "".join(
        c if c in "\t\n\r" or (" " <= c and c not in "\ufffe\uffff") else f"\\x{ord(c):02x}"
        for c in text
    )


class JunitFormatter(Formatter):
    """JUnit XML as Jenkins' junit-10.xsd describes it (what GitLab, Jenkins, Azure and the
    GitHub test-report actions read): one test suite, one test case per rule; a broken
    error-severity rule is a <failure>, a broken warning is reported in <system-out>."""

    name = "junit"
    suite_name = "jpegaudit check"

    def render(self, report: CheckReport) -> str:
        tests = len(report.outcomes)
        failures = len(report.failed)
        seconds = f"{report.elapsed_s:.3f}"
        root = ET.Element(
            "testsuites",
            {
                "name": self.suite_name,
                "tests": str(tests),
                "failures": str(failures),
                "errors": "0",
                "time": seconds,
            },
        )
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _xml_safe(
                    f"{self.suite_name}: {report.policy}" if report.policy else self.suite_name
                ),
                "tests": str(tests),
                "failures": str(failures),
                "errors": "0",
                "skipped": "0",
                "time": seconds,
                "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                "hostname": socket.gethostname() or "localhost",
            },
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("policy", report.policy),
            ("store", report.store),
            ("files", str(report.files)),
        ):
            ET.SubElement(properties, "property", {"name": name, "value": _xml_safe(value)})
        for o in report.outcomes:
            case = ET.SubElement(
                suite,
                "testcase",
                {"name": _xml_safe(o.name), "classname": f"jpegaudit.policy.{o.kind}", "time": "0"},
            )
            if o.status == "fail":
                failure = ET.SubElement(
                    case, "failure", {"message": _xml_safe(o.message), "type": o.kind}
                )
                failure.text = _xml_safe(_failure_text(o))
            else:
                out = ET.SubElement(case, "system-out")
                prefix = "warning: " if o.status == "warn" else ""
                out.text = _xml_safe(prefix + _failure_text(o))
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


# -- GitHub Actions ------------------------------------------------------------------------------
def escape_data(text: str) -> str:
    """A workflow command's message, escaped as @actions/core does (`escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command property value (`title=...`), escaped as @actions/core does."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str) -> str:
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items() if v)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


class GithubFormatter(Formatter):
    """GitHub Actions workflow commands: one `::error` (or `::warning`) annotation per broken
    rule, its message holding the count and the examples, then the verdict as a plain line.
    GitHub shows at most 10 error annotations per step, so one per rule, not one per file."""

    name = "github"

    def render(self, report: CheckReport) -> str:
        lines = []
        for o in _by_status(report):
            if o.status == "pass":
                continue
            command = "error" if o.status == "fail" else "warning"
            lines.append(workflow_command(command, _failure_text(o), title=f"jpegaudit: {o.name}"))
        lines.append(verdict(report))
        return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return printable(text).replace("|", "\\|").replace("`", "'")


def step_summary_markdown(report: CheckReport) -> str:
    """Markdown for `$GITHUB_STEP_SUMMARY`: the verdict, a table of rules, examples of the
    broken ones."""
    icon = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warning"}
    lines = [f"### {_md_cell(verdict(report))}", ""]
    if report.policy:
        lines += [f"Policy `{_md_cell(report.policy)}`.", ""]
    lines += ["| rule | status | result |", "| --- | --- | --- |"]
    for o in _by_status(report):
        lines.append(f"| {_md_cell(o.name)} | {icon[o.status]} | {_md_cell(o.message)} |")
    for o in _by_status(report):
        if o.status == "pass" or not (o.examples or o.measurements):
            continue
        lines += ["", f"<details><summary>{_md_cell(o.name)}: examples</summary>", ""]
        lines += [f"- `{_md_cell(e.path)}`: {_md_cell(e.detail)}" for e in o.examples]
        lines += [
            f"- {'**over**' if m.exceeded else 'ok'}: {_md_cell(measurement_text(m))}"
            for m in o.measurements
        ]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def write_step_summary(report: CheckReport, path: str) -> None:
    """Append the Markdown summary to the file GitHub names in `$GITHUB_STEP_SUMMARY`."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(step_summary_markdown(report))


FORMATTERS: dict[str, type[Formatter]] = {
    cls.name: cls for cls in (TextFormatter, JsonFormatter, JunitFormatter, GithubFormatter)
}
