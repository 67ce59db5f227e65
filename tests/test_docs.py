"""Docs that are tested: every docstring example runs (the blocks of README.md and docs/*.md:
test_doc_blocks.py)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest
from conftest import require_postgres

import maas_langchain

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(maas_langchain.__file__).parent


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(PACKAGE).with_suffix("").parts
            names.append(".".join(("maas_langchain", *parts)).removesuffix(".__init__"))
    return names


@pytest.mark.parametrize("module_name", _modules_with_examples())
def test_docstring_examples_run(module_name: str) -> None:
    if module_name.endswith(".postgres"):
        require_postgres()  # its example talks to the local server
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
