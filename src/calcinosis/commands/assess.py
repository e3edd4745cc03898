"""`calcinosis assess`: one patient (native case JSON or FHIR) to an assessment."""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path

import orjson
import typer
from rich.console import Console

from calcinosis.engine import Assessment, assess
from calcinosis.errors import InputError
from calcinosis.inputs import decode_json, read_patient
from calcinosis.limits import Limits
from calcinosis.render.markdown import assessment_markdown
from calcinosis.render.text import print_assessment
from calcinosis.settings import load_settings


class AssessFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    FHIR = "fhir"


def read_source(path: str, limits: Limits | None = None) -> bytes:
    """The file's bytes (``-``: stdin), refused unread when larger than the body limit."""
    limits = limits or Limits()
    if path == "-":
        raw = sys.stdin.buffer.read(limits.body_bytes + 1)
        if len(raw) > limits.body_bytes:
            raise limits.too_large("stdin")
        return raw
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: is a directory, expected a JSON file")
    if not p.exists():
        raise InputError(f"{path}: file not found")
    if p.stat().st_size > limits.body_bytes:
        raise limits.too_large(path)
    return p.read_bytes()


def assess_bytes(
    raw: bytes, where: str, as_of: dt.date | None = None, limits: Limits | None = None
) -> Assessment:
    data = decode_json(raw, where, limits)
    case, issues = read_patient(data, as_of=as_of)
    return assess(case, issues=issues, as_of=as_of)


def emit(a: Assessment, fmt: AssessFormat) -> None:
    if fmt is AssessFormat.JSON:
        sys.stdout.write(orjson.dumps(a.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt is AssessFormat.MARKDOWN:
        sys.stdout.write(assessment_markdown(a))
    elif fmt is AssessFormat.FHIR:
        from calcinosis.fhir.guidance import assessment_to_bundle

        bundle = assessment_to_bundle(a)
        sys.stdout.write(orjson.dumps(bundle, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_assessment(a, Console(width=140))


def register(app: typer.Typer) -> None:
    from calcinosis.cli import guarded

    @app.command("assess")
    @guarded
    def assess_cmd(
        file: str = typer.Argument(
            ..., help="Case JSON or FHIR R4 JSON (Bundle or resource); '-' reads stdin."
        ),
        fmt: AssessFormat = typer.Option(AssessFormat.TEXT, "--format", "-f", help="Output format."),
        as_of: str | None = typer.Option(None, "--as-of", help="Date (YYYY-MM-DD) ages are computed at."),
    ) -> None:
        """Classify the subtype, list missing work-up and rank therapy options for one patient."""
        when = None
        if as_of is not None:
            try:
                when = dt.date.fromisoformat(as_of)
            except ValueError:
                raise InputError(f"--as-of: '{as_of}' is not a date (YYYY-MM-DD)") from None
        limits = Limits.of(load_settings())
        emit(assess_bytes(read_source(file, limits), file, when, limits), fmt)
