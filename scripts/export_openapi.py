"""Write the REST API's OpenAPI document to ``docs/openapi.json`` (or print it with ``-``).

The document is generated from the operation registry's pydantic models
(:mod:`maas_langchain.adapters.rest.app`); ``tests/test_rest_openapi.py`` fails when the
committed file differs from what the code generates, so run this after changing an argument
model or a route, and commit the result (the TypeScript client's types are generated from it:
``cd clients/typescript && npm run generate``).

Usage:
    python scripts/export_openapi.py [PATH | -]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def openapi_text() -> str:
    """The OpenAPI document as the committed text (sorted keys, two-space indent, final newline)."""
    from maas_langchain import MaaS
    from maas_langchain.adapters.rest.app import create_rest_app
    from maas_langchain.embeddings import HashingEmbeddings

    maas = MaaS.open(":memory:", embeddings=HashingEmbeddings())
    try:
        doc = create_rest_app(maas).openapi()
    finally:
        maas.close()
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0] != "-" and argv[0].startswith("-")):
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    text = openapi_text()
    target = argv[0] if argv else str(DEFAULT)
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")
        print(f"wrote {target} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
