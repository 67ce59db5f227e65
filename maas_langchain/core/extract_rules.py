"""The offline extractor: entities, attributes and relations from a memory's text, by rules.

:class:`RuleExtractor` is the default :class:`~maas_langchain.core.entity_types.Extractor`: no
model, no network, deterministic (the same text always gives the same
:class:`~maas_langchain.core.entity_types.Extraction`), about 50 to 250 microseconds for a
typical one-to-three-sentence memory. It reads:

* **prose** — each plain statement (:mod:`~maas_langchain.core.extract_text` drops questions,
  instructions and hedged sentences), parsed by :mod:`~maas_langchain.core.extract_clauses`
  ("X uses Y", "X's price is Z", "X no longer uses Y", "X moved to Y" ...);
* **key/value lines** — ``deploy_target: staging``, ``max_retries = 5``, ``- owner: Alice``:
  attributes of the entity the block names (a ``service: auth`` / ``name: X`` line in the
  same block, else the Markdown heading above it), otherwise of ``context`` (type ``Context``:
  a fact about the memory's scope). URLs, times (``12:30``), comparisons and code
  (``a == b``, ``x = f(y)``, ``{...}``), dialogue (``Alice: how do you ...?``) and titles
  (``Q3 2024: <statement>``, read as the statement) are not key/value lines; fenced code
  blocks are skipped.

Precision is preferred to recall: a wrong fact would supersede a right one, so a sentence the
rules cannot read with confidence yields nothing. Within one memory a later value of the same
single-valued key replaces an earlier one (``is_a`` and negations keep every value). Only the
first :data:`~maas_langchain.core.extract_text.MAX_CHARS` characters are read and at most
:data:`MAX_FACTS` facts returned. ``category`` does not change the rules. ``docs/extraction.md``
lists what is covered and what is not.

Example:
    >>> x = RuleExtractor().extract(
    ...     "The enterprise customer segment prioritises SOC2 compliance over cost. "
    ...     "Competitor X's price is $299/mo."
    ... )
    >>> [(a.entity, a.key, a.value, a.entity_type) for a in x.attributes]
    [('enterprise', 'top_priority', 'SOC2 compliance', 'CustomerSegment'), ('Competitor X', 'price', '$299/mo', 'Competitor')]
"""

from __future__ import annotations

import re

from maas_langchain.core.entity_types import (
    ExtractedAttribute,
    ExtractedEntity,
    ExtractedRelation,
    Extraction,
    norm_value,
)
from maas_langchain.core.extract_clauses import Found, norm, parse_sentence
from maas_langchain.core.extract_nouns import CONTEXT, TYPE_NOUNS, Noun, entity, snake, valid_name
from maas_langchain.core.extract_text import ARTICLE, MAX_SENTENCE, is_statement, iso_dates, prepare, split_sentences

__all__ = ["MAX_FACTS", "RuleExtractor"]

MAX_FACTS = 100
"""At most this many attributes and relations per memory (the entity service's own limit)."""

_FENCE = re.compile(r"^(?:```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s+(?P<h>.+?)[\s#:]*$")
_ITEM = re.compile(r"^(?:[-*+\u2022]|\d{1,3}[.)])\s+(?P<body>.+)$")
_BOLD = re.compile(r"^(\*\*|__)(?P<k>[^*_]{1,40})\1")
_LABEL = re.compile(
    r"^(?:\[[^\]]{1,40}\]\s*|(?:note|notes|update|fyi|btw|summary|important|reminder|background|fact|"
    r"facts|observation|finding|findings|insight|result|conclusion|decision|tl;dr|todo|fixme|question|q|a|"
    r"task|tasks|next\s+steps?|action\s+items?|error|warning|info|debug)\s*:\s*|"
    r"\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*[:,\u2013-]?\s+)",
    re.IGNORECASE,
)
_KV = re.compile(r"^(?P<key>[^\W\d_][\w .'/-]{0,40}?)\s*(?P<sep>:|=)(?P<rest>.*)$")
_CODE = re.compile(r"[{};`]|\w\(|==|!=|&&|\|\||=>|->|^[=>~]|^//|^\w+\s+[-+*/%]\s+\w+$")
_TITLE = re.compile(r"^[^:\n]{1,40}:\s+(?=\S)")
_CONJUNCTION = re.compile(r",?\s+(?:and|but|while|whereas)\s+(?=[A-Z\d])|,\s+(?=[A-Z])")
_COMMENT = re.compile(r"\s+#\s.*$")
_IDENTITY = frozenset({"name", "entity", *TYPE_NOUNS}) - {"plan", "feature", "model", "account", "module", "package"}
_GENERIC_HEADINGS_TEXT = """notes summary facts context details overview status settings config configuration todo tasks
    background decisions findings results changes changelog misc other"""
