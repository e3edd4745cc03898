"""`calcinosis pack export --fhir DIR`: the knowledge pack as FHIR R4 PlanDefinition, ActivityDefinitions and
CodeSystems (see docs/fhir.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FhirDir = Annotated[
    Path, typer.Option("--fhir", help="Directory to write the FHIR R4 resources to (created).")
]


def register(app: typer.Typer) -> None:  # noqa: ARG001 - the command joins the `pack` group
    from calcinosis.commands.guard import guarded
    from calcinosis.commands.pack import pack_app

    @pack_app.command("export")
    @guarded
    def export_cmd(fhir: FhirDir) -> None:
        """Write the pack as FHIR R4: PlanDefinition, one ActivityDefinition per therapy, CodeSystems."""
        from calcinosis.fhir.plandefinition import write_pack_fhir
        from calcinosis.pack import load_pack_cached

        pack = load_pack_cached()
        paths = write_pack_fhir(pack, fhir)
        typer.echo(
            f"wrote {len(paths)} files to {fhir}: PlanDefinition/{pack.meta.id}, {len(pack.therapies)} "
            f"ActivityDefinitions, CodeSystems and bundle.json (pack {pack.meta.version})"
        )
