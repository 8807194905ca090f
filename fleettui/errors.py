"""Errors that reach the operator as one line (never a traceback)."""


class FleetError(Exception):
    """An error with a one-line, operator-facing message and a process exit code."""

    exit_code = 1


class ConfigError(FleetError):
    """Bad input: config file or arguments. Exit code 2."""

    exit_code = 2


class AwsError(FleetError):
    """AWS could not be reached or refused a call. Exit code 1.

    ``code`` is AWS's error code ("InvalidTarget", "Throttling"…) when AWS answered, else ""."""

    exit_code = 1

    def __init__(self, message: str, code: str = "", request_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.request_id = request_id
