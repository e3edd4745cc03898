"""The pack as FHIR knowledge artifacts: valid R4, complete, and loadable from the exported folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from calcinosis.fhir.canonical import EXT_QUALITY, EXT_STRENGTH
from calcinosis.fhir.plandefinition import pack_to_fhir
from calcinosis.pack import KnowledgePack
from tests.fhir.validate import validate_round_trip


def actions(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for a in node.get("action", []):
        out.append(a)
        out.extend(actions(a))
    return out


def test_every_exported_resource_validates_and_round_trips(pack: KnowledgePack) -> None:
    resources = pack_to_fhir(pack)
    for r in resources:
        validate_round_trip(r)
    kinds = [r["resourceType"] for r in resources]
    assert kinds.count("PlanDefinition") == 1
    assert kinds.count("ActivityDefinition") == len(pack.therapies)


def test_therapy_actions_carry_evidence_and_strength_as_codeable_concepts(pack: KnowledgePack) -> None:
    plan = pack_to_fhir(pack)[0]
    therapy_actions = [a for a in actions(plan) if "definitionCanonical" in a]
    assert therapy_actions
    for a in therapy_actions:
        ext = {e["url"]: e for e in a["extension"]}
        assert set(ext) == {EXT_QUALITY, EXT_STRENGTH}
        assert all(e["valueCodeableConcept"]["coding"] for e in ext.values())
        therapy = a["definitionCanonical"].rsplit("/", 1)[1]
        derived = pack.evidence[therapy].derived
        assert ext[EXT_QUALITY]["valueCodeableConcept"]["coding"][0]["code"] == (
            derived.value if derived else "none"
        )


def test_every_action_canonical_resolves_to_an_exported_definition(pack: KnowledgePack) -> None:
    resources = pack_to_fhir(pack)
    urls = {r.get("url") for r in resources}
    plan = resources[0]
    for a in actions(plan):
        if "definitionCanonical" in a:
            assert a["definitionCanonical"] in urls
    systems = {c["system"] for a in actions(plan) for cc in a.get("code", []) for c in cc.get("coding", [])}
    assert {s for s in systems if "calcinosis-cds" in s} <= urls


def test_citations_keep_pmid_and_doi_as_links(pack: KnowledgePack) -> None:
    cited = {
        art.get("url")
        for r in pack_to_fhir(pack)
        if r["resourceType"] == "ActivityDefinition"
        for art in r["relatedArtifact"]
    }
    with_pmid = [s for s in pack.sources.values() if s.identifiers.pmid]
    assert any(f"https://pubmed.ncbi.nlm.nih.gov/{s.identifiers.pmid}/" in cited for s in with_pmid)
    for r in pack_to_fhir(pack):
        for art in r.get("relatedArtifact", []):
            assert art["type"] == "citation" and art["citation"]


def test_plan_covers_every_rule_scenario_setting_and_alert(pack: KnowledgePack) -> None:
    ids = {a["id"] for a in actions(pack_to_fhir(pack)[0])}
    assert {f"rule-{r.id}" for r in pack.rules} <= ids
    assert {f"scenario-{s}" for s in pack.scenarios} <= ids
    assert {f"alert-{a.id}" for a in pack.alerts} <= ids
    studied = {f.setting for t in pack.therapies.values() for f in t.settings}
    assert {f"setting-{s}" for s in studied} <= ids


def test_cli_pack_export_writes_one_file_per_resource_and_a_bundle(
    tmp_path: Path, pack: KnowledgePack
) -> None:
    out = tmp_path / "fhir"
    r = subprocess.run(
        [sys.executable, "-m", "calcinosis", "pack", "export", "--fhir", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in out.iterdir())
    assert f"PlanDefinition-{pack.meta.id}.json" in files and "bundle.json" in files
    assert len(files) == len(pack_to_fhir(pack)) + 1
    bundle = json.loads((out / "bundle.json").read_text())
    validate_round_trip(bundle)


def test_cli_pack_export_fails_in_one_line_when_the_target_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    r = subprocess.run(
        [sys.executable, "-m", "calcinosis", "pack", "export", "--fhir", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
