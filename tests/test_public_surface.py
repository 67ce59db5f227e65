"""The package feels like a LangChain integration: the main classes import from the top level,
lazily (importing ``maas_langchain`` loads no framework), and a missing extra is a typed error
that names the install command."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import maas_langchain

LAZY = ("MaaSToolkit", "MaaSStore", "MaaSCheckpointer", "create_maas_supervisor", "MaaSWorker", "LLMExtractor")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_importing_the_package_loads_no_framework_and_the_classes_come_on_first_use() -> None:
    proc = _run(
        f"""
        import sys
        import maas_langchain
        loaded = [m for m in ("langgraph", "langchain_core", "mcp", "chromadb", "sentence_transformers", "torch")
                  if m in sys.modules]
        assert not loaded, loaded
        from maas_langchain import {", ".join(LAZY)}
        assert MaaSToolkit.__module__ == "maas_langchain.adapters.tools.langchain"
        assert "langgraph" in sys.modules
        print("ok")
        """
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.parametrize("name", LAZY)
def test_each_lazy_name_is_public(name: str) -> None:
    assert name in maas_langchain.__all__ and name in dir(maas_langchain)
    assert getattr(maas_langchain, name).__name__ == name


def test_a_missing_mcp_extra_is_a_typed_error_naming_the_extra() -> None:
    proc = _run(
        """
        import sys
        sys.modules["mcp"] = None  # as if the extra were not installed
        from maas_langchain import NotSupportedError
        try:
            from maas_langchain.adapters.mcp import build_server
        except NotSupportedError as exc:
            assert isinstance(exc, ImportError) and exc.code == "not_supported"
            print(exc.message)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert 'pip install "maas_langchain[mcp]"' in proc.stdout


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'MaaSNothing'"):
        maas_langchain.MaaSNothing  # noqa: B018
