"""The layering and public surface of DESIGN.md §2 and STYLE.md, as tests."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import maas_langchain
from maas_langchain import errors

PACKAGE = Path(maas_langchain.__file__).parent
FRAMEWORKS = (
    "langchain",
    "langchain_core",
    "langgraph",
    "chromadb",
    "psycopg",
    "psycopg_pool",
    "mcp",
    "sentence_transformers",
    "langmem",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_framework(path: Path) -> None:
    assert not _imports(path) & set(FRAMEWORKS)


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_depends_only_on_core_errors_and_the_storage_contract(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("maas_langchain"):
            allowed = node.module.startswith(("maas_langchain.core", "maas_langchain.errors"))
            allowed |= node.module in ("maas_langchain.storage.base", "maas_langchain.vectors.base")
            assert allowed, f"{path.name} imports {node.module}"


def test_importing_the_package_loads_no_framework() -> None:
    probe = f"[m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r}]"
    code = f"import sys, maas_langchain; print(sorted({probe}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_surface_is_curated() -> None:
    assert sorted(maas_langchain.__all__) == sorted(set(maas_langchain.__all__))
    for name in maas_langchain.__all__:
        assert hasattr(maas_langchain, name), name
    public = {n for n in dir(maas_langchain) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(maas_langchain, n))}
    assert public - modules - {"annotations"} == set(maas_langchain.__all__) - {"__version__"}


def test_every_error_has_a_stable_code() -> None:
    codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.MaaSError)}
    assert codes == {
        "maas_error",
        "permission_denied",
        "not_found",
        "conflict",
        "capacity_exceeded",
        "invalid_input",
        "policy_violation",
        "backend_unavailable",
        "not_supported",
    }
    assert errors.BackendUnavailableError("x").to_dict()["retryable"] is True


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small_and_documented(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 500
    module = importlib.import_module(
        "maas_langchain." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        if path.name != "__init__.py" or path.parent != PACKAGE
        else "maas_langchain"
    )
    if text.strip():
        assert module.__doc__, f"{path.name} has no module docstring"
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{path.name}: {name} has no docstring"
