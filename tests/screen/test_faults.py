"""Damaged exports are set aside, never abort the run or drop data silently, on both engines.

Each fault is made in a copy of one clean synthetic export: a truncated or unreadable .ndjson.gz, invalid
UTF-8, lines over the size limit, a not-JSON line too long for a CSV reader, a file the manifest names but
that is missing, a resource type with no file.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from calcinosis.errors import EXIT_OK, EXIT_QUARANTINED, InputError
from calcinosis.screen import ScreenOptions, ScreenResult, run_screen
from calcinosis.synth import generate_export
from tests.screen.conftest import AS_OF, assessments

PATIENTS = 80
SEED = 5


@pytest.fixture(scope="module")
def clean_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "clean"
    generate_export(out, PATIENTS, SEED, bad_line_rate=0.0)
    return out


@pytest.fixture(scope="module")
def clean_run(clean_export: Path, tmp_path_factory: pytest.TempPathFactory) -> ScreenResult:
    result = run_screen(
        ScreenOptions(clean_export, tmp_path_factory.mktemp("faults") / "out", as_of=AS_OF, progress=False)
    )
    assert result.exit_code == EXIT_OK and result.tally.assessed >= 5
    return result


def copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def screen(export: Path, out: Path, engine: str, **options: Any) -> ScreenResult:
    return run_screen(
        ScreenOptions(export, out, engine=engine, as_of=AS_OF, workers=1, progress=False, **options)
    )


def records(out: Path) -> list[dict[str, Any]]:
    folder = out / "quarantine"
    if not folder.exists():
        return []
    return [orjson.loads(line) for f in sorted(folder.iterdir()) for line in f.read_bytes().splitlines()]


def issue_messages(out: Path) -> dict[str, list[str]]:
    return {
        pid: [i["message"] for i in a["input_issues"]]  # type: ignore[index, union-attr]
        for pid, a in assessments(out).items()
    }


def rename_in_manifest(export: Path, old: str, new: str) -> None:
    manifest = json.loads((export / "manifest.json").read_text())
    for item in manifest["output"]:
        item["url"] = item["url"].replace(f"/{old}", f"/{new}")
    (export / "manifest.json").write_text(json.dumps(manifest))


def replace_line(path: Path, index: int, line: bytes) -> bytes:
    lines = path.read_bytes().split(b"\n")
    old = lines[index]
    lines[index] = line
    path.write_bytes(b"\n".join(lines))
    return old


def test_truncated_gzip_is_read_up_to_the_damage_and_set_aside_as_a_file(
    engine: str, clean_export: Path, clean_run: ScreenResult, tmp_path: Path
) -> None:
    export = copy(clean_export, tmp_path / "export")
    raw = (export / "Observation.ndjson").read_bytes()
    (export / "Observation.ndjson").unlink()
    packed = gzip.compress(raw, mtime=0)
    cut = packed[: len(packed) * 2 // 3]
    (export / "Observation.ndjson.gz").write_bytes(cut)
    rename_in_manifest(export, "Observation.ndjson", "Observation.ndjson.gz")
    inflater = zlib.decompressobj(wbits=31)
    readable = inflater.decompress(cut) + inflater.flush()
    complete, partial = readable.count(b"\n"), readable.rsplit(b"\n", 1)[1]
    assert 0 < complete < raw.count(b"\n") and partial

    result = screen(export, tmp_path / "out", engine)

    assert result.figures.engine == engine
    assert result.counts.resources_by_type["Observation"] == complete
    found = records(tmp_path / "out")
    damaged = [r for r in found if r["reason"] == "damaged-file"]
    assert [r["file"] for r in damaged] == ["Observation.ndjson.gz"]
    assert "ends early" in damaged[0]["detail"] and f"{complete:,} lines" in damaged[0]["detail"]
    cut_line = [r for r in found if r["reason"] == "truncated-line"]
    assert [r["line"] for r in cut_line] == [partial.decode()]
    assert result.quarantined == {"damaged-file": 1, "truncated-line": 1}
    # The same patients are assessed, each saying its labs may be incomplete.
    messages = issue_messages(tmp_path / "out")
    assert sorted(messages) == sorted(assessments(clean_run.out_dir))
    for pid, said in messages.items():
        assert any(m.startswith("Observation export damaged (Observation.ndjson.gz") for m in said), pid
    assert result.incomplete == len(messages)
    assert result.exit_code == EXIT_QUARANTINED
    html = result.files["report"].read_text()
    assert "Files set aside" in html and "Observation.ndjson.gz" in html and "damaged-file" in html
    assert f'Assessments on incomplete input</th><td class="n">{len(messages)}' in html


def _not_gzip(export: Path, raw: bytes) -> str:
    (export / "Observation.ndjson.gz").write_bytes(b"this is not gzip data at all\n")
    return "not a gzip file"


def _bad_checksum(export: Path, raw: bytes) -> str:
    packed = bytearray(gzip.compress(raw, mtime=0))
    packed[-8] ^= 0xFF  # the CRC-32 of the member
    (export / "Observation.ndjson.gz").write_bytes(bytes(packed))
    return "checksum"


def _directory(export: Path, raw: bytes) -> str:
    (export / "Observation.ndjson.gz").mkdir()
    (export / "Observation.ndjson.gz" / "part").write_bytes(raw)
    return "directory"


@pytest.mark.parametrize("damage", [_not_gzip, _bad_checksum, _directory], ids=["not-gzip", "crc", "dir"])
def test_unreadable_file_is_set_aside_and_every_assessment_says_its_type_was_not_read(
    engine: str, damage: Any, clean_export: Path, clean_run: ScreenResult, tmp_path: Path
) -> None:
    export = copy(clean_export, tmp_path / "export")
    raw = (export / "Observation.ndjson").read_bytes()
    (export / "Observation.ndjson").unlink()
    rename_in_manifest(export, "Observation.ndjson", "Observation.ndjson.gz")
    why = damage(export, raw)

    result = screen(export, tmp_path / "out", engine)

    assert "Observation" not in result.counts.resources_by_type
    found = records(tmp_path / "out")
    assert [(r["file"], r["reason"]) for r in found] == [("Observation.ndjson.gz", "unreadable-file")]
    assert why in found[0]["detail"]
    messages = issue_messages(tmp_path / "out")
    assert sorted(messages) == sorted(assessments(clean_run.out_dir))
    for said in messages.values():
        assert any(m.startswith("Observation export unreadable (Observation.ndjson.gz") for m in said)
    assert result.exit_code == EXIT_QUARANTINED


def test_gzip_corrupted_in_the_middle_is_never_used_as_if_whole(clean_export: Path, tmp_path: Path) -> None:
    export = copy(clean_export, tmp_path / "export")
    raw = (export / "Observation.ndjson").read_bytes()
    (export / "Observation.ndjson").unlink()
    packed = bytearray(gzip.compress(raw, mtime=0))
    for i in range(len(packed) // 2, len(packed) // 2 + 16):
        packed[i] ^= 0x5A
    (export / "Observation.ndjson.gz").write_bytes(bytes(packed))
    rename_in_manifest(export, "Observation.ndjson", "Observation.ndjson.gz")

    result = screen(export, tmp_path / "out", "duckdb")

    # Before: DuckDB read past the damage without a word and fed the garbage on as lines.
    file_records = [r for r in records(tmp_path / "out") if r["reason"].endswith("-file")]
    assert [r["file"] for r in file_records] == ["Observation.ndjson.gz"]
    assert result.counts.resources_by_type.get("Observation", 0) < raw.count(b"\n")
    assert result.incomplete == result.tally.assessed > 0


def test_invalid_utf8_and_oversized_lines_are_set_aside_line_by_line(
    engine: str, clean_export: Path, clean_run: ScreenResult, tmp_path: Path
) -> None:
    export = copy(clean_export, tmp_path / "export")
    old = replace_line(export / "Condition.ndjson", 3, b"")
    replace_line(export / "Condition.ndjson", 3, old.replace(b'"id":"', b'"id":"\xff\xfe', 1))
    obs = (export / "Observation.ndjson").read_bytes().split(b"\n")
    obs[5] = obs[5].replace(b'"status":"', b'"status":"\xc3(', 1)
    (export / "Observation.ndjson").unlink()
    (export / "Observation.ndjson.gz").write_bytes(gzip.compress(b"\n".join(obs), mtime=0))
    rename_in_manifest(export, "Observation.ndjson", "Observation.ndjson.gz")
    med = (export / "MedicationRequest.ndjson").read_bytes().split(b"\n")[1]
    huge = (
        med[:-1] + b',"note":[{"text":"' + b"x" * (33 * 2**20) + b'"}]}'
    )  # DuckDB's reader gives up at 32 MiB
    replace_line(export / "MedicationRequest.ndjson", 1, huge)
    stmt = (export / "MedicationStatement.ndjson").read_bytes().split(b"\n")[0]
    broken = stmt[:-1] + b',"note":[{"text":"' + b"y" * (3 * 2**20) + b'"}'  # not JSON, over 2 MB
    replace_line(export / "MedicationStatement.ndjson", 0, broken)

    result = screen(export, tmp_path / "out", engine)

    found = {(r["file"], r["reason"]): r for r in records(tmp_path / "out")}
    assert sorted(found) == [
        ("Condition.ndjson", "invalid-utf8"),
        ("MedicationRequest.ndjson", "line-too-long"),
        ("MedicationStatement.ndjson", "not-json"),
        ("Observation.ndjson.gz", "invalid-utf8"),
    ]
    assert "\\xff\\xfe" in found[("Condition.ndjson", "invalid-utf8")]["line"]
    assert "line 4" in found[("Condition.ndjson", "invalid-utf8")]["detail"]
    assert "line 6" in found[("Observation.ndjson.gz", "invalid-utf8")]["detail"]
    too_long = found[("MedicationRequest.ndjson", "line-too-long")]
    assert f"{len(huge):,} bytes" in too_long["detail"] and "16 MiB" in too_long["detail"]
    assert too_long["line"] == huge[:1024].decode()
    assert found[("MedicationStatement.ndjson", "not-json")]["line"] == broken.decode()
    clean = clean_run.counts.resources_by_type
    assert result.counts.resources_by_type == {
        t: n - (1 if t in {"Condition", "Observation", "MedicationRequest", "MedicationStatement"} else 0)
        for t, n in clean.items()
    }
    assert result.incomplete == 0
    assert not [m for said in issue_messages(tmp_path / "out").values() for m in said if "export" in m]
    assert result.exit_code == EXIT_QUARANTINED


def test_file_named_in_the_manifest_but_missing_is_an_error_unless_allowed(
    engine: str, clean_export: Path, clean_run: ScreenResult, tmp_path: Path
) -> None:
    export = copy(clean_export, tmp_path / "export")
    (export / "Observation.ndjson").unlink()
    with pytest.raises(InputError, match=r"Observation\.ndjson.*missing.*--allow-missing Observation"):
        screen(export, tmp_path / "refused", engine)

    result = screen(export, tmp_path / "out", engine, allow_missing=frozenset({"Observation"}))

    assert "Observation" not in result.counts.resources_by_type
    messages = issue_messages(tmp_path / "out")
    assert sorted(messages) == sorted(assessments(clean_run.out_dir))
    for said in messages.values():
        assert "Observation export missing: labs and other observations not read" in said
    assert result.incomplete == len(messages)
    assert result.exit_code == EXIT_OK  # nothing set aside; the gap was allowed and is reported
    html = result.files["report"].read_text()
    assert "Observation.ndjson" in html and "allowed missing" in html


def test_resource_type_without_a_file_is_an_error_unless_allowed(
    engine: str, clean_export: Path, tmp_path: Path
) -> None:
    export = copy(clean_export, tmp_path / "export")
    (export / "manifest.json").unlink()
    (export / "Procedure.ndjson").unlink()
    with pytest.raises(InputError, match=r"Procedure: no file.*--allow-missing Procedure"):
        screen(export, tmp_path / "refused", engine)

    result = screen(export, tmp_path / "out", engine, allow_missing=frozenset({"Procedure"}))

    assert "Procedure" not in result.counts.resources_by_type
    for said in issue_messages(tmp_path / "out").values():
        assert "Procedure export missing: procedures not read" in said


def test_cli_names_the_missing_file_in_one_line_and_takes_allow_missing(
    clean_export: Path, tmp_path: Path
) -> None:
    export = copy(clean_export, tmp_path / "export")
    (export / "Observation.ndjson").unlink()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "calcinosis", "screen", str(export), "--out", str(tmp_path / "out")]
        return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300, check=False)

    refused = cli()
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and len(refused.stderr.strip().splitlines()) == 1
    assert "Observation.ndjson" in refused.stderr and "--allow-missing Observation" in refused.stderr
    allowed = cli("--allow-missing", "Observation", "--allow-missing", "Procedure")
    assert allowed.returncode == EXIT_OK, allowed.stderr
    assert "missing (allowed): Observation" in allowed.stderr
    unknown = cli("--allow-missing", "Encounter")
    assert unknown.returncode == 2 and "Encounter" in unknown.stderr


def test_cli_exits_1_and_counts_the_damaged_file_when_a_gzip_is_truncated(
    clean_export: Path, tmp_path: Path
) -> None:
    export = copy(clean_export, tmp_path / "export")
    raw = (export / "Patient.ndjson").read_bytes()
    (export / "Patient.ndjson").unlink()
    (export / "Patient.ndjson.gz").write_bytes(gzip.compress(raw, mtime=0)[:-40])
    rename_in_manifest(export, "Patient.ndjson", "Patient.ndjson.gz")
    cmd = [sys.executable, "-m", "calcinosis", "screen", str(export), "--out", str(tmp_path / "out")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == EXIT_QUARANTINED, r.stderr
    assert "1 damaged-file" in r.stderr and "Traceback" not in r.stderr


def test_gzip_forms_python_reads_are_read_whole_without_a_fault(
    engine: str, clean_export: Path, clean_run: ScreenResult, tmp_path: Path
) -> None:
    """Zero padding after the stream, several members, an empty .gz: DuckDB refuses the first and the
    last as they are; the screen reads a copy and reports nothing."""
    export = copy(clean_export, tmp_path / "export")
    raw = (export / "Observation.ndjson").read_bytes()
    (export / "Observation.ndjson").unlink()
    half = raw.index(b"\n", len(raw) // 2) + 1
    members = gzip.compress(raw[:half], mtime=0) + gzip.compress(raw[half:], mtime=0)
    (export / "Observation.ndjson.gz").write_bytes(members + b"\0" * 512)
    rename_in_manifest(export, "Observation.ndjson", "Observation.ndjson.gz")
    (export / "Procedure.ndjson").unlink()
    (export / "Procedure.ndjson.gz").write_bytes(b"")
    rename_in_manifest(export, "Procedure.ndjson", "Procedure.ndjson.gz")

    result = screen(export, tmp_path / "out", engine)

    assert records(tmp_path / "out") == [] and result.exit_code == EXIT_OK
    clean = dict(clean_run.counts.resources_by_type)
    clean.pop("Procedure", None)
    assert result.counts.resources_by_type == clean
    assert result.incomplete == 0


def test_every_type_read_says_what_is_lost_when_it_is_missing() -> None:
    from calcinosis.screen.ndjson import RESOURCE_TYPES
    from calcinosis.screen.pipeline import NOT_READ

    assert set(NOT_READ) == set(RESOURCE_TYPES)
