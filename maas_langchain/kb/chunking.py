"""Split source files and documents into chunks that follow their structure.

* Python: :mod:`ast` — a header chunk (module docstring, imports, constants), each top-level
  function, each class (or, for a class larger than a chunk, its header and each method), and
  the statements between them.
* Other languages (JavaScript/TypeScript, Go, Rust, Java, Kotlin, C#, C/C++, Ruby, PHP, shell…):
  a regex for top-level definitions, with their leading comments; a blank-line/size fallback.
* Markdown: by headings (outside fenced code), small sections merged, each chunk titled with
  its heading path.

Every chunk is at most :data:`MAX_CHUNK_CHARS` characters (larger pieces are split at blank
lines, then at line ends) and carries its 1-based inclusive line range.

Example:
    >>> chunks = chunk_file("a.py", "import os\\n\\n\\ndef check_json(x):\\n    return x\\n")
    >>> [(c.symbol, c.start_line, c.end_line) for c in chunks]
    [('<header>', 1, 1), ('check_json', 4, 5)]
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

__all__ = ["MAX_CHUNK_CHARS", "Chunk", "chunk_file", "chunk_markdown", "language_of"]

MAX_CHUNK_CHARS = 1500
"""Upper bound of a chunk's text (MiniLM reads ~256 word pieces; the lexical leg reads it all)."""

_LANGUAGES = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript", ".go": "go", ".rs": "rust",
    ".java": "java", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala", ".cs": "csharp", ".c": "c",
    ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".rb": "ruby",
    ".php": "php", ".swift": "swift", ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".sql": "sql",
    ".md": "markdown", ".markdown": "markdown", ".rst": "text", ".txt": "text", ".adoc": "text",
}  # fmt: skip

