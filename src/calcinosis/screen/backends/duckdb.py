"""The default engine: embedded DuckDB, no set-up, bounded memory (spills to a work folder).

Two passes over the files, each with an explicit schema:

1. the selector files (Condition, Procedure, MedicationRequest, MedicationStatement, MedicationAdministration)
   are read as typed columns (subject, codings, text) and matched against the selection tables: the picked
   patient ids;
2. every file is read once as raw JSON objects; resourceType, subject and id are extracted, bad lines are
   marked with their reason, and only picked patients' lines keep their text (a temp table that DuckDB
   spills to disk past ``memory_limit``).

Groups are then streamed in patient order (a sort that spills), ``fetchmany`` at a time. Lines that are
not JSON lose their text in pass 2, so for the few files that have any, a line reader recovers it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from calcinosis.errors import InputError
from calcinosis.screen.backends.base import (
    TYPE_RANK,
    BackendSettings,
    PatientGroup,
    ScanCounts,
    ScreenBackend,
)
from calcinosis.screen.integrity import MAX_LINE_BYTES
from calcinosis.screen.ndjson import PATIENT_REFERENCE_PATTERN, RESOURCE_TYPES, SELECTOR_TYPES, ExportFiles
from calcinosis.screen.quarantine import BadLine, BadLineReason, describe
from calcinosis.screen.selection import Selection

FETCH_ROWS = 2048
_CODEABLE = "STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[], text VARCHAR)"
SELECTOR_COLUMNS = (
    "{'resourceType': 'VARCHAR', 'subject': 'STRUCT(reference VARCHAR)', "
    f"'code': '{_CODEABLE}', 'medicationCodeableConcept': '{_CODEABLE}'}}"
)


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(paths: tuple[Path, ...]) -> str:
    return "[" + ", ".join(sql_text(str(p)) for p in paths) + "]"


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(sql_text(v) for v in values) + ")"


class DuckDBBackend(ScreenBackend):
    name = "duckdb"

    def __init__(self, settings: BackendSettings) -> None:
        super().__init__(settings)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError("DuckDBBackend used outside its context")
        return self._con

    def open(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="calcinosis-screen-", dir=self.settings.work_dir)
        con = duckdb.connect(":memory:")
        con.execute(f"SET threads = {int(self.settings.threads)}")
        con.execute(f"SET memory_limit = '{int(self.settings.memory_mb)}MB'")
        con.execute(f"SET temp_directory = {sql_text(str(Path(self._tmp.name) / 'spill'))}")
        con.execute("SET preserve_insertion_order = false")
        self._con = con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # ------------------------------------------------------------------ pass 1
    def _pick(self, files: tuple[Path, ...], selection: Selection) -> None:
        """Picked patient ids: one typed scan of the selector files, codings unnested once, literal tables."""
        systems = " ".join(
            f"WHEN {sql_text(uri)} THEN {sql_text(set_id)}" for uri, set_id, _ in selection.systems
        )
        hierarchical = _in_list(tuple(sorted({sid for _, sid, h in selection.systems if h})) or ("",))
        keys = "[" + ", ".join(sql_text(f"{sid}|{k}") for sid, k in selection.keys) + "]::VARCHAR[]"
        families = " ".join(
            f"OR (set_id = {sql_text(sid)} AND starts_with(key, {sql_text(prefix)}) AND key <> {sql_text(prefix)})"
            for sid, prefix in selection.families
        )
        text_test = "false"
        if selection.text_pattern:
            text_test = f"""coalesce(regexp_matches(concat_ws(' | ', code_text, med_text,
                array_to_string(list_transform(codings, lambda c: c.display), ' | ')),
                {sql_text(selection.text_pattern)}), false)"""
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE selector_rows AS
            SELECT nullif(regexp_extract(subject.reference, {sql_text(PATIENT_REFERENCE_PATTERN)}, 1), '') AS pid,
                   list_concat(coalesce(code.coding, []), coalesce(medicationCodeableConcept.coding, [])) AS codings,
                   code.text AS code_text, medicationCodeableConcept.text AS med_text
            FROM read_ndjson({sql_list(files)}, columns = {SELECTOR_COLUMNS}, ignore_errors = true)
            WHERE resourceType IN {_in_list(SELECTOR_TYPES)}
            """
        )
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE picked AS
            WITH flagged AS (
                SELECT pid, {text_test} AS by_text,
                       unnest(CASE WHEN len(codings) = 0 THEN [NULL] ELSE codings END) AS c
                FROM selector_rows WHERE pid IS NOT NULL
            ),
            systemed AS (
                SELECT pid, by_text, CASE trim(c.system) {systems or "WHEN NULL THEN NULL"} END AS set_id,
                       upper(trim(c.code)) AS code
                FROM flagged
            ),
            keyed AS MATERIALIZED (  -- materialised: the optimiser would otherwise copy key into every test
                SELECT pid, by_text, set_id,
                       CASE WHEN set_id IN {hierarchical} THEN replace(code, '.', '') ELSE code END AS key
                FROM systemed
            )
            SELECT DISTINCT pid FROM keyed
            WHERE by_text OR (key IS NOT NULL AND set_id IS NOT NULL
                              AND (list_contains({keys}, set_id || '|' || key) {families}))
            """  # noqa: S608 - built from constants and quoted literals (sql_text)
        )
        self.con.execute("DROP TABLE selector_rows")

    # ------------------------------------------------------------------ pass 2
    def _read_lines(self, files: tuple[Path, ...]) -> None:
        """One row per line, kept small: the file's number, the type's rank and the reason it is bad fit in
        a few bytes; only picked patients' lines and bad lines keep their text (and bad lines their type)."""
        known = _in_list(RESOURCE_TYPES)
        rank = "CASE x[1] " + " ".join(f"WHEN '{t}' THEN {i}" for t, i in TYPE_RANK.items()) + " END"
        self.con.execute("CREATE OR REPLACE TEMP TABLE files (file_no USMALLINT, path VARCHAR)")
        self.con.executemany("INSERT INTO files VALUES (?, ?)", [[i, str(p)] for i, p in enumerate(files)])
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE lines AS
            WITH raw AS (
                SELECT filename, json,
                       json_extract_string(json, ['$.resourceType', '$.subject.reference', '$.id']) AS x
                FROM read_json_objects({sql_list(files)}, format = 'newline_delimited',
                                       ignore_errors = true, filename = true)
            ),
            typed AS (
                SELECT filename, json, x[1] AS rtype, ({rank})::UTINYINT AS rank, x[3] AS id,
                       CASE WHEN x[1] = 'Patient' THEN nullif(x[3], '')
                            ELSE nullif(regexp_extract(x[2], {sql_text(PATIENT_REFERENCE_PATTERN)}, 1), '')
                       END AS pid
                FROM raw
            ),
            marked AS (
                SELECT filename, json, rtype, rank, id, pid,
                       CASE WHEN json IS NULL THEN '{BadLineReason.NOT_JSON.value}'
                            WHEN rtype IS NULL OR rtype NOT IN {known}
                                THEN '{BadLineReason.UNKNOWN_RESOURCE_TYPE.value}'
                            WHEN pid IS NULL THEN '{BadLineReason.MISSING_SUBJECT.value}'
                       END AS reason
                FROM typed
            )
            SELECT f.file_no, m.rank, m.reason,
                   CASE WHEN m.reason IS NOT NULL THEN m.rtype END AS rtype,
                   CASE WHEN m.keep THEN m.pid END AS pid,
                   CASE WHEN m.keep THEN m.id END AS id,
                   CASE WHEN m.keep OR m.reason IS NOT NULL THEN m.json::VARCHAR END AS json
            FROM (SELECT *, reason IS NULL AND pid IN (SELECT pid FROM picked) AS keep FROM marked) AS m
            JOIN files AS f ON f.path = m.filename
            """  # noqa: S608 - built from constants and quoted paths (sql_text)
        )

    def _error(self, exc: duckdb.Error) -> InputError:
        if isinstance(exc, duckdb.OutOfMemoryException):
            return InputError(
                f"DuckDB ran out of memory within {self.settings.memory_mb} MiB: raise --memory-mb or lower --threads"
            )
        return InputError(f"DuckDB could not read the export: {str(exc).splitlines()[0]}")

    def scan(self, export: ExportFiles, selection: Selection) -> ScanCounts:
        try:
            return self._scan(export, selection)
        except duckdb.Error as exc:
            raise self._error(exc) from exc

    def bad_lines(self) -> Iterator[BadLine]:
        try:
            yield from self._bad_lines()
        except duckdb.Error as exc:
            raise self._error(exc) from exc

    def groups(self) -> Iterator[PatientGroup]:
        try:
            yield from self._groups()
        except duckdb.Error as exc:
            raise self._error(exc) from exc

    def _scan(self, export: ExportFiles, selection: Selection) -> ScanCounts:
        files = export.all_files
        if not files:
            raise InputError(f"{export.root}: no NDJSON files to read")
        selector_files = export.files_of(SELECTOR_TYPES)
        if selector_files:
            self._pick(selector_files, selection)
        else:
            self.con.execute("CREATE OR REPLACE TEMP TABLE picked (pid VARCHAR)")
        self._read_lines(files)
        con = self.con
        by_rank = con.execute(
            "SELECT rank, count(*) FROM lines WHERE reason IS NULL GROUP BY rank"
        ).fetchall()
        by_type = {RESOURCE_TYPES[int(r)]: int(n) for r, n in sorted(by_rank)}
        (selected, kept) = con.execute(
            "SELECT count(DISTINCT pid), count(*) FROM lines WHERE pid IS NOT NULL"
        ).fetchall()[0]
        self._recover_not_json()
        return ScanCounts(
            resources_by_type=dict(sorted(by_type.items())),
            patients_in_export=int(by_type.get("Patient", 0)),
            patients_selected=int(selected),
            resources_selected=int(kept),
        )

    def _recover_not_json(self) -> None:
        """Recover the text of lines DuckDB's JSON reader could not parse, with a plain line reader.

        Only files that had such lines are read again; its line size limit is the screen's (longer lines were
        set aside before, ``integrity``). Should the line reader find fewer invalid lines than the JSON
        reader did, the rest are kept without text.
        """
        con = self.con
        con.execute("CREATE OR REPLACE TEMP TABLE not_json (filename VARCHAR, line VARCHAR)")
        counts = con.execute(
            "SELECT path, count(*) FROM lines JOIN files USING (file_no) WHERE reason = ? GROUP BY path ORDER BY path",
            [BadLineReason.NOT_JSON.value],
        ).fetchall()
        for filename, expected in counts:
            con.execute(
                f"""
                INSERT INTO not_json
                SELECT ?, line FROM read_csv({sql_text(filename)}, columns = {{'line': 'VARCHAR'}},
                                             header = false, delim = '\x01\x02', quote = '', escape = '',
                                             auto_detect = false, strict_mode = false, null_padding = true,
                                             max_line_size = {MAX_LINE_BYTES + 2}, buffer_size = {2 * MAX_LINE_BYTES + 4})
                WHERE line IS NOT NULL AND trim(line) <> '' AND NOT json_valid(line)
                LIMIT ?
                """,  # noqa: S608 - built from constants and quoted paths (sql_text)
                [filename, int(expected)],
            )
            (found,) = con.execute("SELECT count(*) FROM not_json WHERE filename = ?", [filename]).fetchall()[
                0
            ]
            if found < expected:
                con.executemany(
                    "INSERT INTO not_json VALUES (?, NULL)", [[filename]] * (int(expected) - found)
                )

    # ------------------------------------------------------------------ results
    def _bad_lines(self) -> Iterator[BadLine]:
        """Every set-aside line, ordered by file name, reason and text (the same order in every engine)."""
        cur = self.con.execute(
            """
            SELECT regexp_extract(path, '[^/]+$', 0) AS file, reason, rtype, json FROM lines JOIN files USING (file_no)
            WHERE reason IS NOT NULL AND reason <> ?
            UNION ALL
            SELECT regexp_extract(filename, '[^/]+$', 0), ?, NULL, line FROM not_json
            ORDER BY file, reason, json
            """,
            [BadLineReason.NOT_JSON.value, BadLineReason.NOT_JSON.value],
        )
        while rows := cur.fetchmany(FETCH_ROWS):
            for file, reason, rtype, text in rows:
                why = BadLineReason(reason)
                detail = (
                    describe(why, rtype) if text is not None else "the line could not be read (too long?)"
                )
                yield BadLine(file, why, text, detail)

    def _groups(self) -> Iterator[PatientGroup]:
        cur = self.con.execute(
            "SELECT pid, json FROM lines WHERE pid IS NOT NULL ORDER BY pid, rank, coalesce(id, ''), json"
        )
        current: str | None = None
        resources: list[bytes] = []
        while rows := cur.fetchmany(FETCH_ROWS):
            for pid, text in rows:
                if pid != current:
                    if current is not None:
                        yield PatientGroup(current, tuple(resources))
                    current, resources = pid, []
                resources.append(text.encode())
        if current is not None:
            yield PatientGroup(current, tuple(resources))
