"""The ``maas`` command line: status, agents, pools, handoffs, audit, migrations, the demo.

Every command works on one store, named by ``--home`` (a folder, a ``.db`` file, a
``postgresql://`` URL or ``:memory:``; default ``$MAAS_URL``, else ``$MAAS_HOME``, else
``./.maas``). A folder or file without a store is an error (``[not_found]``, exit 2) unless
``--create`` is given: ``maas init [PATH]`` creates one, and ``maas demo`` creates its own.

Global options go before or after the command (``maas --home X status`` = ``maas status --home X``):

- ``--home LOCATION``: the store.
- ``--json``: print JSON: objects for records, lists for sets, enum values, ISO-8601 UTC times
  (``"2026-12-05T23:40:14Z"``); secrets are redacted as in the text output.
- ``--create``: create the store if it does not exist.
- ``--version``: print ``maas_langchain <version>``.

Exit status: 0 done, 1 a check failed (``audit verify``, the integrity check of ``status``, a
``keys revoke`` or ``quarantine`` id that changed nothing, ``extract --resume`` with failed jobs), 2 an error (one line
``maas: error [code]: message`` on stderr), 130 interrupted (Ctrl-C: one line on stderr;
``kb ingest``, ``extract --resume`` and ``reindex`` resume where they stopped when run again).
The first command that embeds text prints one line on stderr while the model loads.

Example:
    $ maas init ./.maas
    $ maas status
    $ maas agents --json
    $ maas audit --limit 20
    $ maas audit verify --anchors /var/log/maas/audit.anchors
    $ maas audit anchor --file -          # one signed line for a log shipper
    $ maas demo
    $ maas demo --serve --port 8765       # then the web console at /console, with a key printed
    $ maas reindex
    $ maas kb ingest ./src --kind code && maas kb search "who may accept a handoff"
    $ maas extract --resume && maas state --scope org=acme,project=alpha
    $ maas keys create --agent AGENT_ID --read-only && maas serve --http --port 8765
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from maas_langchain import __version__
from maas_langchain.adapters import cli_serve, extract_cli, kb_cli, quarantine_cli
from maas_langchain.adapters.audit_anchorer import AuditAnchorer, default_interval
from maas_langchain.adapters.cli_output import dumps, to_json, when
from maas_langchain.backends.sqlite_files import lost_store_evidence
from maas_langchain.core.audit import ChainReport
from maas_langchain.core.redaction import redact, redact_value
from maas_langchain.errors import InvalidInputError, MaaSError, NotFoundError, StorageCorruptedError
from maas_langchain.maas import MaaS, resolve_home
from maas_langchain.resources import Resources

__all__ = ["main"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_RESUMABLE = ("kb ingest", "extract --resume", "reindex")  # interrupted, they resume when run again


def _emit(args: argparse.Namespace, data: Any, lines: list[str]) -> None:
    """Print ``data`` as JSON or ``lines`` as text, secrets redacted in every string either way."""
    if args.json:
        print(dumps(redact_value(to_json(data))))
    else:
        print("\n".join(redact(line) for line in lines))


def _cmd_status(maas: MaaS, args: argparse.Namespace) -> int:
    """Backend facts, counts, the integrity check (SQLite's ``quick_check``) and the audit chain;
    exit 1 when the integrity check fails (what is still readable is shown)."""
    problems = maas.backend.check_integrity()
    chain: ChainReport | None = None
    try:
        status = maas.status()
        chain = maas.audit.verify_chain()
    except StorageCorruptedError as exc:  # a damaged page on the way: report it with the check's findings
        status = {"backend": maas.backend.name, "location": maas.backend.location}
        problems = [*(problems or []), exc.message]
    rows = [(key.replace("_", " "), str(value)) for key, value in status.items() if not isinstance(value, dict)]
    rows = [("size", f"{status['size_bytes']:,} bytes") if label == "size bytes" else (label, v) for label, v in rows]
    rows += [(name.replace("_", " "), str(count)) for name, count in status.get("counts", {}).items()]
    if "vectors" in status:
        vectors = status["vectors"] or {}
        model = vectors.get("embedding_model")
        shown = f" ({model}, {vectors.get('dimension')} dimensions)" if model else ""
        rows.append(("vectors", f"{vectors.get('index', '-')}{shown}"))
    checked = "not checked by this backend" if problems is None else "ok (SQLite quick_check)"
    rows.append(("integrity", f"FAILED (SQLite quick_check): {len(problems)} problem(s)" if problems else checked))
    if chain is None:
        rows.append(("audit chain", "not verified: the database is damaged"))
    else:
        bad = "" if chain.first_bad_seq is None else f" at {chain.first_bad_seq}"
        rows.append(("audit chain", f"{'intact' if chain.ok else 'BROKEN'}{bad} ({chain.checked} entries)"))
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    lines += [f"  - {problem[:300]}" for problem in problems or []]
    checked_by = None if problems is None else "quick_check"  # None: a backend without the check (PostgreSQL)
    integrity = {"ok": None if problems is None else not problems, "check": checked_by, "problems": problems or []}
    data = {**status, "integrity": integrity, "audit_chain_ok": None if chain is None else chain.ok}
    _emit(args, data, lines)
    return 1 if problems else 0


def _cmd_agents(maas: MaaS, args: argparse.Namespace) -> int:
    agents = maas.agents.list_agents()
    lines = [
        f"{a.agent_id}  {a.agent_type.value:<15} owner={a.owner_id} {'active' if a.active else 'inactive'}"
        f"{'  ' + a.name if a.name else ''}"
        for a in agents
    ]
    _emit(args, agents, lines or ["no agents"])
    return 0


def _cmd_pools(maas: MaaS, args: argparse.Namespace) -> int:
    pools = maas.pools.list_pools()
    lines = []
    for pool in pools:
        members = maas.pools.get_members(pool.pool_id)
        lines.append(
            f"{pool.pool_id}  {pool.name:<20} scope={pool.scope.value} {pool.status.value} members={len(members)}"
        )
    _emit(args, pools, lines or ["no pools"])
    return 0


def _cmd_handoffs(maas: MaaS, args: argparse.Namespace) -> int:
    seen: dict[str, Any] = {}
    for agent in maas.agents.list_agents():
        for handoff in maas.handoffs.list_handoffs(agent.agent_id):
            seen[handoff.handoff_id] = handoff
    ordered = sorted(seen.values(), key=lambda h: h.created_at)
    lines = [
        f"{h.handoff_id}  {h.status.value:<9} {when(h.created_at)}  {redact(h.context.task_description)[:60]}"
        for h in ordered  # redacted before it is cut: a cut secret would no longer be recognised
    ]
    _emit(args, ordered, lines or ["no handoffs"])
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
    try:
        events = maas.audit.query(
            event_type=args.type, actor=args.actor, target=args.target, limit=args.limit, newest_first=True
        )[::-1]
    except (ValueError, TypeError, KeyError) as exc:  # a stored row edited outside MaaS (not JSON, unknown type)
        print(
            f"maas: error: an audit entry cannot be decoded ({type(exc).__name__}: {str(exc)[:200]}); the log was "
            "changed outside MaaS. Run `maas audit verify` to find the first damaged entry.",
            file=sys.stderr,
        )
        return 1
    lines = [
        f"{e.seq:>6} {when(e.timestamp)} {e.event_type.value:<17} {e.action:<16} {e.outcome:<9} "
        f"actor={(e.actor or 'system')[:8]} target={(e.target or '-')[:8]}"
        f"{'  ' + e.reason if e.reason else ''}"
        for e in events
    ]
    _emit(args, events, lines or ["no audit events"])
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
            f"at {when(last.time)}"
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
    from maas_langchain.demo import console_key, run_demo

    if args.serve:  # checked before the workflow runs: a missing extra or a busy port stops at once
        from maas_langchain.adapters.mcp import run_http  # noqa: F401 - a typed error names the mcp extra

        _port_free(args.host, args.port)
    run_demo(maas)
    if not args.serve:
        return 0
    _human, _key_id, secret = console_key(maas)
    print(f"\nConsole: http://{args.host}:{args.port}/console", flush=True)
    print(f"Key: {secret}", flush=True)  # shown once, as by `maas keys create`
    print("Sign in with the key; Ctrl-C stops the server.", flush=True)
    serve = argparse.Namespace(http=True, host=args.host, port=args.port)  # `maas serve --http`, default limits
    with AuditAnchorer(maas, default_interval()):
        return cli_serve.run_serve(maas, serve)


def _port_free(host: str, port: int) -> None:
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InvalidInputError(
                f"cannot serve on {host}:{port} ({exc.strerror}); pass another --port", field="port"
            ) from None


def _cmd_init(maas: MaaS, args: argparse.Namespace) -> int:
    created = args.missing is not None
    where, backend = maas.backend.location, maas.backend.name
    if backend != "sqlite":  # a server or memory: there is no "already there" to tell
        lines = [f"MaaS store ready at {where} ({backend})"]
    else:
        lines = [f"{'created a MaaS store' if created else 'a MaaS store already exists'} at {where}"]
        if args.path is not None and not _is_default(args.path):
            use = shlex.quote(args.path)
            lines.append(f"use it with --home {use}, or export MAAS_HOME={use}")
    _emit(args, {"created": created, "backend": backend, "location": where}, lines)
    return 0


def _is_default(path: str) -> bool:
    """True when ``path`` is where a command without ``--home`` looks."""
    if os.environ.get("MAAS_URL"):
        return False
    return resolve_home(None).resolve() == Path(path).resolve()


def _global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """The options every command takes; below the top level their default is SUPPRESS, so a
    value given before the command is not overwritten by the command's parser."""

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--home",
        default=default(None),
        metavar="LOCATION",
        help="the store: a folder, a .db file, postgresql://... or :memory: (default: $MAAS_URL, $MAAS_HOME, ./.maas)",
    )
    group.add_argument("--json", action="store_true", default=default(False), help="print JSON")
    group.add_argument(
        "--create", action="store_true", default=default(False), help="create the store if it does not exist"
    )


