"""Command line: click commands only. Each command parses options, calls one library function
and formats its result; nothing here that the Python API lacks."""

from __future__ import annotations

import click

from jpegaudit._version import __version__
from jpegaudit.cli_options import options_from, scan_options
from jpegaudit.exit_codes import EXIT_CANNOT_RUN, EXIT_INTERRUPTED


class CannotRun(click.ClickException):
    """The command could not do its work (a locked or unwritable store, a full disk, an
    unreachable bucket): "Error: ..." and exit code 2, without the usage text that a mistyped
    command gets."""

    exit_code = EXIT_CANNOT_RUN


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from jpegaudit.sources.compiled import CORE_NAME

    click.echo(f"jpegaudit {__version__} ({CORE_NAME} core)")
    ctx.exit()


_FIRST_STEPS = """\
New here? Start with the demo: it builds a small ImageNet-like dataset with real encoders,
scans it and writes its report (about 10 s):

  jpegaudit demo --out jpegaudit-demo

then open jpegaudit-demo/report/index.html. On your own data:

  jpegaudit scan data/train data/val --store audit/
  jpegaudit report --store audit/ --out plots/

Each command explains itself: jpegaudit COMMAND --help
"""


def _example(*lines: str) -> str:
    """A help epilog: "Example:" and command lines, kept as written (click's \\b)."""
    return "\b\nExample:\n" + "\n".join(f"  {line}" for line in lines)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
    epilog=_example("jpegaudit demo --out jpegaudit-demo   # start here: sample data, its report"),
)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Show the version and which core runs, then exit.")  # fmt: skip
@click.pass_context
def main(ctx: click.Context) -> None:
    """Audit how an image dataset was compressed, reading JPEG headers only."""
    if ctx.invoked_subcommand is None:
        click.echo(_FIRST_STEPS)
        click.echo(ctx.get_help())


class _StatusLine:
    """Long steps' progress on one stderr line, rewritten in place; nothing when `enabled` is
    false (stderr not a terminal). Used as the report's `progress(stage, done, total)`."""

    LABELS = {
        "building": "building files",
        "load": "loading the store",
        "analyse": "statistics",
        "projection": "UMAP",
        "figures": "figures",
        "thumbnails": "thumbnails",
        "write": "writing",
    }

    def __init__(self, enabled: bool, prefix: str = "report"):
        import time

        self.enabled = enabled
        self.prefix = prefix
        self._clock = time.monotonic
        self._active: dict[str, list] = {}
        self._shown = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        entry = self._active.setdefault(stage, [done, total, self._clock()])
        entry[0], entry[1] = done, total
        if total and done >= total:
            del self._active[stage]
        self._draw()

    def _draw(self) -> None:
        import shutil

        parts = []
        for stage, (done, total, started) in self._active.items():
            label = self.LABELS.get(stage, stage)
            if total > 1:
                parts.append(f"{label} {done}/{total}")
            else:
                parts.append(f"{label} ({self._clock() - started:.0f} s)")
        line = f"{self.prefix}: {', '.join(parts)}" if parts else ""
        line = line[: max(shutil.get_terminal_size().columns - 1, 20)]
        stream = click.get_text_stream("stderr")
        stream.write("\r" + line.ljust(self._shown))
        if not line:
            stream.write("\r")
        stream.flush()
        self._shown = len(line)

    def close(self) -> None:
        if self.enabled and self._shown:
            self._active.clear()
            self._draw()


def _on_terminal(progress: bool | None) -> bool:
    import sys

    return sys.stderr.isatty() if progress is None else progress


