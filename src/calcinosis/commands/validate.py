"""`calcinosis validate CORPUS_DIR`: agreement of the engine with a published-case corpus (docs/validation.md).

Agreement is reported, not enforced: the command exits 0 whenever it ran. A corpus it cannot use (missing
directory, bad YAML, unknown field or id) gives one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from calcinosis.validation import ValidationReport


class ValidateFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def report_json(report: ValidationReport) -> bytes:
    import orjson

    data = report.model_dump(mode="json")
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def _pct(percent: float | None) -> str:
    return "—" if percent is None else f"{percent:.1f}%"


def print_report(report: ValidationReport, console: Console) -> None:
    from rich.table import Table

    console.print(
        f"[bold]Published-case validation[/bold] — {report.cases} case(s) from {report.corpus} "
        f"(pack {report.pack_version}, hash {report.pack_hash})"
    )
    console.print(
        "Expectations come from the sources, written before the engine was run; agreement is reported, not enforced."
    )
    fields = Table(title="Agreement per field", title_justify="left")
    fields.add_column("field")
    fields.add_column("agreement", justify="right")
    fields.add_column("cases agreed / judged", justify="right")
    fields.add_column("ids agreed / judged", justify="right")
    for f in report.fields:
        fields.add_row(
            f.field, _pct(f.percent), f"{f.agreed}/{f.judged}", f"{f.items_agreed}/{f.items_judged}"
        )
    console.print(fields)

    cases = Table(title="Agreement per case", title_justify="left", show_lines=True)
    cases.add_column("case", overflow="fold")
    cases.add_column("expected / engine", overflow="fold")
    cases.add_column("fields agreed", justify="right")
    cases.add_column("disagreements (expected vs engine)", overflow="fold")
    for r in report.results:
        judged = [f for f in r.fields if f.judged]
        agreed = sum(1 for f in judged if f.agreed)
        reasons = [f"{f.field}: {why}" for f in r.disagreeing for why in f.reasons] or ["—"]
        engine = r.engine_subtype or "no subtype"
        if r.engine_variant:
            engine += f" / {r.engine_variant}"
        cases.add_row(r.id, f"{r.expected_subtype} / {engine}", f"{agreed}/{len(judged)}", "\n".join(reasons))
    console.print(cases)
    for note in report.notes:
        console.print(f"[yellow]{note.level}[/yellow]: {note.file}: {note.message}")


def register(app: typer.Typer) -> None:
    from calcinosis.commands.guard import guarded

    @app.command("validate")
    @guarded
    def validate_cmd(
        corpus_dir: str = typer.Argument(..., help="Directory of published-case YAML files."),
        fmt: ValidateFormat = typer.Option(ValidateFormat.TEXT, "--format", "-f", help="Output format."),
        case: str | None = typer.Option(None, "--case", help="Only this case id."),
    ) -> None:
        """Run the engine on a published-case corpus and report agreement per field and per case."""
        from rich.console import Console

        from calcinosis.pack import load_pack_cached
        from calcinosis.validation import load_corpus, validate_corpus

        pack = load_pack_cached()
        corpus = load_corpus(corpus_dir, pack)
        if case is not None:
            corpus = corpus.only(case)
        report = validate_corpus(corpus, pack)
        if fmt is ValidateFormat.JSON:
            sys.stdout.buffer.write(report_json(report))
        else:
            print_report(report, Console(width=160))
