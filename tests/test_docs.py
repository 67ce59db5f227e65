"""Docs that are tested: the README's Python blocks and every docstring example run."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import re
from pathlib import Path

import pytest
from conftest import require_postgres

import maas_langchain

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(maas_langchain.__file__).parent


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAAS_HOME")
    blocks = _python_blocks(ROOT / "README.md")
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    printed = []
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), namespace)
        printed.append(out.getvalue().strip())
    assert printed[0] == "['mem-api-design']"
    assert printed[1].startswith("Competitor X raised prices by 20% in Q2. ['competitor'")  # real model recall
    assert printed[2].splitlines()[:2] == [  # structured memory: the conflict, then reflect's cited summary
        "enterprise.top_priority: SOC2 compliance -> data residency",
        "The enterprise customer segment now prioritises data residency. [1]",
    ]
    assert printed[2].endswith("Reflections:\n- The enterprise customer segment now prioritises data residency. [1]")
    assert "True" in printed  # the audit block: verify_chain().ok
    assert (tmp_path / ".maas" / "maas.db").is_file()


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