@main.command(epilog=_example("jpegaudit scan imagenet/train imagenet/val --store audit/"))
@click.argument("paths", nargs=-1)
@click.option("--store", default="jpegaudit-store", show_default=True, help="Scan store directory.")
@scan_options
def scan(paths, store, **params):
    """Scan files, folders, tar/zip shards and URLs (s3://, gs://, https://, ...) into a
    Parquet scan store (only changed files and shards are re-read)."""
    from jpegaudit.scanner.engine import run_scan
    from jpegaudit.scanner.result import ScanError, ScanInterrupted
    from jpegaudit.store.files import StoreError

    options = options_from(params)
    if not paths and not options.from_list:
        raise click.UsageError("give at least one PATH or --from-list FILE")
    try:
        result = run_scan(paths, store, options)
    except ScanInterrupted as stop:
        r = stop.result
        click.echo(
            f"interrupted: {r.scanned} rows stored in {r.store}; rerun to complete", err=True
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
    except (ScanError, StoreError, ImportError) as exc:
        raise CannotRun(str(exc)) from None
    click.echo(
        f"{result.scanned} scanned ({result.errors} with errors), {result.unchanged} unchanged, "
        f"{result.removed} removed in {result.elapsed_s:.2f} s -> {result.store}"
    )
    if result.requests:
        click.echo(
            f"remote: {result.requests} requests, {result.fetched_bytes / 1e6:.1f} MB fetched"
        )


@main.command(epilog=_example("jpegaudit inspect photo.jpg --json"))
@click.argument("file", type=click.Path(exists=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(file, as_json):
    """Explain one file: markers, tables, factors, quality estimate and why."""
    from jpegaudit.inspect import describe, inspect_file
    from jpegaudit.sources.compiled import compiled

    if compiled is not None:
        # The command's own process: the compiled core's row becomes Python values through
        # pyarrow, which would import pandas for it (unused here; half of a one-file
        # inspect). Not in inspect_file: in a caller's process it would change how pyarrow
        # converts pandas objects later.
        from jpegaudit.store.arrow import arrow_without_pandas

        arrow_without_pandas()
    ins = inspect_file(file)
    if as_json:
        import json

        click.echo(json.dumps(ins.to_json_dict(), indent=2, default=str))
    else:
        click.echo(describe(ins))


@main.command(epilog=_example("jpegaudit demo --out jpegaudit-demo"))
@click.option("--out", default="jpegaudit-demo", show_default=True,
              help="Folder for the dataset (OUT/data), its store and its report (OUT/report).")  # fmt: skip
@click.option("--store", default=None, help="Store (default: OUT/store).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--report/--no-report", "with_report", default=True, show_default=True,
              help="--no-report: stop after the scan (the report is then one more command).")  # fmt: skip
@click.option("--progress/--no-progress", default=None,
              help="Progress on stderr (default: when stderr is a terminal).")  # fmt: skip
def demo(out, store, seed, with_report, progress):
    """Build a small ImageNet-like dataset with real encoders, scan it and write its report,
    then summarise what the audit found."""
    import time
    from pathlib import Path

    from jpegaudit.demo import build_demo_dataset
    from jpegaudit.report.build import analyse, build_report, load_report_frame
    from jpegaudit.report.text import render_text
    from jpegaudit.scanner.engine import run_scan
    from jpegaudit.scanner.options import ScanOptions

    show = _on_terminal(progress)
    root = Path(out)
    started = time.perf_counter()
    status = _StatusLine(show, prefix="demo")
    built = build_demo_dataset(root / "data", seed=seed,
                               progress=lambda done, total: status("building", done, total))  # fmt: skip
    status.close()
    click.echo(f"built {len(built)} files under {root / 'data'} in "
               f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    for note in built.missing:
        click.echo(f"note: {note}", err=True)
    store = store or str(root / "store")
    splits = [root / "data" / "train", root / "data" / "val"]
    result = run_scan(splits, store, ScanOptions(progress=show))
    click.echo(f"scanned {result.scanned} entries in {result.elapsed_s:.1f} s -> {store}")
    report = None
    if with_report:
        status = _StatusLine(show)
        try:
            report = build_report(store, root / "report", progress=status)
        finally:
            status.close()
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"report: {len(report.figures)} figures in {report.elapsed_s:.1f} s")
        summary = report.summary
    else:
        summary = analyse(load_report_frame(store), source=store)
    click.echo("")
    click.echo(render_text(summary), nl=False)
    click.echo("")
    if report is not None:
        click.echo(f"open the report: {report.index_html}")
    else:
        click.echo(f"next: jpegaudit report --store {store} --out {root / 'report'}")


@main.command(epilog=_example("jpegaudit check data/train data/val --policy jpegaudit.toml"))
@click.argument("paths", nargs=-1)
@click.option(
    "--policy",
    default=None,
    help="Policy TOML (default: ./jpegaudit.toml, else [tool.jpegaudit] in ./pyproject.toml).",
)
@click.option(
    "--store",
    envvar="JPEGAUDIT_STORE",
    default=None,
    help="Scan store, reused incrementally (default: $JPEGAUDIT_STORE, else .jpegaudit/store).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "junit", "github"]),
    default="text",
    show_default=True,
)
@click.option("--output", "-o", default=None, help="Write the report to this file.")
@click.option("--examples", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--scan/--no-scan", default=True, help="--no-scan: evaluate the store as it is.")
@click.option("--init", is_flag=True, help="Write a starter policy describing PATHS as they are.")
@click.option("--force", is_flag=True, help="With --init: overwrite an existing policy.")
@scan_options
def check(paths, policy, store, output_format, output, examples, scan, init, force, **params):
    """CI gate: scan PATHS and evaluate a policy. Exit 0 pass, 1 rule broken, 2 cannot run.
    Every scan option applies to the check's scan (and to --init's)."""
    from jpegaudit.policy.cli import check_command

    raise SystemExit(
        check_command(
            paths=paths,
            policy=policy,
            store=store,
            options=options_from(params),
            output_format=output_format,
            output=output,
            examples=examples,
            scan=scan,
            init=init,
            force=force,
        )
    )


def _formats(ctx, param, value):
    from jpegaudit.report.build import parse_formats

    try:
        return parse_formats(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command(epilog=_example("jpegaudit report --store audit/ --out plots/ --formats png,pdf"))
@click.option("--store", default="jpegaudit-store", show_default=True, help="Scan store directory.")
@click.option("--out", "out_dir", default="jpegaudit-report", show_default=True,
              help="Output folder for figures, index.html, summary.json, summary.md.")  # fmt: skip
@click.option("--formats", default="png", show_default=True, callback=_formats,
              help="Figure files to write: png, pdf or png,pdf (index.html embeds PNGs anyway).")  # fmt: skip
@click.option("--umap/--no-umap", default=True, show_default=True, help="UMAP projection.")
@click.option("--umap-sample", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Most files projected (after keeping 10 % of width-or-height-500 files).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling and UMAP seed.")
@click.option("--files-root", default=None,
              help="Folder that relative store paths start from, for thumbnails (default: .).")  # fmt: skip
@click.option("--thumbnails/--no-thumbnails", default=True, show_default=True)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Processes for figures and UMAP, this one included (default: the CPUs up to "
                   "4; 1 when the machine is saturated).")  # fmt: skip
@click.option("--progress/--no-progress", default=None,
              help="Stage progress on stderr (default: when stderr is a terminal).")  # fmt: skip
def report(store, out_dir, formats, umap, umap_sample, seed, files_root, thumbnails, jobs,
           progress):  # fmt: skip
    """Figures, index.html, summary.json and summary.md from a scan store."""
    from jpegaudit.report import build_report
    from jpegaudit.store.files import StoreError

    status = _StatusLine(_on_terminal(progress))
    try:
        result = build_report(store, out_dir, umap=umap, umap_sample=umap_sample, seed=seed,
                              files_root=files_root, thumbnails=thumbnails, formats=formats,
                              jobs=jobs, progress=status)  # fmt: skip
    except StoreError as exc:
        raise CannotRun(str(exc)) from None
    finally:
        status.close()
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{result.rows} rows, {len(result.figures)} figures in {result.elapsed_s:.1f} s -> "
        f"{result.index_html}, {result.summary_json.name}, {result.summary_md.name}"
    )
