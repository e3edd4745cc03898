"""What can go wrong in a launch, each with a message a clinician can read and an HTTP status."""

from __future__ import annotations


class SmartError(Exception):
    """A launch that cannot go on; the message is shown on the page (never a token or a traceback)."""

    status = 502
    title = "The EHR launch did not work"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        return str(self.args[0])


class LaunchRefused(SmartError):
    """The launch request itself is not acceptable (unknown EHR, missing parameters, wrong state)."""

    status = 400
    title = "This launch was refused"


class EhrError(SmartError):
    """The EHR answered with something the app cannot use."""

    status = 502
    title = "The EHR's answer could not be used"


class SessionEnded(SmartError):
    """No live session (expired, logged out, or never started in this browser)."""

    status = 401
    title = "Your EHR session has ended"


class NotConfigured(SmartError):
    status = 404
    title = "SMART launch is not set up here"


class PatientMismatch(SmartError):
    """The EHR's answer is about another patient than the launch's: nothing is shown or recorded."""

    status = 409
    title = "Not the patient of this launch"
