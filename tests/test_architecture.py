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


CORE_FILES = sorted((PACKAGE / "core").rglob("*.py"))
BACKEND_FILES = sorted((PACKAGE / "backends").rglob("*.py"))
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _all_imports(path: Path) -> list[str]:
    """Every imported module, ``import x`` and ``from x import`` alike, at any depth (functions,
    ``TYPE_CHECKING`` blocks); relative imports resolved against the module's package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("maas_langchain", *path.relative_to(PACKAGE).parent.parts))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.append(f"{base}.{node.module}" if node.module else base)
            else:
                found.append(node.module or "")
    return found


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_imports_only_core_errors_numpy_and_the_standard_library(path: Path) -> None:
    """DESIGN.md §2: core owns its ports and imports only core, ``errors`` and numpy — no
    backend, adapter, framework or the top-level package; no allow-listed exceptions."""
    for name in _all_imports(path):
        top = name.split(".")[0]
        ok = top in STDLIB or top == "numpy" or name.startswith(("maas_langchain.core", "maas_langchain.errors"))
        assert ok, f"{path.relative_to(PACKAGE)} imports {name}"


@pytest.mark.parametrize("path", BACKEND_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_backends_implement_ports_and_import_no_core_service(path: Path) -> None:
    """Backends see core's ports and its data types (records, entity types, enums), never a
    service or the access module: what a principal may see reaches them as data
    (``core/ports/filters.py``)."""
    allowed = (
        "maas_langchain.core.ports",
        "maas_langchain.core.records",
        "maas_langchain.core.enums",
        "maas_langchain.core.entity_types",
    )
    for name in _all_imports(path):
        if name.startswith("maas_langchain.core"):
            assert name.startswith(allowed), f"{path.relative_to(PACKAGE)} imports {name}"
        assert not name.startswith(("maas_langchain.adapters", "maas_langchain.maas", "maas_langchain.client"))


def test_access_is_decided_in_one_module() -> None:
    """Only the access module (``core/access/``, split by concept) builds a PermissionDeniedError:
    services, adapters and backends call it and never decide or re-derive a rule themselves."""
    deciders = {
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "PermissionDeniedError(" in p.read_text(encoding="utf-8")
    }
    assert {d for d in deciders if not d.startswith("core/access/")} == {"errors.py"}, deciders  # its definition


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
        "storage_corrupted",
        "not_supported",
    }
    assert errors.BackendUnavailableError("x").to_dict()["retryable"] is True
    assert errors.StorageFullError("x").to_dict()["retryable"] is True  # once space is freed
    assert errors.StorageCorruptedError("x").to_dict() == {
        "code": "storage_corrupted",
        "message": "x",
        "retryable": False,
    }


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
