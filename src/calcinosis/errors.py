"""The one exception tree of calcinosis-cds, translated once at each edge.

    CalcinosisError                 base; never raised directly
    ├── PackError                   the knowledge pack is invalid (file and field named)
    ├── InputError                  a case or request cannot be used (what and where named)
    │   └── FhirInputError          FHIR input is malformed or unresolvable
    ├── NotFoundError               an id (therapy, service, record) does not exist
    ├── AuthError                   a caller could not be authenticated (HTTP 401, bare)
    └── StoreError                  the audit/feedback store failed

Exit codes (CLI): 0 success; 1 finished but records were quarantined; 2 bad input or usage;
3 invalid knowledge pack; 4 store failure.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_QUARANTINED = 1
EXIT_BAD_INPUT = 2
EXIT_BAD_PACK = 3
EXIT_STORE = 4


class CalcinosisError(Exception):
    """Base of every error this package raises on purpose."""

    code = "error"
    exit_code = EXIT_BAD_INPUT
    http_status = 400


class PackError(CalcinosisError):
    code = "invalid-pack"
    exit_code = EXIT_BAD_PACK
    http_status = 500


class InputError(CalcinosisError):
    code = "invalid"
    exit_code = EXIT_BAD_INPUT
    http_status = 422


class FhirInputError(InputError):
    code = "invalid-fhir"


class NotFoundError(CalcinosisError):
    code = "not-found"
    exit_code = EXIT_BAD_INPUT
    http_status = 404


class AuthError(CalcinosisError):
    code = "security"
    http_status = 401


class StoreError(CalcinosisError):
    code = "exception"
    exit_code = EXIT_STORE
    http_status = 503
