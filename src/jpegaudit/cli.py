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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Show the version and which core runs, then exit.")  # fmt: skip
def main() -> None:
    """Audit how an image dataset was compressed, reading JPEG headers only."""


@main.command()
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


@main.command()
@click.argument("file", type=click.Path(exists=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(file, as_json):
    """Explain one file: markers, tables, factors, quality estimate and why."""
    from jpegaudit.inspect import describe, inspect_file

    ins = inspect_file(file)
    if as_json:
        import json

        click.echo(json.dumps(ins.to_json_dict(), indent=2, default=str))
    else:
        click.echo(describe(ins))


@main.command()
@click.option("--out", default="jpegaudit-demo", show_default=True, help="Folder for the dataset.")
@click.option("--store", default=None, help="Store (default: OUT/store).")
@click.option("--seed", type=int, default=0, show_default=True)
def demo(out, store, seed):
    """Build a small ImageNet-like dataset with real encoders and scan it."""
    from pathlib import Path

    from jpegaudit.demo import build_demo_dataset
    from jpegaudit.scanner.engine import run_scan
    from jpegaudit.scanner.options import ScanOptions
    from jpegaudit.store.reader import read_store

    root = Path(out)
    built = build_demo_dataset(root / "data", seed=seed)
    click.echo(f"built {len(built)} files under {root / 'data'}")
    for note in built.missing:
        click.echo(f"note: {note}", err=True)
    store = store or str(root / "store")
    splits = [root / "data" / "train", root / "data" / "val"]
    result = run_scan(splits, store, ScanOptions(progress=False))
    click.echo(f"scanned {result.scanned} entries in {result.elapsed_s:.2f} s -> {store}")
    df = read_store(store)
    summary = df.groupby("split").agg(
        files=("path", "size"),
        jpeg=("format", lambda s: int((s == "jpeg").sum())),
        errors=("error", lambda s: int(s.notna().sum())),
        truncated=("truncated", lambda s: int(s.fillna(False).sum())),
        ext_mismatch=("ext_mismatch", lambda s: int(s.sum())),
        trailing=("trailing_bytes", lambda s: int((s.fillna(0) > 0).sum())),
    )
    click.echo(summary.to_string())
    for column in ("format", "color", "subsampling", "quality_luma"):
        counts = df[column].value_counts(dropna=False).head(8)
        click.echo(f"\n{column}:\n{counts.to_string()}")
    click.echo(f"\nnext: jpegaudit report --store {store} --out {root / 'report'}")


@main.command()
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


@main.command()
@click.option("--store", default="jpegaudit-store", show_default=True, help="Scan store directory.")
@click.option("--out", "out_dir", default="jpegaudit-report", show_default=True,
              help="Output folder for figures, index.html, summary.json, summary.md.")  # fmt: skip
@click.option("--umap/--no-umap", default=True, show_default=True, help="UMAP projection.")
@click.option("--umap-sample", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Most files projected (after keeping 10 % of width-or-height-500 files).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling and UMAP seed.")
@click.option("--files-root", default=None,
              help="Folder that relative store paths start from, for thumbnails (default: .).")  # fmt: skip
@click.option("--thumbnails/--no-thumbnails", default=True, show_default=True)
def report(store, out_dir, umap, umap_sample, seed, files_root, thumbnails):
    """Figures (PNG, PDF), index.html, summary.json and summary.md from a scan store."""
    from jpegaudit.report import build_report
    from jpegaudit.store.files import StoreError

    try:
        result = build_report(store, out_dir, umap=umap, umap_sample=umap_sample, seed=seed,
                              files_root=files_root, thumbnails=thumbnails)  # fmt: skip
    except StoreError as exc:
        raise CannotRun(str(exc)) from None
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    total = sum(result.seconds.values())
    click.echo(
        f"{result.rows} rows, {len(result.figures)} figures in {total:.1f} s -> "
        f"{result.index_html}, {result.summary_json.name}, {result.summary_md.name}"
    )
