"""The notebooks in ``notebooks/`` run from top to bottom and draw their plots.

Each notebook is executed with nbclient in a fresh kernel running *this* interpreter (the
venv's), in a temporary working directory with ``MAAS_HOME`` inside it, against the checked-out
package. A cell error fails the test with the cell's traceback. The notebook dependencies are
required, not optional: a missing one fails the test and names the package to install.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REQUIRED = ("nbformat", "nbclient", "ipykernel", "matplotlib")
CELL_TIMEOUT = 120
KERNEL_NAME = "python3"


def _require_notebook_dependencies() -> None:
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(
            f"notebook tests need {', '.join(missing)} in {sys.executable}; "
            f"install them with: pip install {' '.join(missing)}  (or pip install -e '.[notebooks]')",
            pytrace=False,
        )


def _pin_kernel_to_this_python(jupyter_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the ``python3`` kernelspec launch ``sys.executable``, whatever else is installed.

    ``JUPYTER_PATH`` comes first in the kernelspec search path, ahead of the user's and the
    system's kernels, so a ``python3`` kernel registered elsewhere cannot take over.
    """
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 ({sys.executable})",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    _prepend_path("JUPYTER_PATH", jupyter_dir, monkeypatch)


def _prepend_path(name: str, entry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rest = [p for p in os.environ.get(name, "").split(os.pathsep) if p]
    monkeypatch.setenv(name, os.pathsep.join([str(entry), *rest]))


def _outputs(nb: Any) -> list[dict[str, Any]]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no .ipynb file"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_notebook_dependencies()
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    workdir = tmp_path / "work"
    workdir.mkdir()
    _pin_kernel_to_this_python(tmp_path / "jupyter", monkeypatch)
    monkeypatch.setenv("MAAS_HOME", str(tmp_path / "maas-home"))
    _prepend_path("PYTHONPATH", ROOT, monkeypatch)  # the checked-out package, installed or not
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the notebook picks the inline backend itself

    nb = nbformat.read(path, as_version=4)
    assert not _outputs(nb), f"{path.name} is committed with outputs; clear them before committing"
    probe = nbformat.v4.new_code_cell("import sys\nprint(sys.executable)")
    nb.cells.append(probe)

    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    elapsed = time.perf_counter() - started

    kernel_python = "".join(out.get("text", "") for out in probe.outputs).strip()
    assert Path(kernel_python).resolve() == Path(sys.executable).resolve(), kernel_python
    errors = [out for out in _outputs(nb) if out.get("output_type") == "error"]
    assert not errors, errors
    images = [out for out in _outputs(nb) if "image/png" in out.get("data", {})]
    assert images, f"{path.name} rendered no plot"
    print(f"{path.name}: {len(nb.cells) - 1} cells, {len(images)} plots, {elapsed:.1f} s")
