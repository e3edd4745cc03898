"""The scale-out engine: Apache Spark (``pip install 'calcinosis-cds[spark]'``), local or on a cluster.

Same contract and the same two passes as the DuckDB backend, with explicit schemas (no inference pass):

1. selector files read by the JSON source with a typed schema, codings and text matched against the
   selection tables (written into the plan as literal maps and IN lists: one scan, no joins);
2. every file read as text; resourceType, subject and id parsed by ``from_json``. Lines without a
   readable resourceType are re-read as VARIANT (``try_parse_json``) so they are classified exactly as
   DuckDB does (not JSON, no known resourceType, no subject). The result is persisted (memory, then disk).

Groups are built with ``collect_list`` per patient, sorted, and pulled to the driver one partition at a
time (``toLocalIterator``). A session that was already running (tests, notebooks) is reused, not stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JError  # type: ignore[import-untyped]
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from calcinosis.errors import InputError
from calcinosis.screen.backends.base import (
    TYPE_RANK,
    BackendSettings,
    PatientGroup,
    ScanCounts,
    ScreenBackend,
)
from calcinosis.screen.backends.spark_schemas import CODING, LINE_SCHEMA, LOG4J2, SELECTOR_SCHEMA
from calcinosis.screen.ndjson import PATIENT_REFERENCE_PATTERN, RESOURCE_TYPES, SELECTOR_TYPES, ExportFiles
from calcinosis.screen.quarantine import BadLine, BadLineReason, describe
from calcinosis.screen.selection import Selection


def _error(exc: Exception) -> InputError:
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return InputError(f"Spark could not read the export: {first}")


def _pid(reference: Column) -> Column:
    return F.nullif(F.regexp_extract(reference, PATIENT_REFERENCE_PATTERN, 1), F.lit(""))


def _uris(paths: tuple[Path, ...]) -> list[str]:
    return [p.resolve().as_uri() for p in paths]


class SparkBackend(ScreenBackend):
    name = "spark"

    def __init__(self, settings: BackendSettings) -> None:
        super().__init__(settings)
        self._spark: SparkSession | None = None
        self._owned = False
        self._lines: DataFrame | None = None

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            raise RuntimeError("SparkBackend used outside its context")
        return self._spark

    def open(self) -> None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        self._owned = SparkSession.getActiveSession() is None
        builder: Any = SparkSession.builder.master(self.settings.spark_master).appName("calcinosis-screen")
        for key, value in self.spark_conf().items():
            builder = builder.config(key, value)
        try:
            spark: SparkSession = builder.getOrCreate()
        except (PySparkException, Py4JError, OSError) as exc:
            raise InputError(
                f"Spark could not start ({str(exc).splitlines()[0]}); is Java 17 installed?"
            ) from exc
        if self._owned:
            spark.sparkContext.setLogLevel("ERROR")
        self._spark = spark

    def spark_conf(self) -> dict[str, str]:
        conf = {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": str(max(8, 4 * self.settings.threads)),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.variant.allowDuplicateKeys": "true",
        }
        if self.settings.spark_master.startswith("local"):
            conf |= {"spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1"}
        if self.settings.work_dir is not None:
            conf["spark.local.dir"] = str(self.settings.work_dir / "spark")
            conf["spark.driver.extraJavaOptions"] = f"-Dlog4j.configurationFile={self._log_config()}"
        return conf

    def _log_config(self) -> Path:
        """A log4j2 configuration that lets only errors through (Spark's INFO/WARN lines are noise here)."""
        assert self.settings.work_dir is not None  # noqa: S101 - checked by the caller
        path = self.settings.work_dir / "log4j2.properties"
        path.write_text(LOG4J2)
        return path

    def close(self) -> None:
        if self._lines is not None:
            self._lines.unpersist()
            self._lines = None
        if self._spark is not None and self._owned:
            self._spark.stop()
        self._spark = None

    # ------------------------------------------------------------------ pass 1
    def _picked(self, files: tuple[Path, ...], selection: Selection) -> DataFrame:
        src = (
            self.spark.read.schema(SELECTOR_SCHEMA)
            .option("mode", "PERMISSIVE")
            .json(_uris(files))
            .where(F.col("resourceType").isin(*SELECTOR_TYPES))
            .select(
                _pid(F.col("subject.reference")).alias("pid"),
                F.concat(
                    F.coalesce(F.col("code.coding"), F.array().cast(T.ArrayType(CODING))),
                    F.coalesce(
                        F.col("medicationCodeableConcept.coding"), F.array().cast(T.ArrayType(CODING))
                    ),
                ).alias("codings"),
                F.col("code.text").alias("code_text"),
                F.col("medicationCodeableConcept.text").alias("med_text"),
            )
            .where(F.col("pid").isNotNull())
        )
        # The selection tables are small: literal maps and IN lists keep pass 1 a single scan, no joins.
        set_of = F.create_map(*[F.lit(x) for uri, set_id, _ in selection.systems for x in (uri, set_id)])
        hierarchical = F.create_map(*[F.lit(x) for uri, _, h in selection.systems for x in (uri, h)])
        keys = [f"{set_id}|{key}" for set_id, key in selection.keys]

        def coded(c: Column) -> Column:
            system = F.trim(c["system"])
            code = F.upper(F.trim(c["code"]))
            set_id = set_of[system]
            key = F.when(
                F.coalesce(hierarchical[system], F.lit(False)), F.translate(code, ".", "")
            ).otherwise(code)
            hit = F.concat_ws("|", set_id, key).isin(*keys)
            for family_set, prefix in selection.families:
                hit = hit | ((set_id == family_set) & key.startswith(prefix) & (key != prefix))
            return c["code"].isNotNull() & set_id.isNotNull() & hit

        wanted = F.exists("codings", coded)
        if selection.text_pattern:
            displays = F.array_join(F.transform("codings", lambda c: c["display"]), " | ")
            text = F.concat_ws(" | ", F.col("code_text"), F.col("med_text"), displays)
            wanted = wanted | F.coalesce(text.rlike(selection.text_pattern), F.lit(False))
        picked = src.where(wanted).select("pid")
        return picked.distinct()

    # ------------------------------------------------------------------ pass 2
    def _read_lines(self, files: tuple[Path, ...], picked: DataFrame) -> DataFrame:
        raw = (
            self.spark.read.text(_uris(files))
            .where(F.trim(F.col("value")) != "")
            .select(
                F.regexp_extract(F.input_file_name(), r"[^/]+$", 0).alias("file"),
                F.col("value"),
                F.from_json("value", LINE_SCHEMA, {"mode": "PERMISSIVE"}).alias("j"),
            )
        )
        # A line without a readable resourceType (not JSON, or JSON of another shape) is re-read as VARIANT,
        # only then, to tell bad JSON from odd JSON exactly as DuckDB does.
        variant = F.try_parse_json(F.col("value"))
        odd = F.col("j.resourceType").isNull()
        parsed = raw.select(
            "file",
            "value",
            F.when(odd, variant.isNull()).otherwise(F.lit(False)).alias("not_json"),
            F.when(odd, F.try_variant_get(variant, "$.resourceType", "string"))
            .otherwise(F.col("j.resourceType"))
            .alias("rtype"),
            F.col("j.id").alias("id"),
            F.col("j.subject.reference").alias("ref"),
        ).select(
            "file",
            "value",
            "not_json",
            "rtype",
            "id",
            F.when(F.col("rtype") == "Patient", F.nullif(F.col("id"), F.lit("")))
            .otherwise(_pid(F.col("ref")))
            .alias("pid"),
        )
        reason = (
            F.when(F.col("not_json"), F.lit(BadLineReason.NOT_JSON.value))
            .when(
                F.col("rtype").isNull() | ~F.col("rtype").isin(*RESOURCE_TYPES),
                F.lit(BadLineReason.UNKNOWN_RESOURCE_TYPE.value),
            )
            .when(F.col("pid").isNull(), F.lit(BadLineReason.MISSING_SUBJECT.value))
        )
        marked = parsed.withColumn("reason", reason)
        picked_flag = picked.select(F.col("pid").alias("picked_pid"), F.lit(True).alias("picked"))
        # Picked ids are few next to the lines: broadcast them so no line (with its text) is shuffled.
        joined = marked.join(F.broadcast(picked_flag), marked["pid"] == picked_flag["picked_pid"], "left")
        keep = F.col("reason").isNull() & F.coalesce(F.col("picked"), F.lit(False))
        return joined.select(
            "file",
            "rtype",
            "reason",
            F.when(keep, F.col("pid")).alias("pid"),
            F.when(keep, F.col("id")).alias("id"),
            F.when(keep | F.col("reason").isNotNull(), F.col("value")).alias("json"),
        )

    def scan(self, export: ExportFiles, selection: Selection) -> ScanCounts:
        try:
            return self._scan(export, selection)
        except (PySparkException, Py4JError) as exc:
            raise _error(exc) from exc

    def _scan(self, export: ExportFiles, selection: Selection) -> ScanCounts:
        selector_files = export.files_of(SELECTOR_TYPES)
        if selector_files:
            picked = self._picked(selector_files, selection)
        else:
            picked = self.spark.createDataFrame([], "pid string")
        lines = self._read_lines(export.all_files, picked).persist(StorageLevel.MEMORY_AND_DISK)
        self._lines = lines
        by_type = {
            str(r["rtype"]): int(r["count"])
            for r in lines.where(F.col("reason").isNull()).groupBy("rtype").count().collect()
        }
        totals = (
            lines.where(F.col("pid").isNotNull())
            .agg(F.countDistinct("pid").alias("patients"), F.count(F.lit(1)).alias("resources"))
            .collect()[0]
        )
        return ScanCounts(
            resources_by_type=dict(sorted(by_type.items())),
            patients_in_export=by_type.get("Patient", 0),
            patients_selected=int(totals["patients"]),
            resources_selected=int(totals["resources"]),
        )

    @property
    def lines(self) -> DataFrame:
        if self._lines is None:
            raise RuntimeError("SparkBackend.scan must run first")
        return self._lines

    def bad_lines(self) -> Iterator[BadLine]:
        try:
            yield from self._bad_lines()
        except (PySparkException, Py4JError) as exc:
            raise _error(exc) from exc

    def groups(self) -> Iterator[PatientGroup]:
        try:
            yield from self._groups()
        except (PySparkException, Py4JError) as exc:
            raise _error(exc) from exc

    def _bad_lines(self) -> Iterator[BadLine]:
        rows = (
            self.lines.where(F.col("reason").isNotNull())
            .select("file", "reason", "rtype", "json")
            .orderBy("file", "reason", "json")
        )
        for row in rows.toLocalIterator():
            why = BadLineReason(row["reason"])
            rtype = None if why is BadLineReason.NOT_JSON else row["rtype"]
            yield BadLine(row["file"], why, row["json"], describe(why, rtype))

    def _groups(self) -> Iterator[PatientGroup]:
        rank = F.coalesce(*[F.when(F.col("rtype") == t, F.lit(i)) for t, i in TYPE_RANK.items()])
        grouped = (
            self.lines.where(F.col("pid").isNotNull())
            .groupBy("pid")
            .agg(
                F.sort_array(
                    F.collect_list(
                        F.struct(rank.alias("rank"), F.coalesce(F.col("id"), F.lit("")).alias("id"), "json")
                    )
                ).alias("items")
            )
            .orderBy("pid")
        )
        for row in grouped.toLocalIterator():
            yield PatientGroup(row["pid"], tuple(item["json"].encode() for item in row["items"]))
