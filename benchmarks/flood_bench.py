"""Flood benchmark: unauthenticated requests against a real ``maas serve --http`` on SQLite.

For each configuration a fresh SQLite home gets four agents with one API key each, and a real
``maas serve --http`` process serves it. Then:

1. **unloaded** — four legitimate callers on 127.0.0.1 (one thread and one key each, paced at
   ``--legit-rate`` calls/s per key, below the default per-key limit) make authenticated
   ``tools/call get_agent_info`` JSON-RPC POSTs; the latency of each is recorded;
2. **flood** — another process sends ``--flood`` unauthenticated POSTs from 127.0.0.2 (httpx
   bound to that loopback address, ``--concurrency`` connections; a third each without a key,
   with a malformed key, with a well-formed unknown key) while the legitimate callers go on;
3. the server is stopped with SIGINT (it writes the open window of aggregated refusals then).

Reported: the flood's answers (401 / 429), the audit rows it left (and the refusals counted in
them), how much the database and its WAL grew, and the legitimate p50 / p95 unloaded and during
the flood (target: p95 during the flood within 2x of unloaded). Configurations: ``limits off``
(``--rate-per-address 0 --rate-per-key 0 --auth-audit-window 0``: the behaviour before abuse
limits) and ``defaults`` (no flag).

Usage:
    .venv/bin/python -m benchmarks.flood_bench                        # about 1 minute on 2 cores
    .venv/bin/python -m benchmarks.flood_bench --quick --out /tmp/fb  # smoke run

Writes ``benchmarks/results/flood_bench.{json,md}`` (or into ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from benchmarks.core_bench import base_machine_info, percentile
from benchmarks.reporting import ROOT, write_report
from maas_langchain import AgentType, MaaS

__all__ = ["main", "run_config"]

CONFIGS: dict[str, list[str]] = {
    "limits off": ["--rate-per-address", "0", "--rate-per-key", "0", "--auth-audit-window", "0"],
    "defaults": [],
}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_agent_info", "arguments": {}}}
FLOOD_ADDRESS = "127.0.0.2"
LEGIT_KEYS = 4
Result = dict[str, Any]


# --- the server ---------------------------------------------------------------------------------


def prepare_home(home: Path) -> list[str]:
    """A SQLite home with ``LEGIT_KEYS`` agents and a key each; returns the keys."""
    with MaaS.open(home, sweep_interval=None, vectors="bruteforce") as maas:
        agents = [maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id=f"u{n}") for n in range(LEGIT_KEYS)]
        return [maas.keys.create_key(agent).secret for agent in agents]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, log: Path, extra: Sequence[str]) -> tuple[subprocess.Popen[bytes], str]:
    """``maas serve --http`` on a free loopback port; returns the process and the MCP URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAAS_API_KEY", "MAAS_URL")}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", MAAS_VECTORS_URL="bruteforce")
    port = _free_port()
    command = [sys.executable, "-m", "maas_langchain.adapters.cli", "--home", str(home), "serve", "--http"]
    with open(log, "ab") as out:
        proc = subprocess.Popen([*command, "--port", str(port), *extra], stdout=out, stderr=out, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=0.5):
                return proc, base + "/mcp"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"maas serve did not start: {log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT, as an operator would: uvicorn runs the lifespan's shutdown (the final flush)."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def store_bytes(home: Path) -> int:
    """Size of the database file plus its WAL."""
    return sum((home / name).stat().st_size for name in ("maas.db", "maas.db-wal") if (home / name).exists())


def refusal_rows(home: Path) -> tuple[int, int]:
    """Audit rows of refused authentications, and the refusals they count (``details.count``)."""
    with sqlite3.connect(f"file:{home / 'maas.db'}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT details FROM audit_log WHERE event_type = 'PERMISSION_DENIED' AND action = 'authenticate'"
        ).fetchall()
    return len(rows), sum(int(json.loads(details).get("count", 1)) for (details,) in rows)


# --- the callers ------------------------------------------------------------------------------------


