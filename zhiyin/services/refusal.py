"""The one error a service raises when the shop's rules do not allow a request for an order."""

from __future__ import annotations


class RequestRefused(ValueError):
    """The request cannot be done as asked; `reason` is a code (shipped, day_past, credit_code…)
    that the adapters put into words for the customer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
