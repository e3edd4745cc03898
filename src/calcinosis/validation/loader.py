"""Read a corpus directory of published-case files and check every id against the knowledge pack.

Every error is one line naming the file and the field, e.g.
``jdm-girl.yaml: expectation.must_avoid: unknown therapy id 'warfarin'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from calcinosis import parse_case
from calcinosis.errors import InputError
from calcinosis.pack import KnowledgePack, load_pack_cached
from calcinosis.patient import Case, InputIssue
from calcinosis.validation.models import CorpusCase, Note

"""Therapy ids the lead is adding to the pack: named in a corpus they give a warning, not an error.
Remove an id from here once the pack has it."""

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SUFFIXES = (".yaml", ".yml")


class CorpusError(InputError):
    """A corpus file cannot be used; the message names the file and the field."""

    code = "invalid-corpus"


@dataclass(frozen=True)
class LoadedCase:
    """One corpus file: its validated entry and the patient read from its ``case`` block."""

    file: str
    entry: CorpusCase
    case: Case
    issues: tuple[InputIssue, ...]


@dataclass(frozen=True)
class Corpus:
    root: Path
    cases: tuple[LoadedCase, ...]
    notes: tuple[Note, ...]

    def only(self, case_id: str) -> Corpus:
        """The corpus reduced to one case; an unknown id is a CorpusError."""
        kept = tuple(c for c in self.cases if c.entry.id == case_id)
        if not kept:
            raise CorpusError(f"--case: no case '{case_id}' in {self.root}")
        return Corpus(self.root, kept, tuple(n for n in self.notes if n.file == kept[0].file))


def _message(err: dict[str, Any]) -> str:
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    if err.get("type") == "missing":
        return "required field is missing"
    return str(err.get("msg", "invalid value"))


def _parse_entry(data: Any, rel: str) -> CorpusCase:
    if not isinstance(data, dict):
        raise CorpusError(f"{rel}: expected a mapping with id, report, expectation and case")
    try:
        return CorpusCase.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise CorpusError(f"{rel}: {loc}: {_message(dict(err))}") from None


def _read(path: Path, rel: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorpusError(f"{rel}: not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (libyaml's when available)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise CorpusError(f"{rel}: not valid YAML{where}: {first[0] if first else exc}") from None


def _check_ids(entry: CorpusCase, rel: str, pack: KnowledgePack) -> None:
    exp = entry.expectation
    variants = {s.id for s in pack.subtypes.values() if s.kind == "variant"}
    if exp.variant is not None and exp.variant not in variants:
        raise CorpusError(
            f"{rel}: expectation.variant: unknown variant id '{exp.variant}' (one of: {', '.join(sorted(variants))})"
        )
    for field in ("must_include", "must_avoid", "top_option"):
        for tid in getattr(exp, field):
            if tid in pack.therapies:
                continue
            raise CorpusError(f"{rel}: expectation.{field}: unknown therapy id '{tid}'")
    for field in ("workup_missing", "workup_not"):
        for wid in getattr(exp, field):
            if wid not in pack.workup:
                raise CorpusError(f"{rel}: expectation.{field}: unknown work-up item id '{wid}'")
    overlap = set(exp.must_include) & set(exp.must_avoid)
    if overlap:
        raise CorpusError(
            f"{rel}: expectation: '{sorted(overlap)[0]}' is both in must_include and must_avoid"
        )
    both = set(exp.workup_missing) & set(exp.workup_not)
    if both:
        raise CorpusError(f"{rel}: expectation: '{sorted(both)[0]}' is both in workup_missing and workup_not")


def _parse_case(entry: CorpusCase, rel: str, notes: list[Note]) -> tuple[Case, tuple[InputIssue, ...]]:
    try:
        case, issues = parse_case(entry.case)
    except InputError as exc:
        msg = str(exc)
        msg = msg[len("case: ") :] if msg.startswith("case: ") else msg
        raise CorpusError(f"{rel}: case.{msg}") from None
    for issue in issues:
        if issue.message == "unknown field ignored":
            raise CorpusError(f"{rel}: case.{issue.location}: unknown field")
    case_id = entry.case.get("id")
    if case_id is not None and case_id != entry.id:
        notes.append(
            Note(level="warning", file=rel, message=f"case.id '{case_id}' differs from the file's id")
        )
    return case, tuple(issues)


def load_corpus(directory: str | Path, pack: KnowledgePack | None = None) -> Corpus:
    """Read and check every ``*.yaml`` file of a corpus directory. Raises CorpusError on the first bad file."""
    root = Path(directory)
    if not root.exists():
        raise CorpusError(f"{directory}: corpus directory not found")
    if not root.is_dir():
        raise CorpusError(f"{directory}: not a directory")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix in _SUFFIXES)
    if not files:
        raise CorpusError(f"{directory}: no case files (*.yaml) in the corpus directory")
    pack = pack or load_pack_cached()
    notes: list[Note] = []
    seen: dict[str, str] = {}
    loaded: list[LoadedCase] = []
    for path in files:
        rel = path.name
        entry = _parse_entry(_read(path, rel), rel)
        if entry.id != path.stem:
            raise CorpusError(f"{rel}: id: '{entry.id}' must equal the file name without extension")
        if entry.id in seen:
            raise CorpusError(f"{rel}: id: '{entry.id}' is also used by {seen[entry.id]}")
        seen[entry.id] = rel
        _check_ids(entry, rel, pack)
        case, issues = _parse_case(entry, rel, notes)
        loaded.append(LoadedCase(file=rel, entry=entry, case=case, issues=issues))
    return Corpus(root=root, cases=tuple(loaded), notes=tuple(notes))
