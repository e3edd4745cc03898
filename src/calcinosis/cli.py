"""Command-line interface. The one place where errors become messages and exit codes."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

from calcinosis import __version__
from calcinosis.errors import EXIT_BAD_INPUT, CalcinosisError

F = TypeVar("F", bound=Callable[..., Any])

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


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def guarded(fn: F) -> F:
    """Turn CalcinosisError (and OS errors on files) into one line and an exit code; never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CalcinosisError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except OSError as exc:
            raise fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from None

    return wrapper  # type: ignore[return-value]


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