def legit_calls(url: str, keys: list[str], rate_each: float, stop: threading.Event) -> tuple[list[float], Counter[int]]:
    """One paced thread per key until ``stop``; latencies (ms) of the 200s and every status."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def caller(key: str) -> None:
        with httpx.Client(headers={**HEADERS, "authorization": f"Bearer {key}"}, timeout=60) as client:
            due = time.perf_counter()
            while not stop.is_set():
                started = time.perf_counter()
                response = client.post(url, json=CALL)
                took = (time.perf_counter() - started) * 1000
                ok = response.status_code == 200 and '"ok": true' in response.json()["result"]["content"][0]["text"]
                with lock:
                    statuses[response.status_code if ok or response.status_code != 200 else -1] += 1
                    if ok:
                        latencies.append(took)
                due += 1 / rate_each
                time.sleep(max(0.0, due - time.perf_counter()))

    threads = [threading.Thread(target=caller, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses


def _flood_process(url: str, total: int, concurrency: int, nice: int, started: Any, out: Any) -> None:
    """Child process: ``total`` unauthenticated POSTs from ``FLOOD_ADDRESS``; puts the statuses.

    It runs at ``--nice`` (default 10): on one machine the attacker's CPU is the server's, which a remote flood
    does not take; niced, the flood gets the CPU the server and the legitimate callers leave."""
    os.nice(nice)
    out.put(asyncio.run(_flood(url, total, concurrency, started)))


async def _flood(url: str, total: int, concurrency: int, started: Any) -> Result:
    unknown = f"maas_{secrets.token_hex(16)}_{secrets.token_urlsafe(32)}"
    kinds = [{}, {"authorization": "Bearer not-a-key"}, {"authorization": f"Bearer {unknown}"}]
    statuses: Counter[str] = Counter()
    transport = httpx.AsyncHTTPTransport(local_address=FLOOD_ADDRESS, limits=httpx.Limits(max_connections=concurrency))
    queue = iter(range(total))
    begun = time.perf_counter()
    async with httpx.AsyncClient(transport=transport, headers=HEADERS, timeout=60) as client:

        async def worker() -> None:
            for n in queue:
                try:
                    response = await client.post(url, json=CALL, headers=kinds[n % 3])
                    statuses[str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                if n == 0:
                    started.set()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"statuses": dict(statuses), "seconds": time.perf_counter() - begun}


# --- one configuration ------------------------------------------------------------------------------


def _latency(values: list[float]) -> Result:
    ordered = sorted(values)
    return {"n": len(ordered), "p50_ms": percentile(ordered, 50), "p95_ms": percentile(ordered, 95)}


def run_config(name: str, extra: Sequence[str], folder: Path, args: argparse.Namespace) -> Result:
    """Unloaded, then flooded, then stopped: the figures of one configuration."""
    home = folder / name.replace(" ", "-")
    keys = prepare_home(home)
    proc, url = start_server(home, folder / f"{home.name}.log", extra)
    try:
        warm = threading.Event()
        threading.Timer(1.0, warm.set).start()
        legit_calls(url, keys, args.legit_rate, warm)
        done = threading.Event()
        threading.Timer(args.unloaded_seconds, done.set).start()
        unloaded, unloaded_statuses = legit_calls(url, keys, args.legit_rate, done)
        rows_before, bytes_before = refusal_rows(home), store_bytes(home)
        ctx = mp.get_context("spawn")
        started, out = ctx.Event(), ctx.Queue()
        flooder = ctx.Process(target=_flood_process, args=(url, args.flood, args.concurrency, args.nice, started, out))
        flooder.start()
        if not started.wait(60):
            raise RuntimeError("the flood process did not start")
        flooded = threading.Event()

        def watch() -> None:
            flooder.join()
            flooded.set()

        watcher = threading.Thread(target=watch)
        watcher.start()
        during, during_statuses = legit_calls(url, keys, args.legit_rate, flooded)
        flood = out.get(timeout=60)
        bytes_running = store_bytes(home)
    finally:
        stop_server(proc)
    rows_after, bytes_after_stop = refusal_rows(home), store_bytes(home)
    result: Result = {
        "server_flags": " ".join(extra) or "(none)",
        "flood": flood,
        "audit_rows_written": rows_after[0] - rows_before[0],
        "refusals_counted": rows_after[1] - rows_before[1],
        "db_wal_growth_running_bytes": bytes_running - bytes_before,
        "db_growth_after_shutdown_bytes": bytes_after_stop - bytes_before,
        "legit_unloaded": {**_latency(unloaded), "statuses": dict(unloaded_statuses)},
        "legit_during_flood": {**_latency(during), "statuses": dict(during_statuses)},
    }
    result["p95_ratio"] = result["legit_during_flood"]["p95_ms"] / max(result["legit_unloaded"]["p95_ms"], 1e-9)
    return result


# --- report -----------------------------------------------------------------------------------------


def _size(n: int) -> str:
    return f"{n / 1e6:+.2f} MB" if abs(n) >= 100_000 else f"{n:+,} bytes"


def render_markdown(report: Result, image: str | None) -> str:
    """The result table, one column per configuration."""
    configs = report["configs"]
    names = list(configs)

    def row(label: str, cell: Any) -> str:
        return f"| {label} | " + " | ".join(str(cell(configs[n])) for n in names) + " |"

    def status(c: Result, code: str) -> int:
        return int(c["flood"]["statuses"].get(code, 0))

    def other(c: Result) -> int:
        return sum(v for k, v in c["flood"]["statuses"].items() if k not in ("401", "429"))

    lines = [
        "# Flood benchmark: unauthenticated requests against `maas serve --http`",
        "",
        f"Command: `{report['machine']['command']}`  ",
        f"Date: {report['machine']['date']}; {report['machine']['cores']} cores ({report['machine']['cpu']}); "
        f"Python {report['machine']['python']}, SQLite {report['machine']['sqlite']}; load (1 min) at start "
        f"{report['machine']['load_avg_1m_start']}.",
        "",
        f"Flood: {report['params']['flood']:,} POSTs from {FLOOD_ADDRESS}, {report['params']['concurrency']} "
        f"connections, a third each without a key / with a malformed key / with an unknown key; the flood "
        f"process runs at nice {report['params']['nice']} (on one machine its CPU would otherwise be taken from "
        f"the server, which a remote attacker's is not). Legitimate: "
        f"{LEGIT_KEYS} keys on 127.0.0.1, {report['params']['legit_rate']:g} `get_agent_info` calls/s each.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        row("server flags", lambda c: f"`{c['server_flags']}`"),
        row("flood answered 401", lambda c: f"{status(c, '401'):,}"),
        row("flood answered 429", lambda c: f"{status(c, '429'):,}"),
        row("flood, other answers", other),
        row("flood duration", lambda c: f"{c['flood']['seconds']:.1f} s"),
        row("audit rows written by the flood", lambda c: f"{c['audit_rows_written']:,}"),
        row("refusals counted in those rows", lambda c: f"{c['refusals_counted']:,}"),
        row("DB + WAL growth (server running, after the flood)", lambda c: _size(c["db_wal_growth_running_bytes"])),
        row("DB + WAL growth (after shutdown)", lambda c: _size(c["db_growth_after_shutdown_bytes"])),
        row(
            "legit p50 / p95 unloaded",
            lambda c: f"{c['legit_unloaded']['p50_ms']:.1f} / {c['legit_unloaded']['p95_ms']:.1f} ms",
        ),
        row(
            "legit p50 / p95 during the flood",
            lambda c: f"{c['legit_during_flood']['p50_ms']:.1f} / {c['legit_during_flood']['p95_ms']:.1f} ms",
        ),
        row(
            "legit calls (unloaded / during)", lambda c: f"{c['legit_unloaded']['n']} / {c['legit_during_flood']['n']}"
        ),
        row(
            "legit calls refused or failed",
            lambda c: sum(v for k, v in c["legit_during_flood"]["statuses"].items() if k != 200),
        ),
        row("p95 during / unloaded (target <= 2x)", lambda c: f"{c['p95_ratio']:.2f}x"),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every configuration and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=10_000, help="unauthenticated requests (default 10,000)")
    parser.add_argument("--concurrency", type=int, default=32, help="flood connections (default 32)")
    parser.add_argument("--legit-rate", type=float, default=10.0, help="calls/s per legitimate key (default 10)")
    parser.add_argument("--unloaded-seconds", type=float, default=10.0, help="unloaded phase (default 10 s)")
    parser.add_argument("--nice", type=int, default=10, help="niceness of the flood process (default 10; 0: none)")
    parser.add_argument("--quick", action="store_true", help="1,000 flood requests, 3 s unloaded")
    parser.add_argument("--out", type=Path, help="write here instead of benchmarks/results/")
    args = parser.parse_args(argv)
    if args.quick:
        args.flood, args.unloaded_seconds = 1_000, 3.0
    machine = {**base_machine_info("flood_bench", list(argv if argv is not None else sys.argv[1:]))}
    machine["load_avg_1m_start"] = round(os.getloadavg()[0], 2)
    report: Result = {"machine": machine, "params": vars(args) | {"out": None}, "configs": {}}
    with tempfile.TemporaryDirectory(prefix="maas-flood-") as tmp:
        for name, extra in CONFIGS.items():
            print(f"flood_bench: {name} ...", file=sys.stderr)
            report["configs"][name] = run_config(name, extra, Path(tmp), args)
    out = args.out or ROOT / "benchmarks" / "results"
    paths = write_report(
        report,
        out,
        name="flood_bench",
        page="flood_bench.md",
        render_markdown=render_markdown,
        write_plot=lambda r, p: False,
    )
    print(paths["markdown"].read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
