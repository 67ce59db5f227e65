"""Helpers for tests and notebooks that use MaaS.

Example:
    >>> from maas_langchain import MaaS
    >>> from maas_langchain.testing import ManualClock
    >>> clock = ManualClock()
    >>> maas = MaaS.open(":memory:", clock=clock, sweep_interval=None)
    >>> clock.advance(3600)  # an hour passes, instantly: TTLs run out
    >>> maas.close()
"""

from __future__ import annotations

__all__ = ["ManualClock"]


class ManualClock:
    """A clock moved by hand, for TTL behaviour without sleeping.

    Pass it as ``MaaS.open(..., clock=clock)``; every timestamp MaaS records comes from it.

    Args:
        start: Initial time in seconds since the epoch.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a ManualClock only moves forward")
        self.now += seconds
