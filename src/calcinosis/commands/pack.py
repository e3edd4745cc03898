"""`calcinosis therapies`, `calcinosis therapy ID` and `calcinosis pack check|show`."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from calcinosis.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from calcinosis.pack.knowledge import KnowledgePack

pack_app = typer.Typer(help="Check, show or export the knowledge pack.", no_args_is_help=True)


class ListFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


def _dump(obj: object) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


def therapy_json(pack: KnowledgePack, therapy_id: str) -> dict[str, object]:
    from calcinosis.engine.rank import evidence_of

    therapy = pack.therapies.get(therapy_id)
    if therapy is None:
        raise NotFoundError(f"therapy '{therapy_id}' not found (see `calcinosis therapies`)")
    out: dict[str, object] = therapy.model_dump(mode="json")
    out["evidence"] = evidence_of(therapy, pack).model_dump(mode="json")
    out["level_conflicts"] = [c.model_dump(mode="json") for c in pack.evidence[therapy.id].conflicts]
    return out


def ladder_json(pack: KnowledgePack, setting: str | None) -> list[dict[str, object]]:
    from calcinosis.engine.ladder import ladder
    from calcinosis.engine.rank import evidence_of

    return [
        {
            "id": t.id,
            "name": t.name,
            "lines": [ln.model_dump(mode="json") for ln in t.lines],
            "evidence": evidence_of(t, pack).model_dump(mode="json"),
            "settings": [f.model_dump(mode="json") for f in t.settings],
            "conflicts": len(pack.all_conflicts(t.id)),
        }
        for t in ladder(pack, setting)
    ]


def _setting(pack: KnowledgePack, subtype: str | None) -> str | None:
    if subtype is None:
        return None
    if subtype in pack.settings:
        return subtype
    matches = [s.id for s in pack.settings.values() if s.subtype == subtype or s.id.startswith(subtype)]
    if len(matches) == 1:
        return matches[0]
    raise InputError(f"--subtype: '{subtype}' is not one of: {', '.join(pack.settings)}")


def register(app: typer.Typer) -> None:
    from calcinosis.commands.guard import guarded

    @app.command("therapies")
    @guarded
    def therapies_cmd(
        subtype: str | None = typer.Option(
            None, "--subtype", help="A setting id (e.g. dystrophic-ssc, calciphylaxis)."
        ),
        fmt: ListFormat = typer.Option(ListFormat.TEXT, "--format", "-f"),
    ) -> None:
        """The evidence ladder: every therapy with its stated lines and derived evidence level."""
        from calcinosis.pack import load_pack_cached

        pack = load_pack_cached()
        setting = _setting(pack, subtype)
        if fmt is ListFormat.JSON:
            _dump(ladder_json(pack, setting))
        elif fmt is ListFormat.MARKDOWN:
            from calcinosis.render.markdown import ladder_markdown

            sys.stdout.write(ladder_markdown(pack, setting))
        else:
            from rich.console import Console

            from calcinosis.render.text import print_ladder

            print_ladder(pack, Console(width=140), setting)

    @app.command("therapy")
    @guarded
    def therapy_cmd(
        therapy_id: str = typer.Argument(..., metavar="ID"),
        fmt: ListFormat = typer.Option(ListFormat.TEXT, "--format", "-f"),
    ) -> None:
        """One therapy: studies, derived and stated levels, cautions and conflicts."""
        from calcinosis.pack import load_pack_cached

        pack = load_pack_cached()
        data = therapy_json(pack, therapy_id)
        if fmt is ListFormat.JSON:
            _dump(data)
            return
        from calcinosis.render.therapy import therapy_markdown

        text = therapy_markdown(pack, therapy_id)
        if fmt is ListFormat.MARKDOWN:
            sys.stdout.write(text)
        else:
            from rich.console import Console
            from rich.markdown import Markdown

            Console(width=140).print(Markdown(text))

    @pack_app.command("check")
    @guarded
    def check_cmd(
        directory: Path | None = typer.Argument(None, help="Pack directory (default: bundled)."),
    ) -> None:
        """Validate the pack: models, ids, sources; print counts and the content hash."""
        from calcinosis.pack import load_pack

        pack = load_pack(directory)
        typer.echo(
            f"pack ok: {len(pack.therapies)} therapies, {len(pack.subtypes)} subtypes, {len(pack.sources)} sources, "
            f"{len(pack.rules)} rules, {len(pack.alerts)} alerts, {len(pack.workup)} work-up items; "
            f"version {pack.meta.version}, hash {pack.content_hash}"
        )

    @pack_app.command("show")
    @guarded
    def show_cmd(fmt: ListFormat = typer.Option(ListFormat.JSON, "--format", "-f")) -> None:
        """The whole pack, with derived evidence levels and conflicts."""
        from calcinosis.pack import load_pack_cached

        pack = load_pack_cached()
        data = pack.model_dump(mode="json")
        if fmt is not ListFormat.JSON:
            raise InputError("pack show supports --format json only")
        _dump(data)

    app.add_typer(pack_app, name="pack")
