"""``maas kb``: ingest folders into the knowledge bases and search them from the shell.

The knowledge bases live beside the rest of the MaaS data (``--home``): the instance's vector
index (embedded Chroma in ``<home>/chroma`` by default) and its embeddings (the offline
all-MiniLM-L6-v2 unless configured otherwise).

Example:
    $ maas kb ingest ./src --kind code --service billing
    $ maas kb ingest ./docs/adr --kind decision --service storage
    $ maas kb search "who may accept a handoff" --kind code --limit 5
    $ maas --json kb search "checkout 502" --kind incident --service checkout
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from maas_langchain.adapters.cli_output import print_json

if TYPE_CHECKING:
    from maas_langchain.kb import KnowledgeBases
    from maas_langchain.kb.results import KBResult
    from maas_langchain.maas import MaaS

__all__ = ["register", "run"]

_KINDS = ("code", "decision", "incident")


def register(subparsers: Any) -> None:
    """Add the ``kb`` command (``ingest``, ``search``) to the ``maas`` parser's subcommands."""
    kb = subparsers.add_parser("kb", help="knowledge bases: ingest code, decisions and incidents; search them")
    actions = kb.add_subparsers(dest="kb_action", required=True)
    ingest = actions.add_parser("ingest", help="index a folder or file (unchanged files are skipped)")
    ingest.add_argument("path", help="folder or file to ingest")
    ingest.add_argument("--kind", choices=_KINDS, default="code", help="which knowledge base (default: code)")
    ingest.add_argument("--service", help="service (code, incidents) or topic (decisions) to record")
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    search = actions.add_parser("search", help="search a knowledge base")
    search.add_argument("query", help="words, a question or an identifier")
    search.add_argument("--kind", choices=_KINDS, default="code", help="which knowledge base (default: code)")
    search.add_argument("--service", help="only this service (code, incidents)")
    search.add_argument("--topic", help="only this topic (decisions)")
    search.add_argument("--limit", type=int, default=10, help="results to show (default 10)")
    search.add_argument("--agent", help="search as this agent id (checks its KB_SEARCH capability)")


def _knowledge_bases(maas: MaaS) -> KnowledgeBases:
    kb: KnowledgeBases = maas.kb
    return kb


def run(maas: MaaS, args: argparse.Namespace) -> int:
    """Run ``maas kb ingest`` or ``maas kb search``; return the exit status."""
    kb = _knowledge_bases(maas)
    if args.kb_action == "ingest":
        return _ingest(kb, args)
    return _search(kb, args)


def _ingest(kb: KnowledgeBases, args: argparse.Namespace) -> int:
    report = kb.ingest_path(args.path, kind=args.kind, service=args.service, progress=not args.no_progress)
    if args.json:
        print_json(report)
        return 0
    print(
        f"{report.kind} knowledge base: {report.files_scanned} files scanned in {report.seconds:.1f} s - "
        f"{report.files_added} added, {report.files_updated} updated, {report.files_unchanged} unchanged, "
        f"{report.files_removed} removed, {report.files_skipped} skipped; "
        f"{report.chunks_written} chunks written, {report.chunks_deleted} deleted"
    )
    return 0


def _search(kb: KnowledgeBases, args: argparse.Namespace) -> int:
    results: list[Any]
    if args.kind == "code":
        results = kb.code.search_code_kb(args.query, args.service, args.limit, agent_id=args.agent)
    elif args.kind == "decision":
        results = kb.decisions.search_decisions(args.query, args.topic, args.limit, agent_id=args.agent)
    else:
        results = kb.incidents.search_incidents(args.query, args.service, args.limit, agent_id=args.agent)
    if args.json:
        print_json(results)
        return 0
    print("\n".join(_line(r) for r in results) if results else "no results")
    return 0


def _line(result: KBResult) -> str:
    where = result.path or "(added by API)"
    start, end = getattr(result, "start_line", 0), getattr(result, "end_line", 0)
    if start:
        where += f":{start}-{end}"
    label = getattr(result, "symbol", "") or result.title
    why = result.why
    first = " ".join(result.content.strip().splitlines()[:1])[:100]
    return (
        f"{result.score:.3f}  {where}  {label}\n"
        f"       semantic={why['semantic']:.3f} lexical={why['lexical']:.3f} "
        f"matched={','.join(why['matched_terms']) or '-'}\n"
        f"       {first}"
    )
