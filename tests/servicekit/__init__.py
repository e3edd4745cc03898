"""Test support for the service tests: a live server subprocess, a FHIR-like server on loopback, JWT keys,
a throwaway PostgreSQL cluster and FHIR patient builders."""
