"""Command-line interface; errors become messages and exit codes in :mod:`calcinosis.commands.guard`.

Starting the CLI imports typer and the command modules only; each command imports what it needs when it
runs (``tests/cli/test_startup.py`` checks that no heavy library is imported up front).
"""

from __future__ import annotations

import gc
import importlib
import sys

import typer

from calcinosis import __version__
from calcinosis.commands.guard import fail, guarded
from calcinosis.errors import CalcinosisError

__all__ = ["COMMAND_MODULES", "app", "fail", "guarded", "main"]

app = typer.Typer(
    name="calcinosis",
    help="Clinical decision support for calcinosis cutis (decision support only: review the basis shown).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that add subcommands: each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "calcinosis.commands.assess",
    "calcinosis.commands.pack",
    "calcinosis.commands.fhir",
    "calcinosis.commands.serve",
    "calcinosis.commands.screen",
    "calcinosis.commands.validate",
    "calcinosis.commands.registry",
)


def _version(value: bool) -> None:
    if value:
        from calcinosis.pack import load_pack_cached

        try:
            pack = load_pack_cached()
            typer.echo(f"calcinosis-cds {__version__} (pack {pack.meta.version}, hash {pack.short_hash})")
        except CalcinosisError as exc:
            typer.echo(f"calcinosis-cds {__version__} (pack invalid: {exc})")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show version and pack hash."
    ),
) -> None:
    """Clinical decision support for calcinosis cutis."""


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    finally:
        # Nothing left is garbage worth collecting: spare the exit its final pass over the pack and the
        # vocabularies (tens of milliseconds of a short command). Files and atexit handlers close as usual.
        gc.freeze()
