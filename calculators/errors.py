"""The one exception type the calculators raise for bad input."""

from __future__ import annotations


class CalcError(ValueError):
    """Bad input: ``field`` names what was wrong, the message says why and what to do."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
