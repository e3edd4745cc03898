"""Explicit schemas for the Spark backend (no inference pass) and its logging configuration."""

from __future__ import annotations

from pyspark.sql import types as T

CODING = T.StructType(
    [
        T.StructField("system", T.StringType()),
        T.StructField("code", T.StringType()),
        T.StructField("display", T.StringType()),
    ]
)
CODEABLE = T.StructType([T.StructField("coding", T.ArrayType(CODING)), T.StructField("text", T.StringType())])
SELECTOR_SCHEMA = T.StructType(
    [
        T.StructField("resourceType", T.StringType()),
        T.StructField("subject", T.StructType([T.StructField("reference", T.StringType())])),
        T.StructField("code", CODEABLE),
        T.StructField("medicationCodeableConcept", CODEABLE),
    ]
)
LINE_SCHEMA = T.StructType(
    [
        T.StructField("resourceType", T.StringType()),
        T.StructField("id", T.StringType()),
        T.StructField("subject", T.StructType([T.StructField("reference", T.StringType())])),
    ]
)


LOG4J2 = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark: %p %c{1}: %m%n
"""
