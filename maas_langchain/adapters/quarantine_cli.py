"""``maas quarantine``: review the writes screening held back (list, release, delete).

Example:
    $ maas quarantine list
    $ maas quarantine release memory:9f1c...      # the memory becomes ACTIVE and recallable
    $ maas quarantine delete store:42             # the held store value is dropped
    $ maas quarantine release memory:9f1c... --reviewer HUMAN_AGENT_ID

The command acts as the trusted local operator (it opens the database file directly); with
``--reviewer`` the HUMAN agent named is checked and recorded as the actor. Every release and
delete is audited (``quarantine_release`` / ``quarantine_delete``).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from maas_langchain.adapters.cli_output import print_json, when

if TYPE_CHECKING:
    from maas_langchain.maas import MaaS

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``quarantine`` command to the ``maas`` parser's subcommands."""
    parser = sub.add_parser("quarantine", help="list, release or delete writes screening held back")
    parser.add_argument("action", choices=["list", "release", "delete"])
    parser.add_argument("ids", nargs="*", help="memory:<id> or store:<id> (release / delete)")
    parser.add_argument("--reviewer", help="the HUMAN agent acting (default: the local operator)")
    parser.add_argument("--limit", type=int, default=100)


def run(maas: MaaS, args: argparse.Namespace) -> int:
    """Run ``maas quarantine``; exit status 0, or 1 when an id was not quarantined any more."""
    if args.action == "list":
        held = maas.quarantine.list(limit=args.limit, reviewer=args.reviewer)
        if args.json:
            print_json(held)
        else:
            for q in held:
                matched = ",".join(q.categories) or "-"
                print(f"{q.id}  {when(q.created_at)}  author={q.author_id or '-'}  {matched}  {q.target}")
                print(f"    {q.preview!r}")
            if not held:
                print("nothing is quarantined")
        return 0
    if not args.ids:
        print(f"maas quarantine {args.action}: give at least one id (see `maas quarantine list`)")
        return 2
    resolve = maas.quarantine.release if args.action == "release" else maas.quarantine.delete
    results = {qid: resolve(qid, reviewer=args.reviewer) for qid in args.ids}
    if args.json:
        print_json({"action": args.action, "changed": results})
    else:
        for qid, changed in results.items():
            print(f"{qid}: {args.action + 'd' if changed else 'not quarantined any more (unchanged)'}")
    return 0 if all(results.values()) else 1
