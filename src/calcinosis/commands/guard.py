"""How a command fails: one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

from calcinosis.errors import EXIT_BAD_INPUT, CalcinosisError, InputError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def date_option(value: str | None, option: str) -> dt.date | None:
    """A command-line date (YYYY-MM-DD); anything else is an InputError naming the option."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: '{value}' is not a date (YYYY-MM-DD)") from None


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
