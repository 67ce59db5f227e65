"""``maas serve`` (the MCP server) and ``maas keys create|list|revoke`` (its API keys).

Example:
    $ maas keys create --agent 5f0c... --scope-floor org=acme,project=q3 --read-only --expires 30d
    $ maas keys list
    $ maas keys revoke 3b9d...
    $ MAAS_API_KEY=maas_... maas serve          # stdio, for one MCP client
    $ maas serve --http --port 8765             # streamable HTTP; clients send Authorization: Bearer
    $ maas serve --http --rate-per-key 5 --trust-proxy 1   # abuse limits: docs/security.md
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

from maas_langchain.adapters.audit_anchorer import AuditAnchorer
from maas_langchain.adapters.cli_output import print_json, when
from maas_langchain.adapters.ratelimit import AbuseLimits
from maas_langchain.errors import InvalidInputError, NotSupportedError
from maas_langchain.maas import MaaS

__all__ = ["parse_expiry", "parse_scope_floor", "register", "run_keys", "run_serve"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")


def parse_expiry(text: str | None, now: float) -> float | None:
    """``30d``, ``12h``, ``15m``, ``90s``, ``2w`` from ``now``, or an ISO date-time (UTC if no zone)."""
    if text is None:
        return None
    match = _DURATION.match(text.strip().lower())
    if match:
        return now + float(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"--expires {text!r} is neither a duration (30d, 12h, 15m, 90s, 2w) nor an ISO date-time", field="expires"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def parse_scope_floor(text: str | None) -> dict[str, str] | None:
    """``org=acme,project=q3`` as a dict (``None`` for no floor)."""
    if text is None:
        return None
    floor: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidInputError(f"--scope-floor part {part!r} is not key=value", field="scope_floor")
        floor[key.strip()] = value.strip()
    return floor


def register(sub: Any) -> None:
    """Add the ``serve`` and ``keys`` sub-commands to the ``maas`` parser."""
    serve = sub.add_parser(
        "serve", help="run the MCP server (stdio with $MAAS_API_KEY), or with --http the MCP and REST APIs on one port"
    )
    serve.add_argument(
        "--http", action="store_true", help="HTTP: MCP at /mcp and the REST API at /v1 (instead of stdio)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    AbuseLimits.add_arguments(serve)
    AuditAnchorer.add_arguments(serve)
    keys = sub.add_parser("keys", help="API keys of the MCP server")
    actions = keys.add_subparsers(dest="keys_action", required=True)
    create = actions.add_parser("create", help="issue a key for an agent (the key is printed once)")
    create.add_argument("--agent", required=True, help="the agent id the key acts as")
    create.add_argument("--scope-floor", help="widest scope the key may use, e.g. org=acme,project=q3")
    create.add_argument("--read-only", action="store_true", help="refuse tools that change state")
    create.add_argument("--expires", help="duration (30d, 12h, 15m) or ISO date-time; default: never")
    create.add_argument("--name", help="a label shown by `maas keys list`")
    listing = actions.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--agent", help="only this agent's keys")
    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")


def _print(args: argparse.Namespace, data: Any, lines: list[str]) -> None:
    if args.json:
        print_json(data)
    else:
        print("\n".join(lines))


def run_keys(maas: MaaS, args: argparse.Namespace) -> int:
    """``maas keys create|list|revoke``."""
    if args.keys_action == "create":
        issued = maas.keys.create_key(
            args.agent,
            scope_floor=parse_scope_floor(args.scope_floor),
            read_only=args.read_only,
            expires_at=parse_expiry(args.expires, maas.runtime.clock()),
            name=args.name,
        )
        data = {**issued.key.as_dict(), "api_key": issued.secret}
        _print(args, data, [issued.secret, f"key id {issued.key.key_id}: store the key now; it is not shown again"])
        return 0
    if args.keys_action == "list":
        found = maas.keys.list_keys(args.agent)
        now = maas.runtime.clock()
        lines = [
            f"{k.key_id}  agent={k.agent_id}  {_state(k, now):<8} {'read-only' if k.read_only else 'read-write'}"
            f"  floor={json.dumps(k.scope_floor) if k.scope_floor else '-'}  expires={when(k.expires_at)}"
            f"{'  ' + k.name if k.name else ''}"
            for k in found
        ]
        _print(args, found, lines or ["no keys"])
        return 0
    revoked = maas.keys.revoke_key(args.key_id)
    _print(args, {"revoked": revoked}, [f"revoked {args.key_id}" if revoked else "no such active key"])
    return 0 if revoked else 1


def _state(key: Any, now: float) -> str:
    if key.revoked_at is not None:
        return "revoked"
    return "active" if key.usable_at(now) else "expired"


def run_serve(maas: MaaS, args: argparse.Namespace) -> int:
    """``maas serve``: this process owns the store (and the embedded vector index) while it runs."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="maas serve: %(levelname)s %(message)s")
    _hold_index(maas)
    if args.http:
        from maas_langchain.adapters.mcp import run_http  # a typed error names the mcp extra when missing

        print(
            f"maas serve: MCP at http://{args.host}:{args.port}/mcp, REST at http://{args.host}:{args.port}/v1 "
            f"(OpenAPI: /v1/openapi.json)",
            file=sys.stderr,
        )
        run_http(maas, host=args.host, port=args.port, limits=AbuseLimits.from_args(args))
        return 0
    from maas_langchain.adapters.mcp import run_stdio

    run_stdio(maas, os.environ.get("MAAS_API_KEY"))
    return 0


def _hold_index(maas: MaaS) -> None:
    """Open the vector index now: an embedded Chroma folder held by another process fails at
    start-up (``VectorStoreLockedError``) instead of at the first memory call."""
    try:
        maas.memories.sync.index  # noqa: B018 - opening it is the point
    except NotSupportedError as exc:
        print(f"maas serve: memory tools unavailable: {exc.message}", file=sys.stderr)
