"""Writing a benchmark's report: its JSON, its markdown page and (with matplotlib) its plot."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def write_report(
    report: dict[str, Any],
    out: Path | None,
    *,
    name: str,
    page: str,
    render_markdown: Callable[[dict[str, Any], str | None], str],
    write_plot: Callable[[dict[str, Any], Path], bool],
    keep_after: str | None = None,
) -> dict[str, Path]:
    """Write ``<name>.json`` (``benchmarks/results/``), the markdown ``page`` (``docs/``) and
    ``img/<name>.png``, or all three into ``out``; return where they went (no plot without
    matplotlib). With ``keep_after``, what a page holds after that marker line (sections
    someone added by hand) is kept on rerun."""
    if out is None:
        paths = {
            "json": ROOT / "benchmarks" / "results" / f"{name}.json",
            "markdown": ROOT / "docs" / page,
            "plot": ROOT / "docs" / "img" / f"{name}.png",
        }
    else:
        paths = {"json": out / f"{name}.json", "markdown": out / page, "plot": out / "img" / f"{name}.png"}
    for kind in ("json", "markdown"):
        paths[kind].parent.mkdir(parents=True, exist_ok=True)
    paths["json"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plotted = write_plot(report, paths["plot"])
    image = Path(os.path.relpath(paths["plot"], paths["markdown"].parent)).as_posix() if plotted else None
    kept = ""
    if keep_after is not None and paths["markdown"].exists():
        _, marker, kept = paths["markdown"].read_text(encoding="utf-8").partition(keep_after + "\n")
        kept = kept if marker else ""
    paths["markdown"].write_text(render_markdown(report, image) + kept, encoding="utf-8")
    if not plotted:
        del paths["plot"]
    return paths
