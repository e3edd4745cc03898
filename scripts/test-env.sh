# Sourced by `make pytest`: environment for the test run (services the tests need are started by fixtures).
export SPARK_LOCAL_IP=127.0.0.1
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$(pwd)/.venv/bin/python}"
export CALCINOSIS_CHROMIUM="${CALCINOSIS_CHROMIUM:-/usr/bin/chromium}"
