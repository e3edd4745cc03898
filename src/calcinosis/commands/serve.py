"""`calcinosis serve`, `calcinosis audit list|export|feedback|verify` and `calcinosis cds-hooks check URL`."""

from __future__ import annotations

import copy
import csv
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from calcinosis.errors import EXIT_QUARANTINED, InputError, StoreError
from calcinosis.settings import load_settings, parse_issuer_options

audit_app = typer.Typer(
    help="The audit trail of assessments served, and card feedback.", no_args_is_help=True
)
cds_app = typer.Typer(help="CDS Hooks tools.", no_args_is_help=True)


class ExportKind(StrEnum):
    AUDIT = "audit"
    FEEDBACK = "feedback"


class ExportFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with the calcinosis loggers on the same handler (in every worker process)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["default"]["fmt"] = "%(asctime)s %(levelprefix)s %(name)s: %(message)s"
    config["loggers"]["calcinosis"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    config["loggers"]["uvicorn"]["level"] = level.upper()
    return config


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Serve the example patients.")] = False,
    trusted_issuer: Annotated[
        list[str] | None,
        typer.Option("--trusted-issuer", help="ISS=JWKS_URL_OR_FILE; repeat for each EHR issuer trusted."),
    ] = None,
    public_base_url: Annotated[
        str | None, typer.Option(help="External base URL (JWT aud is checked against it).")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Server processes.")] = None,
    engine_processes: Annotated[
        int | None, typer.Option(min=0, max=64, help="Assessment processes (e.g. one per core; 0: threads).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the REST API and the CDS Hooks services (FastAPI on uvicorn)."""
    import uvicorn

    from calcinosis.api import create_app
    from calcinosis.pack import load_pack_cached
    from calcinosis.settings import settings_env
    from calcinosis.store import open_store

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise InputError(f"--log-level {log_level}: expected debug, info, warning or error")
    issuers = parse_issuer_options(trusted_issuer or [])
    settings = load_settings(
        host=host,
        port=port,
        demo=demo or None,
        trusted_issuers=issuers or None,
        public_base_url=public_base_url,
        workers=workers,
        engine_processes=engine_processes,
    )
    pack = load_pack_cached()
    open_store(settings).close()
    where = f"http://{settings.host}:{settings.port}"
    typer.echo(f"calcinosis-cds serving on {where} (pack {pack.meta.version}, hash {pack.short_hash})")
    typer.echo(f"  API docs {where}/docs · CDS Hooks discovery {where}/cds-services")
    if settings.demo:
        typer.echo(f"  demo patients {where}/demo/patients")
    if not settings.trusted_issuers:
        typer.echo("  no trusted issuer: unsigned calls are accepted from loopback clients only", err=True)
    from calcinosis.api.protocol import NoDelayH11Protocol

    common: dict[str, Any] = {
        "http": NoDelayH11Protocol,
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "log_config": log_config(log_level),
        "log_level": log_level.lower(),
        "timeout_graceful_shutdown": settings.graceful_timeout_s,
    }
    if settings.workers > 1:
        os.environ.update(settings_env(settings))
        uvicorn.run("calcinosis.api.app:app_from_env", factory=True, workers=settings.workers, **common)
    else:
        uvicorn.run(create_app(settings), **common)


def audit_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
) -> None:
    """The most recent assessments served."""
    from calcinosis.store import open_store

    store = open_store(load_settings())
    try:
        total = store.count_audit()
        rows = store.list_audit(
            limit=limit, after_id=max(total - limit, 0) if service is None else 0, service=service
        )
    finally:
        store.close()
    typer.echo(
        f"{'id':>6}  {'recorded (UTC)':<26} {'service':<26} {'caller':<28} {'pack':<8} {'input':<12} status"
    )
    for r in rows:
        caller = (r.caller_iss or r.caller_client or "-")[:28]
        what = f"{len(r.output.get('cards', []))} cards" if r.channel == "cds-hooks" else "assessment"
        typer.echo(
            f"{r.id:>6}  {r.recorded_at.isoformat():<26} {r.service:<26} {caller:<28} {r.pack_version:<8} "
            f"{r.input_hash[:12]:<12} {r.status} ({what})"
        )
    typer.echo(f"{total} record(s) in the {store.kind} store")


def audit_export(
    kind: Annotated[ExportKind, typer.Option(help="What to export.")] = ExportKind.AUDIT,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="ndjson (whole records) or csv (no output column).")
    ] = ExportFormat.NDJSON,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (default stdout).")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
) -> None:
    """Every record, oldest first: the audit trail or the card feedback."""
    from calcinosis.store import open_store

    store = open_store(load_settings())
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        records: Any = (
            store.iter_audit(service=service) if kind is ExportKind.AUDIT else store.list_feedback(service)
        )
        writer: csv.DictWriter[str] | None = None
        for record in records:
            row = record.model_dump(mode="json")
            if fmt is ExportFormat.NDJSON:
                out.write(orjson.dumps(row).decode() + "\n")
                continue
            row.pop("output", None)  # CSV is the index; NDJSON carries the whole output
            row = {k: (orjson.dumps(v).decode() if isinstance(v, dict | list) else v) for k, v in row.items()}
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
    finally:
        store.close()
        if output:
            out.close()


def audit_feedback(service: Annotated[str | None, typer.Option(help="Only this service.")] = None) -> None:
    """Acceptance and override rates per recommendation and per evidence level (distinct cards)."""
    from calcinosis.cdshooks.feedback import summary_json
    from calcinosis.store import open_store

    store = open_store(load_settings())
    try:
        summary = summary_json(store.feedback_summary(service))
    finally:
        store.close()
    for title, key in (("recommendation", "byRecommendation"), ("evidence level", "byEvidenceLevel")):
        typer.echo(f"by {title}:")
        for row in summary[key]:
            typer.echo(
                f"  {row['key']:<40} accepted {row['accepted']:>4}  overridden {row['overridden']:>4}  "
                f"override rate {row['overrideRate']:.0%}"
            )


def audit_verify() -> None:
    """Check the store's integrity (SQLite integrity and foreign-key checks; PostgreSQL orphan check)."""
    from calcinosis.store import open_store

    store = open_store(load_settings())
    try:
        problems = store.integrity_errors()
        count = store.count_audit()
    finally:
        store.close()
    if problems:
        raise StoreError("store: integrity check failed: " + "; ".join(problems[:5]))
    typer.echo(f"{store.kind} store intact: {count} audit record(s)")


def cds_check(
    url: Annotated[str, typer.Argument(help="Base URL of the CDS service (discovery is URL/cds-services).")],
    issuer: Annotated[str | None, typer.Option(help="Sign calls as this JWT issuer.")] = None,
    key: Annotated[
        Path | None, typer.Option(help="Private JWK (JSON file) to sign with; needs --issuer.")
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, max=60)] = 10.0,
) -> None:
    """Check a CDS Hooks service against the 2.0 rules (discovery, cards, suggestions, feedback)."""
    import httpx

    from calcinosis.cdshooks.checker import jwt_signer, run_check

    if not url.startswith(("http://", "https://")):
        raise InputError(f"{url}: expected an http(s) URL")
    sign = None
    if key is not None or issuer is not None:
        if key is None or issuer is None:
            raise InputError("--issuer and --key go together")
        sign = jwt_signer(issuer, orjson.loads(key.read_bytes()))
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            report = run_check(url, client, sign)
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: could not reach the service ({type(exc).__name__})") from exc
    for step in report.steps:
        mark = "ok  " if step.ok else "FAIL"
        typer.echo(f"{mark} {step.name} [{step.status}]" + (f" - {step.note}" if step.note else ""))
        for v in step.violations:
            typer.echo(f"       {v}")
    errors = sum(1 for s in report.steps for v in s.violations if v.level == "error")
    typer.echo(
        f"{'conformant' if report.ok else 'NOT conformant'}: {len(report.steps)} steps, {errors} error(s)"
    )
    if not report.ok:
        raise typer.Exit(EXIT_QUARANTINED)


def register(app: typer.Typer) -> None:
    from calcinosis.cli import guarded

    app.command("serve")(guarded(serve))
    audit_app.command("list")(guarded(audit_list))
    audit_app.command("export")(guarded(audit_export))
    audit_app.command("feedback")(guarded(audit_feedback))
    audit_app.command("verify")(guarded(audit_verify))
    cds_app.command("check")(guarded(cds_check))
    app.add_typer(audit_app, name="audit")
    app.add_typer(cds_app, name="cds-hooks")
