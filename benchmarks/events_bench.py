"""Event latency across processes: from the producer's commit to delivery in another process.

A producer process registers agents at a steady pace; this process follows the stream with
``maas.events.subscribe()`` and measures ``received - event.timestamp`` (the timestamp is taken
inside the producing transaction, just before its commit; both processes share one clock).
SQLite delivers by polling the outbox; PostgreSQL by LISTEN/NOTIFY.

Usage:
    .venv/bin/python -m benchmarks.events_bench [--events 300] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence

from maas_langchain import MaaS

__all__ = ["main", "measure"]

_PRODUCER = textwrap.dedent(
    """
    import sys, time
    from maas_langchain import MaaS, AgentType
    with MaaS.open(sys.argv[1], sweep_interval=None) as maas:
        for i in range(int(sys.argv[2])):
            maas.agents.register_agent(AgentType.HUMAN, owner_id=f"bench-{i}")
            time.sleep(0.01)
    """
)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(location: str, events: int) -> dict[str, float]:
    """Return p50/p95/max latency in ms for ``events`` events produced in another process."""
    with MaaS.open(location, sweep_interval=None) as maas:
        sub = maas.events.subscribe()
        producer = subprocess.Popen([sys.executable, "-c", _PRODUCER, location, str(events)])
        latencies: list[float] = []
        deadline = time.monotonic() + 120
        while len(latencies) < events and time.monotonic() < deadline:
            for event in sub.poll(timeout=0.5):
                latencies.append((time.time() - event.timestamp) * 1000)
        producer.wait(timeout=60)
    if len(latencies) < events:
        raise RuntimeError(f"only {len(latencies)} of {events} events arrived")
    return {
        "events": float(events),
        "p50_ms": statistics.median(latencies),
        "p95_ms": _percentile(latencies, 0.95),
        "max_ms": max(latencies),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on SQLite (and PostgreSQL if a URL is given) and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--postgres", help="a postgresql:// URL of a scratch database or schema")
    args = parser.parse_args(argv)
    targets = {"SQLite (outbox polling)": tempfile.mkdtemp(prefix="maas-ev-")}
    if args.postgres:
        targets["PostgreSQL (LISTEN/NOTIFY)"] = args.postgres
    print("| backend | events | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    for label, location in targets.items():
        r = measure(location, args.events)
        print(f"| {label} | {int(r['events'])} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