def _add_global_options_below(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                _global_options(child, top=False)
                _add_global_options_below(child)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maas", description="Memory as a Service for multi-agent systems.")
    parser.add_argument("--version", action="version", version=f"maas_langchain {__version__}")
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create a store (default: --home, $MAAS_HOME or ./.maas) and say where")
    init.add_argument("path", nargs="?", help="folder or .db file to create (default: the --home location)")
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
    demo = sub.add_parser("demo", help="run the specification's multi-agent workflow and show what happened")
    demo.add_argument(
        "--serve", action="store_true", help="then serve the web console and REST API, printing its URL and a key"
    )
    demo.add_argument("--host", default="127.0.0.1", help="--serve: bind address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8765, help="--serve: port (default 8765)")
    sub.add_parser("reindex", help="rebuild the memory vector index from the stored vectors (progress bar)")
    kb_cli.register(sub)
    quarantine_cli.register(sub)
    extract_cli.register(sub)
    cli_serve.register(sub)
    _add_global_options_below(parser)
    return parser


_COMMANDS = {
    "init": _cmd_init,
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


def _missing_store(location: str | None) -> Path | None:
    """The folder or file ``location`` names (as :meth:`MaaS.open` resolves it) when no store is
    there yet; ``None`` when one is, or for ``:memory:`` and URLs (not checked)."""
    if location is None:
        location = os.environ.get("MAAS_URL") or None
    if location is not None and (location.strip().lower() in (":memory:", "memory") or "://" in location):
        return None
    path = resolve_home(location)
    db = path if path.suffix in _SQLITE_SUFFIXES else path / "maas.db"
    # a database that vanished where a store lived is not "no store": opening it says what was lost
    return None if db.is_file() or lost_store_evidence(db) else path


def _check_store(args: argparse.Namespace) -> str | None:
    """The location to open; a missing store is :class:`NotFoundError` unless the command creates one."""
    location: str | None = args.home
    if args.command == "init" and args.path is not None:
        location = args.path
    args.missing = _missing_store(location)
    if args.missing is not None and not (args.create or args.command in ("init", "demo")):
        shown = str(args.missing)
        raise NotFoundError(
            f"no MaaS store at {shown}; create one with maas init {shlex.quote(shown)} or pass --create",
            location=shown,
        )
    return location


def _loading_notice(model_id: str) -> None:
    print(f"maas: loading the embedding model ({model_id}, first use) ...", file=sys.stderr, flush=True)


def _command_name(args: argparse.Namespace) -> str:
    if args.command == "kb":
        return f"kb {args.kb_action}"
    return "extract --resume" if args.command == "extract" and args.resume else str(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    args = _parser().parse_args(argv)
    previous, Resources.on_load = Resources.on_load, _loading_notice
    try:
        location = _check_store(args)
        # only the long-running server sweeps expired handoffs in the background
        sweep: dict[str, Any] = {} if args.command == "serve" else {"sweep_interval": None}
        with MaaS.open(location, **sweep) as maas:
            if args.command != "serve":
                return _COMMANDS[args.command](maas, args)
            with AuditAnchorer(maas, args.anchor_interval):  # signs the audit head while serving
                return _COMMANDS[args.command](maas, args)
    except MaaSError as exc:
        print(f"maas: error [{exc.code}]: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        again = "; run the same command again to resume" if _command_name(args) in _RESUMABLE else ""
        print(f"maas: interrupted{again}", file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:  # `maas audit | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    finally:
        Resources.on_load = previous


if __name__ == "__main__":
    sys.exit(main())