_C_FAMILY = r"(?:(?:static|inline|extern|const|unsigned|signed|struct|virtual)\s+)*[A-Za-z_][\w:<>,\s\*&]*?[\s\*&]"
_DEFINITIONS: dict[str, str] = {
    "javascript": r"(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)",
    "typescript": r"(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?"
    r"(?:function\*?|class|const|let|var|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)",
    "go": r"(?:func\s+(?:\([^)]*\)\s*)?|type\s+|var\s+|const\s+)([A-Za-z_]\w*)",
    "rust": r"(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"C\"\s+)?"
    r"(?:fn|struct|enum|trait|impl(?:<[^>]*>)?|mod|type|const|static|union|macro_rules!)\s+([A-Za-z_][\w:]*)",
    "java": r"\s{0,4}(?:(?:public|private|protected|static|final|abstract|sealed|synchronized|default)\s+)*"
    r"(?:class|interface|enum|record|@interface|[\w<>\[\],\s]+?)\s+([A-Za-z_]\w*)\s*(?:[({<]|extends|implements)",
    "csharp": r"\s{0,8}(?:(?:public|private|protected|internal|static|sealed|abstract|partial|async|override|virtual)\s+)+"
    r"(?:class|interface|enum|record|struct|[\w<>\[\],\s]+?)\s+([A-Za-z_]\w*)\s*[({<:]",
    "kotlin": r"\s{0,4}(?:(?:public|private|internal|open|data|sealed|abstract|override|suspend)\s+)*"
    r"(?:fun|class|object|interface)\s+([A-Za-z_][\w.]*)",
    "scala": r"\s{0,2}(?:(?:case|abstract|sealed|final|private|implicit)\s+)*(?:def|class|object|trait)\s+([A-Za-z_]\w*)",
    "swift": r"\s{0,4}(?:(?:public|private|internal|open|final|static)\s+)*(?:func|class|struct|enum|protocol|extension)\s+([A-Za-z_]\w*)",
    "c": rf"(?:(?:struct|enum|union|typedef)\s+([A-Za-z_]\w*)|{_C_FAMILY}\**([A-Za-z_]\w*)\s*\([^;]*$)",
    "cpp": rf"(?:(?:template\s*<.*>\s*)?(?:class|struct|enum|union|namespace|typedef)\s+([A-Za-z_]\w*)"
    rf"|{_C_FAMILY}\**([A-Za-z_][\w:~]*)\s*\([^;]*$)",
    "ruby": r"\s{0,2}(?:def|class|module)\s+([A-Za-z_][\w.?!]*)",
    "php": r"\s{0,4}(?:(?:public|private|protected|static|abstract|final)\s+)*(?:function|class|interface|trait)\s+([A-Za-z_]\w*)",
    "shell": r"(?:function\s+([A-Za-z_][\w-]*)|([A-Za-z_][\w-]*)\s*\(\)\s*\{?)",
    "sql": r"(?i:create\s+(?:or\s+replace\s+)?(?:table|view|index|function|procedure|trigger)\s+(?:if\s+not\s+exists\s+)?([\w.\"]+))",
}
_DEFINITION_RES = {lang: re.compile(f"^{pattern}") for lang, pattern in _DEFINITIONS.items()}
_MAX_DEFINITION_LINE = 400  # longer lines (minified code) are never definitions; keeps the regexes linear
_COMMENT_LINE = re.compile(r"^\s*(?://|/\*|\*|#|--|@|\[)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Chunk:
    """One piece of a file: its text, 1-based inclusive line range and what it defines.

    Attributes:
        text: The chunk's text (at most :data:`MAX_CHUNK_CHARS` characters).
        start_line: First line (1-based).
        end_line: Last line (inclusive).
        symbol: What the chunk is: a qualified name (``Class.method``), ``<header>``,
            ``<module>``, a Markdown heading path, or ``""``.
        defines: Names defined in the chunk (for matching identifiers to their definition).
    """

    text: str
    start_line: int
    end_line: int
    symbol: str = ""
    defines: tuple[str, ...] = field(default=())


def language_of(path: str) -> str:
    """The language name for a file path, from its extension (``"text"`` if unknown)."""
    name = PurePosixPath(path).name.lower()
    if name in ("makefile", "dockerfile"):
        return "shell"
    return _LANGUAGES.get(PurePosixPath(name).suffix, "text")


def chunk_file(path: str, text: str, language: str | None = None) -> list[Chunk]:
    """Split a file's text into chunks along its structure (see the module docstring)."""
    language = language or language_of(path)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        return []
    if language == "python":
        pieces = _python_pieces(text, lines)
    elif language == "markdown":
        return chunk_markdown(text)
    elif language in _DEFINITION_RES:
        pieces = _regex_pieces(lines, _DEFINITION_RES[language])
    else:
        pieces = _paragraph_pieces(lines, 1, len(lines), "")
    return [c for piece in pieces for c in _fit(piece, lines)]


# -- Python ---------------------------------------------------------------------------------------


def _node_start(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _python_pieces(text: str, lines: list[str]) -> list[Chunk]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return _paragraph_pieces(lines, 1, len(lines), "")
    pieces: list[Chunk] = []
    covered_to = 0
    first_def = next(
        (_node_start(n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))),
        len(lines) + 1,
    )
    if first_def > 1:
        pieces.append(_span(lines, 1, first_def - 1, "<header>", ()))
        covered_to = first_def - 1
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        start, end = _with_leading_comments(lines, _node_start(node), covered_to), node.end_lineno or node.lineno
        if start > covered_to + 1:
            pieces.append(_span(lines, covered_to + 1, start - 1, "<module>", ()))
        pieces += _python_definition(node, lines, start, end)
        covered_to = end
    if covered_to < len(lines):
        pieces.append(_span(lines, covered_to + 1, len(lines), "<module>", ()))
    return [p for p in pieces if p.text.strip()]


def _python_definition(node: ast.stmt, lines: list[str], start: int, end: int) -> list[Chunk]:
    name = getattr(node, "name", "")
    methods = [n for n in getattr(node, "body", []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    defines = (name, *(m.name for m in methods)) if isinstance(node, ast.ClassDef) else (name,)
    whole = _span(lines, start, end, name, defines)
    if not isinstance(node, ast.ClassDef) or len(whole.text) <= MAX_CHUNK_CHARS or not methods:
        return [whole]
    pieces = []
    covered_to = start - 1
    for method in methods:
        m_start, m_end = _node_start(method), method.end_lineno or method.lineno
        if m_start > covered_to + 1:
            symbol = name if covered_to < start else f"{name}.<body>"
            pieces.append(_span(lines, covered_to + 1, m_start - 1, symbol, (name,)))
        pieces.append(_span(lines, m_start, m_end, f"{name}.{method.name}", (method.name,)))
        covered_to = m_end
    if covered_to < end:
        pieces.append(_span(lines, covered_to + 1, end, f"{name}.<body>", (name,)))
    return pieces


# -- other languages ------------------------------------------------------------------------------


def _definition_name(match: re.Match[str]) -> str:
    return next((g for g in match.groups() if g), "")


def _regex_pieces(lines: list[str], pattern: re.Pattern[str]) -> list[Chunk]:
    starts: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        match = pattern.match(line) if len(line) < _MAX_DEFINITION_LINE and not line.rstrip().endswith(";") else None
        if match and _definition_name(match):
            starts.append(
                (_with_leading_comments(lines, number, starts[-1][0] if starts else 0), _definition_name(match))
            )
    if not starts:
        return _paragraph_pieces(lines, 1, len(lines), "")
    pieces: list[Chunk] = []
    if starts[0][0] > 1:
        pieces.append(_span(lines, 1, starts[0][0] - 1, "<header>", ()))
    for index, (start, name) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
        pieces.append(_span(lines, start, end, name, (name.split("::")[-1].split(".")[-1],)))
    return [p for p in pieces if p.text.strip()]


def _with_leading_comments(lines: list[str], number: int, floor: int) -> int:
    start = number
    while start - 1 > floor and _COMMENT_LINE.match(lines[start - 2]) and lines[start - 2].strip():
        start -= 1
    return start


# -- Markdown -------------------------------------------------------------------------------------


def _markdown_sections(lines: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, heading path) for each section; the text before the first heading is ``""``."""
    heads: list[tuple[int, int, str]] = []  # line, level, title
    fenced = False
    for number, line in enumerate(lines, start=1):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            heads.append((number, len(match.group(1)), match.group(2)))
    sections: list[tuple[int, int, str]] = []
    if not heads or heads[0][0] > 1:
        sections.append((1, heads[0][0] - 1 if heads else len(lines), ""))
    trail: list[tuple[int, str]] = []
    for index, (number, level, title) in enumerate(heads):
        trail = [(lv, t) for lv, t in trail if lv < level] + [(level, title)]
        end = heads[index + 1][0] - 1 if index + 1 < len(heads) else len(lines)
        sections.append((number, end, " > ".join(t for _, t in trail)))
    return sections


def chunk_markdown(text: str) -> list[Chunk]:
    """Split Markdown by headings; consecutive small sections are merged up to a chunk's size.

    A document that fits in one chunk stays whole.
    """
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        return []
    whole = _span(lines, 1, len(lines), "", ())
    if len(whole.text) <= MAX_CHUNK_CHARS:
        return [whole]
    merged: list[Chunk] = []
    for start, end, heading in _markdown_sections(lines):
        piece = _span(lines, start, end, heading, ())
        if not piece.text.strip():
            continue
        if merged and len(merged[-1].text) + len(piece.text) + 1 <= MAX_CHUNK_CHARS:
            last = merged.pop()
            piece = _span(lines, last.start_line, end, last.symbol or heading, ())
        merged.append(piece)
    return [c for piece in merged for c in _fit(piece, lines)]


# -- sizes ----------------------------------------------------------------------------------------


def _span(lines: list[str], start: int, end: int, symbol: str, defines: tuple[str, ...]) -> Chunk:
    while start < end and not lines[start - 1].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return Chunk("\n".join(lines[start - 1 : end]), start, end, symbol, defines)


def _fit(chunk: Chunk, lines: list[str]) -> list[Chunk]:
    """Split a chunk larger than the limit at blank lines (then at line ends, then hard)."""
    if len(chunk.text) <= MAX_CHUNK_CHARS:
        return [chunk] if chunk.text.strip() else []
    pieces = _paragraph_pieces(lines, chunk.start_line, chunk.end_line, chunk.symbol)
    first = pieces[0] if pieces else None
    out = []
    for piece in pieces:
        defines = chunk.defines if piece is first else ()
        out += [Chunk(p.text, p.start_line, p.end_line, chunk.symbol, defines) for p in _hard_split(piece)]
    return out


def _paragraph_pieces(lines: list[str], start: int, end: int, symbol: str) -> list[Chunk]:
    """Pack paragraphs (blank-line separated) of lines ``start..end`` into chunks <= the limit."""
    pieces: list[Chunk] = []
    piece_start, size = start, 0
    for number in range(start, end + 1):
        line_size = len(lines[number - 1]) + 1
        if size + line_size > MAX_CHUNK_CHARS and number > piece_start:
            cut = _last_blank(lines, piece_start, number - 1)
            pieces.append(_span(lines, piece_start, cut, symbol, ()))
            piece_start = cut + 1
            size = sum(len(lines[n - 1]) + 1 for n in range(piece_start, number))
        size += line_size
    if piece_start <= end:
        pieces.append(_span(lines, piece_start, end, symbol, ()))
    return [p for p in pieces if p.text.strip()]


def _last_blank(lines: list[str], start: int, end: int) -> int:
    """The last line of the chunk ending at ``end``: a blank line in its second half, else ``end``."""
    for number in range(end, (start + end) // 2, -1):
        if not lines[number - 1].strip():
            return number
    return end


def _hard_split(chunk: Chunk) -> list[Chunk]:
    """Split a chunk whose single lines are too long (minified code) into fixed-size slices."""
    if len(chunk.text) <= MAX_CHUNK_CHARS:
        return [chunk]
    return [
        Chunk(chunk.text[i : i + MAX_CHUNK_CHARS], chunk.start_line, chunk.end_line, chunk.symbol)
        for i in range(0, len(chunk.text), MAX_CHUNK_CHARS)
    ]
