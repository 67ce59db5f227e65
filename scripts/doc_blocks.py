"""Every fenced block of README.md and docs/*.md, and what the test suite does with it.

    python scripts/doc_blocks.py            # a Markdown table: file, line, language, status
    python scripts/doc_blocks.py --code     # only the Python and shell blocks

A Python or shell block is either **executed** by ``tests/test_doc_blocks.py`` (in a fresh
temporary folder that is also ``$MAAS_HOME``, twice in a row: re-running a snippet is normal) or
marked as a **fragment** on the line right before its fence, with the reason::

    <!-- fragment: needs a running chroma server -->
    ```python

Shell blocks (``bash``, ``sh``, ``shell``, ``console``) are executed only when every command is
a ``maas ...`` command other than ``maas serve`` (``maas`` runs as ``python -m
maas_langchain.adapters.cli``); in a ``console`` block the commands are the lines after ``$ ``
and the other lines are output. Anything else must be marked. Blocks in other languages (JSON,
text, diagrams) are listed as "not code". Standard library only: the test imports this file.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LANGUAGES = {"python": "python", "py": "python", "bash": "shell", "sh": "shell", "shell": "shell", "console": "shell"}
FRAGMENT = re.compile(r"^\s*<!--\s*fragment:\s*(?P<reason>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
SAFE_COMMAND = re.compile(r"^maas(\s|$)")
UNSAFE_COMMAND = re.compile(r"^maas\b.*\bserve\b")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text and its fragment reason (if marked)."""

    path: str  # relative to the repository root
    line: int  # 1-based line of the opening fence
    info: str  # the fence's language tag as written ("" when none)
    code: str
    fragment: str | None
    heading: str = ""  # the section it is in

    @property
    def anchor(self) -> str:
        """``file#heading``: a name for the block that survives edits above it."""
        return f"{self.path}#{self.heading}"

    @property
    def kind(self) -> str:
        """``python``, ``shell`` or ``other``."""
        return LANGUAGES.get(self.info.lower(), "other")

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"

    def shell_commands(self) -> list[str]:
        """The commands of a shell block: continuation lines joined, comments and output dropped."""
        lines = self.code.splitlines()
        if self.info.lower() == "console":
            picked: list[str] = []
            continuing = False
            for line in lines:
                if line.startswith("$ ") or continuing:
                    picked.append(line.removeprefix("$ ") if not continuing else line)
                    continuing = line.rstrip().endswith("\\")
            lines = picked
        commands: list[str] = []
        pending = ""
        for line in lines:
            text = pending + line.strip()
            if text.endswith("\\"):
                pending = text[:-1].rstrip() + " "
                continue
            pending = ""
            text = _strip_comment(text)
            if text:
                commands.append(text)
        if pending.strip():
            commands.append(pending.strip())
        return commands

    def unsafe_commands(self) -> list[str]:
        """Commands the test will not run on its own say (anything but ``maas ...``, or a server)."""
        return [c for c in self.shell_commands() if not SAFE_COMMAND.match(c) or UNSAFE_COMMAND.match(c)]

    def status(self) -> str:
        """``executed``, ``fragment: <reason>``, ``not code`` or ``NOT COVERED: <why>``."""
        if self.kind == "other":
            return "not code"
        if self.fragment is not None:
            return f"fragment: {self.fragment}" if self.fragment else "NOT COVERED: a fragment marker needs a reason"
        if self.kind == "shell" and self.unsafe_commands():
            return f"NOT COVERED: not only `maas` commands ({self.unsafe_commands()[0]!r}); mark it as a fragment"
        return "executed"


def _strip_comment(command: str) -> str:
    """``command  # note`` -> ``command`` (a ``#`` after whitespace, outside quotes)."""
    quote = ""
    for i, ch in enumerate(command):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].rstrip()
    return command.rstrip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def doc_files(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def parse(path: Path, root: Path = ROOT) -> list[Block]:
    """The fenced blocks of one Markdown file (indented fences in list items included)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = path.relative_to(root).as_posix()
    blocks: list[Block] = []
    heading = ""
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            title = HEADING.match(lines[i])
            heading = title["title"] if title else heading
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines[i + 1 : end]]
        marker = FRAGMENT.match(lines[i - 1]) if i > 0 else None
        blocks.append(
            Block(
                path=rel,
                line=i + 1,
                info=opening["info"],
                code="\n".join(body) + "\n",
                fragment=None if marker is None else marker["reason"],
                heading=heading,
            )
        )
        i = end + 1
    return blocks


def all_blocks(root: Path = ROOT) -> list[Block]:
    return [block for path in doc_files(root) for block in parse(path, root)]


def table(blocks: list[Block], *, code_only: bool = False) -> str:
    """A Markdown table of ``blocks`` (only the Python and shell ones with ``code_only``) and the counts."""
    rows = ["| file | line | language | status |", "|---|---|---|---|"]
    listed = [b for b in blocks if b.kind != "other"] if code_only else blocks
    rows += [f"| {b.path} | {b.line} | {b.info or '-'} | {_cell(b.status())} |" for b in listed]
    code = [b for b in blocks if b.kind != "other"]
    executed = sum(b.status() == "executed" for b in code)
    fragments = sum(b.status().startswith("fragment") for b in code)
    uncovered = len(code) - executed - fragments
    rows += [
        "",
        f"{len(code)} Python/shell blocks: {executed} executed, {fragments} fragments, {uncovered} not covered; "
        f"{len(blocks) - len(code)} other blocks (not code).",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", action="store_true", help="list only the Python and shell blocks")
    args = parser.parse_args(argv)
    blocks = all_blocks()
    print(table(blocks, code_only=args.code))
    return 1 if any(b.status().startswith("NOT COVERED") for b in blocks) else 0


if __name__ == "__main__":
    sys.exit(main())
