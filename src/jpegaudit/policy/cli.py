"""The `jpegaudit check` command's body (presentation layer: it prints). `jpegaudit.cli` declares
the options and calls `check_command`; the work is `run_check` / `write_starter_policy`.

Exit codes, as pytest and ruff do it: 0 the dataset passes, 1 a rule is broken, 2 the check
could not run (policy wrong, path missing, store or scan failed, bad options, internal error).
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from jpegaudit.exit_codes import EXIT_CANNOT_RUN, EXIT_INTERRUPTED, EXIT_PASS
from jpegaudit.policy.errors import CheckError, PolicyError
from jpegaudit.scanner.options import ScanOptions

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def _fail(message: str, output_format: str) -> int:
    click.echo(f"jpegaudit check: error: {message}", err=True)
    if output_format == "github":
        from jpegaudit.policy.formatters import workflow_command

        click.echo(workflow_command("error", message, title="jpegaudit check could not run"))
    return EXIT_CANNOT_RUN


def check_command(
    *,
    paths: tuple[str, ...],
    policy: str | None,
    store: str | None,
    options: ScanOptions,
    output_format: str,
    output: str | None,
    examples: int,
    scan: bool,
    init: bool,
    force: bool,
) -> int:
    """Run the command; return the exit code."""
    try:
        if init:
            return _init(list(paths), policy, store, options, force)
        return _check(list(paths), policy, store, options, output_format, output, examples, scan)
    except (PolicyError, CheckError) as exc:
        return _fail(str(exc), output_format)
    except KeyboardInterrupt:
        click.echo("jpegaudit check: interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug must not look like "rule broken" (1) to CI
        traceback.print_exc(file=sys.stderr)
        return _fail(f"internal error: {type(exc).__name__}: {exc}", output_format)


def _init(
    paths: list[str], policy: str | None, store: str | None, options: ScanOptions, force: bool
) -> int:
    from jpegaudit.policy.loader import DEFAULT_POLICY_FILE
    from jpegaudit.policy.starter import write_starter_policy

    target = policy or DEFAULT_POLICY_FILE
    starter = write_starter_policy(paths, target, store=store, options=options, force=force)
    click.echo(
        f"wrote {target}: {starter.rules} rules describing {starter.files:,} files; "
        f"`jpegaudit check --policy {target}` passes on them today"
    )
    return EXIT_PASS


def _check(
    paths: list[str],
    policy: str | None,
    store: str | None,
    options: ScanOptions,
    output_format: str,
    output: str | None,
    examples: int,
    scan: bool,
) -> int:
    from jpegaudit.policy.check import run_check
    from jpegaudit.policy.formatters import FORMATTERS, write_step_summary
    from jpegaudit.policy.loader import find_policy

    policy_file = policy or find_policy()
    report = run_check(
        paths, policy_file, store=store, options=options, examples=examples, scan=scan
    )
    text = FORMATTERS[output_format]().render(report)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise CheckError(f"cannot write {output}: {exc.strerror}") from None
        from jpegaudit.policy.formatters import verdict

        click.echo(verdict(report))
    else:
        click.echo(text, nl=False)
    summary_file = os.environ.get(STEP_SUMMARY_ENV)
    if output_format == "github" and summary_file:
        try:
            write_step_summary(report, summary_file)
        except OSError as exc:
            click.echo(f"jpegaudit check: cannot write step summary: {exc.strerror}", err=True)
    return report.exit_code
