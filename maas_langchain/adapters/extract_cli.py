"""``maas extract`` and ``maas state``: the extraction backlog and the structured state.

Example:
    $ maas extract                       # backlog: pending and failed jobs
    $ maas extract --resume              # apply every pending job now (progress bar)
    $ maas extract --resume --retry-failed
    $ maas state --scope org=acme,project=alpha
    $ maas state --scope org=acme,project=alpha --entity "Competitor X" --as-of 2026-11-30T12:00:00

The command acts as the trusted local operator on the database it opens; the extractor is the
offline rule extractor (``MaaS.open``'s default). A job whose memory is gone stores nothing.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from maas_langchain.adapters.cli_output import print_json, when
from maas_langchain.errors import InvalidInputError

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = ["parse_scope", "register", "run_extract", "run_state"]


def parse_scope(text: str) -> dict[str, str]:
    """``org=acme,project=alpha`` → ``{"org": "acme", "project": "alpha"}``.

    Raises:
        InvalidInputError: A part without ``=``.
    """
    scope = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidInputError(f"--scope takes key=value pairs separated by commas, got {part!r}", field="scope")
        scope[key.strip()] = value.strip()
    return scope


def register(sub: Any) -> None:
    """Add ``extract`` and ``state`` to the ``maas`` parser's subcommands."""
    extract = sub.add_parser("extract", help="show or resume the fact-extraction backlog")
    extract.add_argument("--resume", action="store_true", help="apply every pending job now")
    extract.add_argument("--retry-failed", action="store_true", help="with --resume: run failed jobs again")
    state = sub.add_parser("state", help="entities and facts visible at a scope (supersession history included)")
    state.add_argument("--scope", required=True, help="e.g. org=acme,project=alpha")
    state.add_argument("--entity", help="only this entity")
    state.add_argument("--as-of", help="ISO 8601 time (UTC unless it names a zone): the state as it was then")
    state.add_argument("--current", action="store_true", help="current values only (no history)")


def run_extract(maas: MaaS, args: argparse.Namespace) -> int:
    """Run ``maas extract``; exit 1 when failed jobs remain after a resume."""
    from maas_langchain.kb.files import Progress

    worker = maas.extraction
    pending, failed = worker.backlog()
    if args.resume and worker.extractor is not None:
        total = pending + (failed if args.retry_failed else 0)
        progress = Progress(total, "extract", enabled=not args.json, unit="memories")
        try:
            while True:
                done = worker.run_once(64, include_failed=args.retry_failed)
                if not done:
                    break
                progress.update(done)
        finally:
            progress.close()
        pending, failed = worker.backlog()
    data = {"pending": pending, "failed": failed, "extractor": getattr(worker.extractor, "name", None)}
    if args.json:
        print_json(data)
    else:
        print(f"extraction backlog: {pending} pending, {failed} failed (extractor: {data['extractor'] or 'off'})")
        if failed:
            print("failed jobs keep their reason in the audit log (action extract_failed); retry with --retry-failed")
    return 1 if args.resume and failed else 0


def run_state(maas: MaaS, args: argparse.Namespace) -> int:
    """Run ``maas state``."""
    as_of = None
    if args.as_of:
        try:
            moment = datetime.fromisoformat(args.as_of)
        except ValueError:
            raise InvalidInputError(f"--as-of takes an ISO 8601 time, got {args.as_of!r}", field="as_of") from None
        as_of = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    maas.extraction.drain(timeout=60.0, everyone=True)
    state = maas.entities.state(parse_scope(args.scope), as_of=as_of, entity=args.entity, history=not args.current)
    if args.json:
        print_json(state)
        return 0
    if not state.entities:
        print("no entity facts at this scope")
    for e in state.entities:
        where = ",".join(f"{k}={v}" for k, v in e.scope.items())
        print(f"{e.type}/{e.name}  [{where}]")
        for f in (*e.attributes, *e.relations):
            by = f.agent_id or "-"
            link = f"  -> {f.superseded_by.value}" if f.superseded_by is not None else ""
            sep = " = " if f.kind == "attribute" else " "
            print(f"  {f.status:<11} {f.key}{sep}{f.value}{link}  ({when(f.valid_from)}, by {by})")
    if state.pending_extractions:
        print(f"({state.pending_extractions} memories still wait for extraction)")
    return 0