_GENERIC_HEADINGS = frozenset(_GENERIC_HEADINGS_TEXT.split())
_MAX_KV_WORDS = 8
_NOT_KV_VALUE = re.compile(  # dialogue (a question, an exclamation) or a clause is not a setting
    r"\[REDACTED|[?!]|\s(?:is|are|was|were|has|have|had|will|would|should|could)\s", re.IGNORECASE
)
_NOT_KEYS = frozenset(["stop", "write", "say", "print", "ignore", "forget", "disregard", "tell", "repeat", "output"])


def _kv_value(raw: str) -> str | None:
    value = _COMMENT.sub("", raw).strip().rstrip(" .,;")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    value = ARTICLE.sub("", " ".join(iso_dates(value).split()))
    if not value or len(value) > 120 or len(value.split()) > _MAX_KV_WORDS or _NOT_KV_VALUE.search(value):
        return None
    return value


def _key_value(line: str) -> tuple[str, str] | None:
    """``(key, value)`` when ``line`` is a key/value line, else ``None``."""
    line = _BOLD.sub(r"\g<k>", line)
    m = _KV.match(line)
    if m is None or _LABEL.match(line):
        return None
    key, sep, rest = m.group("key").strip(" *_"), m.group("sep"), m.group("rest")
    if sep == ":" and not rest[:1].isspace():
        return None  # URLs, times (12:30), "a:b"
    if sep == "=" and line[m.start("sep") - 1 : m.start("sep")] in "!<>=:+-*/%&|^":
        return None
    words = key.split()
    if len(words) > 4 or len(key) < 2 or not valid_name(key) or _CODE.search(rest.strip()):
        return None
    if words[0].lower() in _NOT_KEYS or (len(words) > 1 and any(w.isdigit() for w in words)):
        return None  # "stop: write ..." is an instruction; "Incident 12 postmortem: ..." a title
    noun = entity(key)
    if len(words) > 1 and (noun is None or noun.type != "Thing"):
        return None  # "Competitor X: ...", "Auth service: down" — not a key
    value = _kv_value(rest)
    return (key, value) if value else None


def _heading(text: str) -> Noun | None:
    noun = entity(text)
    if noun is None or text.lower() in _GENERIC_HEADINGS:
        return None
    named = noun.type != "Thing" or any(c.isupper() for c in text[1:]) or len(text.split()) == 1
    return noun if named else None


class _Reader:
    """One memory's lines: prose paragraphs and key/value blocks, in order."""

    def __init__(self, found: Found) -> None:
        self.found = found
        self.heading: Noun | None = None
        self.block: list[tuple[str, str]] = []
        self.paragraph: list[str] = []

    def read(self, text: str) -> None:
        fenced = False
        for raw in text.split("\n"):
            line = raw.strip()
            if _FENCE.match(line):
                self.flush()
                fenced = not fenced
            elif fenced:
                continue
            elif not line:
                self.flush()
            elif len(line) <= MAX_SENTENCE and (heading := _HEADING.match(line)):
                self.flush()
                self.heading = _heading(heading.group("h"))
            else:
                self.line(line)
        self.flush()

    def line(self, line: str) -> None:
        item = _ITEM.match(line)
        body = item.group("body") if item else line
        pair = _key_value(body) if len(body) <= MAX_SENTENCE else None
        title = _TITLE.match(body)
        if title is not None and len(body[title.end() :].split()) > 2 and (pair is None or len(pair[1].split()) > 2):
            self.prose()
            if self.states(body[title.end() :]):
                return  # "Q3 2024: Acme's price is $299" — a title, then a statement
        if pair is not None:
            self.prose()
            self.block.append(pair)
            return
        self.pairs()
        if item is not None or (self.paragraph and not body[:1].islower()):
            self.prose()  # a list item, or a line that does not continue the one before
        self.paragraph.append(body)
        if item is not None:
            self.prose()

    def states(self, text: str) -> bool:
        """Read ``text`` as a statement; whether it yielded a fact."""
        before = len(self.found.attributes) + len(self.found.relations)
        if is_statement(text):
            self.statement(text)
        return len(self.found.attributes) + len(self.found.relations) > before

    def flush(self) -> None:
        self.prose()
        self.pairs()

    def prose(self) -> None:
        text, self.paragraph = " ".join(self.paragraph), []
        for sentence in split_sentences(text) if text else ():
            for _ in range(2):
                sentence = _LABEL.sub("", sentence, count=1)
            if is_statement(sentence):
                self.statement(sentence)

    def statement(self, sentence: str) -> None:
        """Parse ``sentence``, then each further clause joined by ", " / "and" / "but" before a
        capital ("Acme uses Postgres and Beta uses MySQL"); a part that is no clause yields
        nothing."""
        before = len(self.found.attributes) + len(self.found.relations)
        parse_sentence(sentence, self.found)
        parts = _CONJUNCTION.split(sentence)
        if len(parts) < 2:
            return
        if len(self.found.attributes) + len(self.found.relations) > before:
            parts = parts[1:]  # the first clause was read with the whole sentence
        for part in parts:
            parse_sentence(part, self.found)

    def pairs(self) -> None:
        block, self.block = self.block, []
        owner, owner_line = self.heading or CONTEXT, -1
        for i, (key, value) in enumerate(block):
            if key.lower() in _IDENTITY and valid_name(value):
                owner, owner_line = Noun(value, TYPE_NOUNS.get(key.lower(), "Thing")), i
                break
        for i, (key, value) in enumerate(block):
            if i == owner_line:
                continue
            if key.lower() in ("type", "kind") and owner_line >= 0 and owner.type == "Thing":
                owner = Noun(owner.name, "".join(w[:1].upper() + w[1:] for w in snake(value).split("_")) or "Thing")
                continue
            self.found.attribute(owner, snake(key), value)


