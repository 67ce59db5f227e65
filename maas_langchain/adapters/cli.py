"""The ``maas`` command line: status, agents, pools, handoffs, audit, migrations, the demo.

Every command works on ``--home`` (default ``$MAAS_HOME`` or ``./.maas``) and prints plain
text, or JSON with ``--json``.

Example:
    $ maas status
    $ maas audit --limit 20
    $ maas audit verify --anchors /var/log/maas/audit.anchors
    $ maas audit anchor --file -          # one signed line for a log shipper
    $ maas demo
    $ maas reindex
    $ maas kb ingest ./src --kind code && maas kb search "who may accept a handoff"
    $ maas extract --resume && maas state --scope org=acme,project=alpha
    $ maas keys create --agent AGENT_ID --read-only && maas serve --http --port 8765
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from maas_langchain.adapters import cli_serve, extract_cli, kb_cli, quarantine_cli
from maas_langchain.adapters.audit_anchorer import AuditAnchorer
from maas_langchain.core.audit import ChainReport
from maas_langchain.core.redaction import redact, redact_value
from maas_langchain.errors import MaaSError
from maas_langchain.maas import MaaS

__all__ = ["main"]


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _emit(args: argparse.Namespace, data: Any, lines: list[str]) -> None:
    """Print ``data`` as JSON or ``lines`` as text, secrets redacted in every string either way."""
    if args.json:
        print(json.dumps(redact_value(json.loads(json.dumps(data, default=str))), indent=2))
    else:
        print("\n".join(redact(line) for line in lines))


def _cmd_status(maas: MaaS, args: argparse.Namespace) -> int:
    status = maas.status()
    lines = [f"backend   {status['backend']}", f"location  {status['location']}"]
    for key in ("durability", "schema_version", "size_bytes"):
        if key in status:
            lines.append(f"{key:<9} {status[key]}")
    lines += [f"{name:<13} {count}" for name, count in status["counts"].items()]
    chain = maas.audit.verify_chain()
    lines.append(
        f"audit chain   {'intact' if chain.ok else 'BROKEN'}"
        f"{'' if chain.first_bad_seq is None else ' at ' + str(chain.first_bad_seq)} ({chain.checked} entries)"
    )
    _emit(args, {**status, "audit_chain_ok": chain.ok}, lines)
    return 0


def _cmd_agents(maas: MaaS, args: argparse.Namespace) -> int:
    agents = maas.agents.list_agents()
    lines = [
        f"{a.agent_id}  {a.agent_type.value:<15} owner={a.owner_id} {'active' if a.active else 'inactive'}"
        f"{'  ' + a.name if a.name else ''}"
        for a in agents
    ]
    _emit(args, [a.__dict__ for a in agents], lines or ["no agents"])
    return 0


def _cmd_pools(maas: MaaS, args: argparse.Namespace) -> int:
    pools = maas.pools.list_pools()
    lines = []
    for pool in pools:
        members = maas.pools.get_members(pool.pool_id)
        lines.append(
            f"{pool.pool_id}  {pool.name:<20} scope={pool.scope.value} {pool.status.value} members={len(members)}"
        )
    _emit(args, [p.__dict__ for p in pools], lines or ["no pools"])
    return 0


def _cmd_handoffs(maas: MaaS, args: argparse.Namespace) -> int:
    seen: dict[str, Any] = {}
    for agent in maas.agents.list_agents():
        for handoff in maas.handoffs.list_handoffs(agent.agent_id):
            seen[handoff.handoff_id] = handoff
    ordered = sorted(seen.values(), key=lambda h: h.created_at)
    lines = [
        f"{h.handoff_id}  {h.status.value:<9} {_when(h.created_at)}  {redact(h.context.task_description)[:60]}"
        for h in ordered  # redacted before it is cut: a cut secret would no longer be recognised
    ]
    _emit(args, [{**h.__dict__, "context": h.context.to_dict()} for h in ordered], lines or ["no handoffs"])
    return 0


def _cmd_audit(maas: MaaS, args: argparse.Namespace) -> int:
    if args.action == "verify":
        report = maas.audit.verify_chain(args.anchors)
        _emit(args, report.as_dict(), _verify_lines(report))
        return 0 if report.ok else 1
    if args.action == "anchor":
        target = args.file or maas.runtime.audit_anchors or "-"
        anchor = maas.audit.anchor(target)
        if target != "-":
            where = f"entry {anchor.seq} ({anchor.count} entries, hash {anchor.hash[:16]}...)"
            _emit(args, {**anchor.__dict__, "file": target}, [f"anchored {where} in {target}"])
        return 0
    if args.action == "seal":
        keyed_from = maas.audit.seal()
        legacy = f"entries 1..{keyed_from - 1} legacy (SHA-256), " if keyed_from > 1 else ""
        _emit(args, {"keyed_from": keyed_from}, [f"keyed boundary sealed: {legacy}keyed from entry {keyed_from}"])
        return 0
    events = maas.audit.query(
        event_type=args.type, actor=args.actor, target=args.target, limit=args.limit, newest_first=True
    )[::-1]
    lines = [
        f"{e.seq:>6} {_when(e.timestamp)} {e.event_type.value:<17} {e.action:<16} {e.outcome:<9} "
        f"actor={(e.actor or 'system')[:8]} target={(e.target or '-')[:8]}"
        f"{'  ' + e.reason if e.reason else ''}"
        for e in events
    ]
    _emit(args, [e.__dict__ for e in events], lines or ["no audit events"])
    return 0


def _verify_lines(report: ChainReport) -> list[str]:
    legacy = f", {report.legacy_entries} legacy (SHA-256, before the upgrade)" if report.legacy_entries else ""
    if report.ok:
        lines = [f"audit chain intact: {report.checked} entries{legacy}; key {report.key_id}"]
    else:
        first = f"; first bad entry {report.first_bad_seq}" if report.first_bad_seq is not None else ""
        lines = [f"audit chain BROKEN: {report.checked} entries verified{first}"]
        lines += [f"  - {problem}" for problem in report.problems]
    last = report.last_anchor
    if last is None:
        lines.append("anchors: none checked (write them with `maas audit anchor` and keep them off this host)")
    else:
        lines.append(
            f"anchors: {report.anchors_checked} checked; last: entry {last.seq} ({last.count} entries) "
            f"at {_when(last.time)}"
        )
    return lines


def _cmd_db(maas: MaaS, args: argparse.Namespace) -> int:
    migrate = getattr(maas.backend, "migrate", None)
    applied = migrate() if callable(migrate) else []
    _emit(args, {"applied": applied}, [f"applied migrations: {applied}" if applied else "schema is up to date"])
    return 0


def _cmd_reindex(maas: MaaS, args: argparse.Namespace) -> int:
    from maas_langchain.kb.files import Progress

    total = maas.status()["counts"]["memories"]
    progress = Progress(total, "reindex", enabled=not args.json, unit="memories")
    try:
        examined = maas.reindex(progress=progress.update)
    finally:
        progress.close()
    _emit(args, {"examined": examined}, [f"reindexed: {examined} memories examined"])
    return 0


def _cmd_demo(maas: MaaS, args: argparse.Namespace) -> int:
    from maas_langchain.demo import run_demo

    run_demo(maas)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maas", description="Memory as a Service for multi-agent systems.")
    parser.add_argument("--home", help="data location (default: $MAAS_HOME or ./.maas)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="backend, counts and audit-chain health")
    sub.add_parser("agents", help="list agents")
    sub.add_parser("pools", help="list pools")
    sub.add_parser("handoffs", help="list handoffs")
    audit = sub.add_parser("audit", help="show, verify, anchor or seal the audit log (docs/audit.md)")
    audit.add_argument(
        "action",
        nargs="?",
        choices=["show", "verify", "anchor", "seal"],
        default="show",
        help="show entries; verify the chain (exit 1 if broken); anchor: append a signed line with the "
        "chain head; seal: accept an upgrade's legacy entries after an interrupted first open",
    )
    audit.add_argument("--anchors", help="verify: anchor file to check (default <home>/audit.anchors; - for stdin)")
    audit.add_argument("--file", help="anchor: where to append (default <home>/audit.anchors; - for stdout)")
    audit.add_argument("--type", help="event type, e.g. HANDOFF")
    audit.add_argument("--actor")
    audit.add_argument("--target")
    audit.add_argument("--limit", type=int, default=50)
    db = sub.add_parser("db", help="schema management")
    db.add_argument("action", choices=["migrate"])
    sub.add_parser("demo", help="run the specification's multi-agent workflow and show what happened")
    sub.add_parser("reindex", help="rebuild the memory vector index from the stored vectors (progress bar)")
    kb_cli.register(sub)
    quarantine_cli.register(sub)
    extract_cli.register(sub)
    cli_serve.register(sub)
    return parser


_COMMANDS = {
    "status": _cmd_status,
    "agents": _cmd_agents,
    "pools": _cmd_pools,
    "handoffs": _cmd_handoffs,
    "audit": _cmd_audit,
    "db": _cmd_db,
    "demo": _cmd_demo,
    "reindex": _cmd_reindex,
    "kb": kb_cli.run,
    "quarantine": quarantine_cli.run,
    "extract": extract_cli.run_extract,
    "state": extract_cli.run_state,
    "serve": cli_serve.run_serve,
    "keys": cli_serve.run_keys,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        # only the long-running server sweeps expired handoffs in the background
        sweep: dict[str, Any] = {} if args.command == "serve" else {"sweep_interval": None}
        with MaaS.open(args.home, **sweep) as maas:
            if args.command != "serve":
                return _COMMANDS[args.command](maas, args)
            with AuditAnchorer(maas, args.anchor_interval):  # signs the audit head while serving
                return _COMMANDS[args.command](maas, args)
    except MaaSError as exc:
        print(f"maas: error [{exc.code}]: {exc.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `maas audit | head`: the reader left; not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