def _canonical(found: Found) -> tuple[dict[str, Noun], dict[str, list[str]]]:
    """One spelling and type per normalised name (first spelling; first specific type), and the
    aliases each entity was written with."""
    canon: dict[str, Noun] = {}
    aliases: dict[str, list[str]] = {}
    for noun in found.nouns:
        key = norm(noun.name)
        if not key:
            continue
        known = canon.setdefault(key, noun)
        if known.type == "Thing" and noun.type != "Thing":
            canon[key] = Noun(known.name, noun.type)
        names = aliases.setdefault(key, [])
        if noun.alias and norm(noun.alias) != key and noun.alias not in names:
            names.append(noun.alias)
    return canon, aliases


def _assemble(found: Found) -> Extraction:
    canon, aliases = _canonical(found)
    attributes: dict[tuple[str, ...], ExtractedAttribute] = {}
    for a in found.attributes:
        key = norm(a.entity)
        if key not in canon:
            continue
        owner = canon[key]
        multi = a.key == "is_a" or a.negated
        slot = (key, a.key, str(a.negated), norm_value(a.value) if multi else "")
        attributes.pop(slot, None)  # a later value of the key wins, in the later position
        attributes[slot] = ExtractedAttribute(owner.name, a.key, a.value, owner.type, a.negated)
    relations: dict[tuple[str, ...], ExtractedRelation] = {}
    for r in found.relations:
        s, o = norm(r.subject), norm(r.object)
        if s in canon and o in canon and s != o:
            subj, obj = canon[s], canon[o]
            relations[(s, r.predicate, o, str(r.negated))] = ExtractedRelation(
                subj.name, r.predicate, obj.name, subj.type, obj.type, r.negated
            )
    kept_attributes = list(attributes.values())[:MAX_FACTS]
    kept_relations = list(relations.values())[: MAX_FACTS - len(kept_attributes)]
    used = {norm(a.entity) for a in kept_attributes}
    used |= {norm(n) for r in kept_relations for n in (r.subject, r.object)}
    entities = tuple(
        ExtractedEntity(noun.name, noun.type, tuple(aliases[key])) for key, noun in canon.items() if key in used
    )
    return Extraction(entities, tuple(kept_attributes), tuple(kept_relations))


class RuleExtractor:
    """Extracts facts from plain statements and key/value lines with rules (no model).

    Example:
        >>> x = RuleExtractor().extract("Acme no longer uses MySQL.\\ndeploy_target: staging")
        >>> [(r.subject, r.predicate, r.object, r.negated) for r in x.relations]
        [('Acme', 'uses', 'MySQL', True)]
        >>> [(a.entity, a.key, a.value) for a in x.attributes]
        [('context', 'deploy_target', 'staging')]
    """

    name = "rules"

    def extract(self, text: str, *, category: str = "knowledge") -> Extraction:
        """Entities, attributes and relations stated in ``text``; an empty
        :class:`~maas_langchain.core.entity_types.Extraction` when it states none that the
        rules can read. Never raises: a failure is returned as ``Extraction.error``."""
        if not isinstance(text, str):
            return Extraction(error=f"rules: expected text, got {type(text).__name__}")
        try:
            found = Found()
            _Reader(found).read(prepare(text))
            return _assemble(found)
        except Exception as exc:  # a rule bug must not fail the memory's extraction job
            return Extraction(error=f"rules: {type(exc).__name__}: {exc}"[:200])
