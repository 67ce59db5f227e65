"""Rule extraction, step 1: a memory's text as statements, and values cleaned for storing.

The offline extractor (:mod:`maas_langchain.core.extract_rules`) reads only **plain
statements**. This module prepares the text and decides which sentences are statements:

* :func:`prepare` keeps the first :data:`MAX_CHARS` characters, applies NFKC, drops
  zero-width and bidi characters, straightens curly quotes and blanks control characters;
  mostly-binary text becomes ``""``.
* :func:`split_sentences` splits a paragraph at ``.``, ``!``, ``?`` and ``;`` followed by
  white space — not after an abbreviation (``e.g.``, ``Inc.``, ``Dr.``, ``U.S.``) and (except
  at ``;``) not before a lower-case word; ``$2.5`` and ``v1.2`` never split (no white space
  follows).
* :func:`is_statement` rejects questions, instructions (an imperative first word, anything
  addressed to "you", "from now on"), hedged, modal, future or conditional sentences
  (``maybe``, ``might``, ``should``, ``will``, ``if``, ``I think``, ``reportedly`` ...),
  sentences in the first person ("I", "we", "our": opinions and dialogue, whose subject the
  rules cannot resolve) and sentences over :data:`MAX_SENTENCE` characters. Such sentences
  yield **no** fact at all.
* :func:`clean_value` trims a value: a trailing subordinate clause or time phrase, a leading
  lower-case article, quotes, trailing punctuation; dates become ISO (:func:`iso_dates`). Values
  that are pronouns, opinions ("great"), progressive or passive phrases, or redaction
  placeholders are dropped.

Dates: ``March 5, 2024``, ``Mar 5th 2024``, ``5 March 2024``, ``5th of March, 2024``,
``2024-3-5`` and ``2024/03/05`` become ``2024-03-05``; ``March 2024`` becomes ``2024-03``.
Numeric ``dd/mm/yyyy`` versus ``mm/dd/yyyy`` is decided only when one part is over 12
(``25/03/2024`` and ``03/25/2024`` are both ``2024-03-25``); ``03/05/2024`` stays as written.
Impossible dates (``February 30, 2024``) stay as written.

Example:
    >>> iso_dates("joined on March 5th, 2024 and left 25/03/2025, not 03/05/2024")
    'joined on 2024-03-05 and left 2025-03-25, not 03/05/2024'
    >>> split_sentences("Acme pays $2.5k, e.g. for hosting. It grew. Was it?")
    ['Acme pays $2.5k, e.g. for hosting.', 'It grew.', 'Was it?']
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from maas_langchain.core.screen_normalize import strip_invisible

__all__ = [
    "ARTICLE",
    "MAX_CHARS",
    "MAX_SENTENCE",
    "clean_value",
    "cut_clause",
    "is_statement",
    "iso_dates",
    "prepare",
    "split_sentences",
    "strip_time_tail",
]

MAX_CHARS = 20_000
"""Only this many characters of a memory are read (a memory is a few sentences; the rest of a
pasted document is not a fact an agent stated)."""
MAX_SENTENCE = 300
"""Longer sentences are skipped: simple facts are short, and it bounds every regex's input."""
MAX_VALUE = 120

_QUOTES = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ", "\u2028": "\n", "\u2029": "\n"}
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")


def prepare(text: str) -> str:
    """The part of ``text`` the rules read: capped, NFKC, straight quotes, no control chars."""
    head = text[:MAX_CHARS]
    bad = len(_CONTROL.findall(head))
    if head and bad * 10 > len(head):
        return ""  # binary data, not prose
    head = strip_invisible(unicodedata.normalize("NFKC", head)).translate(_QUOTES)
    return _CONTROL.sub(" ", head).replace("\r\n", "\n").replace("\r", "\n")


# --- sentences ------------------------------------------------------------------------------
_BOUNDARY = re.compile(r"(?<![.!?;])[.!?;]++[\"')\]]*+(?=\s)")  # possessive: linear on "....."
_LAST_WORD = re.compile(r"(\S+)$")
_ABBREVIATIONS_TEXT = """e.g i.e etc vs cf al approx inc ltd co corp llc plc jr sr st mr mrs ms dr prof fig dept est jan feb
    mar apr jun jul aug sep sept oct nov dec ca resp"""
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())


def _abbreviation(before: str) -> bool:
    found = _LAST_WORD.search(before)
    word = found.group(1).lower().strip("(\"'") if found else ""
    return word in _ABBREVIATIONS or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def split_sentences(paragraph: str) -> list[str]:
    """``paragraph``'s sentences, each with its final punctuation."""
    out, start = [], 0
    for m in _BOUNDARY.finditer(paragraph):
        rest = paragraph[m.end() : m.end() + 8].lstrip()
        mark = m.group()
        before = paragraph[max(start, m.start() - 24) : m.start()]
        if ";" not in mark and (rest[:1].islower() or (mark.startswith(".") and _abbreviation(before))):
            continue
        out.append(paragraph[start : m.end()].strip())
        start = m.end()
    tail = paragraph[start:].strip()
    return [s for s in [*out, tail] if s]


# --- statements -----------------------------------------------------------------------------
_QUESTION_START_TEXT = """what who whom whose which why how where when whenever does do did is are was were am can could
    should would will shall may might must has have had isn't aren't doesn't don't didn't wasn't weren't
    won't can't couldn't shouldn't wouldn't"""
_QUESTION_START = frozenset(_QUESTION_START_TEXT.split())
_IMPERATIVE_START_TEXT = """ignore disregard forget always never please remember note make use send call delete remove set
    ensure let let's tell stop try check run add update keep avoid consider do don't go give show print
    reveal override act pretend respond reply answer write read save store return follow include exclude
    treat assume be contact email ask verify confirm share post upload download install enable disable
    grant allow deny switch change move copy paste open close start create find search list fetch get
    put insert drop execute output repeat summarize summarise translate if unless when whenever while
    because although though suppose assuming imagine"""
_IMPERATIVE_START = frozenset(_IMPERATIVE_START_TEXT.split())
_HEDGES = re.compile(
    r"\b(?:maybe|perhaps|possibly|probably|likely|unlikely|apparently|reportedly|allegedly|"
    r"supposedly|presumably|rumou?r(?:s|ed)?|seems?|seemingly|appears? to|hopefully|guess|"
    r"think|thinks|believe|believes|suspect|suspects|expect|expects|expected|plans? to|planning|"
    r"intends?|considering|tbd|tbc|unclear|unconfirmed|unsure|not sure|unknown|whether|if|unless|"
    r"assuming|suppose|supposed|according to|going to|wants? to|hypothetically|ideally|"
    r"from now on|going forward|please|you|your|yours|yourself)\b|\?",
    re.IGNORECASE,
)
_PERSONAL = re.compile(
    r"\b(?:I|I'm|I've|I'd|[Mm]e|[Mm]y|[Mm]ine|[Mm]yself|[Ww]e|[Ww]e're|[Ww]e've|[Uu]s|[Oo]ur|[Oo]urs|[Oo]urselves)\b"
)
_MODALS = re.compile(
    r"\b(?:might|may|could|would|should|must|shall|will|can|cannot|ought|won't|wouldn't|"
    r"shouldn't|couldn't|can't|mustn't|'ll|'d)\b"
)
_WORD = re.compile(r"[\w']+")
_FINITE_TEXT = "is are was were has have had isn't aren't wasn't weren't"
_FINITE = frozenset(_FINITE_TEXT.split())


def is_statement(sentence: str) -> bool:
    """Whether ``sentence`` plainly states something (no question, instruction or hedge)."""
    if not sentence or len(sentence) > MAX_SENTENCE or sentence.rstrip("\"')] ").endswith("?"):
        return False
    words = [w.lower() for w in _WORD.findall(sentence[:80])[:2]]
    if not words or words[0] in _QUESTION_START:
        return False
    if words[0] in _IMPERATIVE_START and not (len(words) > 1 and words[1] in _FINITE):
        return False  # "Use Postgres", but not "Email is the preferred channel"
    return not (_HEDGES.search(sentence) or _MODALS.search(sentence) or _PERSONAL.search(sentence))


# --- dates ----------------------------------------------------------------------------------
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"\b(?:(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}}){_ORD},?\s+(?P<y1>\d{{4}})"
    rf"|(?P<d2>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m2>{_MONTH}),?\s+(?P<y2>\d{{4}})"
    r"|(?P<y3>\d{4})[-/](?P<m3>\d{1,2})[-/](?P<d3>\d{1,2})"
    r"|(?P<a4>\d{1,2})[/.](?P<b4>\d{1,2})[/.](?P<y4>\d{4})"
    rf"|(?P<m5>{_MONTH})\s+(?P<y5>\d{{4}}))\b",
    re.IGNORECASE,
)


_DIGIT = re.compile(r"\d")


def _iso(year: str, month: int, day: str | int | None) -> str | None:
    try:
        if day is None:
            return f"{datetime.date(int(year), month, 1):%Y-%m}"
        return datetime.date(int(year), month, int(day)).isoformat()
    except ValueError:
        return None


def _date(m: re.Match[str]) -> str:
    g = m.groupdict()
    found: str | None
    if g["m1"] or g["m2"] or g["m5"]:
        name = (g["m1"] or g["m2"] or g["m5"]).lower()[:3]
        found = _iso(g["y1"] or g["y2"] or g["y5"], _MONTHS[name], g["d1"] or g["d2"])
    elif g["y3"]:
        found = _iso(g["y3"], int(g["m3"]), g["d3"])
    else:
        a, b = int(g["a4"]), int(g["b4"])
        day_first = a > 12 >= b
        found = _iso(g["y4"], b, a) if day_first else _iso(g["y4"], a, b) if b > 12 >= a else None
    return found or m.group()


def iso_dates(text: str) -> str:
    """``text`` with every recognised, valid date written as ISO 8601."""
    return _DATE.sub(_date, text) if _DIGIT.search(text) else text


# --- values ---------------------------------------------------------------------------------
_CLAUSE = re.compile(
    r"(?:,\s(?!\d{4}\b)|\s[-\u2013\u2014]\s|\s(?:and|but)\s(?=(?:it|he|she|they|this|that|there)\b|(?-i:[a-z]+(?:s|ed))\s+(?!who|which|that|in|on|at|for|with|from|and|or|to)\w)|\s(?:for|with|in|to|from|on|at|by|as|about)\s+(?:its|his|her|their|my|our|your)\b|\s(?:as|and)\s+(?:it|he|she|they)\b|\s(?:because|since|which|who|whom|whose|where|when|while|whereas|"
    r"although|though|but|so that|so|as of|as per|after|before|until|thanks to|due to|"
    r"according to)\s)",
    re.IGNORECASE,
)
_TIME_TAIL = re.compile(
    r"\s+(?:(?:in|on|since|from|as of|by|until|starting|effective|during)\s+"
    r"(?:\d{4}(?:-\d{2}){0,2}|q[1-4](?:\s+\d{4})?|(?:early|mid|late)[\s-]\d{4}|"
    rf"(?:the\s+)?(?:last|this|next|past)\s+\w+|{_MONTH})"
    r"|(?:last|this|next|past)\s+(?:week|month|quarter|year|sprint)|yesterday|today|recently|"
    r"now|again|anymore|any more|instead|too|as well|(?:the\s+)?most|above all|for now|overall|"
    r"currently|these days|nowadays)$",
    re.IGNORECASE,
)
_SET_AT = re.compile(r"^(?:(?:now|currently|still)\s+)?(?:set|fixed|pegged|priced)\s+(?:at|to)\s+(?=\S)", re.I)
"""A verb phrase before the value itself: "is set at $349/mo" states the value $349/mo."""
ARTICLE = re.compile(r"^(?:the|a|an)\s+(?=\S)")  # lower case: "The Hobbit" keeps its article
_PAREN = re.compile(r"\s*\([^()]{0,80}\)")
_BAD_VALUE = re.compile(
    r"\[REDACTED|^(?:it|them|this|that|these|those|him|her|us|me|one|about|like|his|their|its|my|our|your)\b|"
    r"^(?:doing|going|getting|being|having|trying|making|feeling|looking)\b|^\w+ed\s+(?:as|by|to|for|in|with)\b|"
    r"^(?:up|down)\s+(?:by\s+)?\d|"
    r"^(?:(?:so|very|really|truly|super|pretty|quite|totally|always|just)\s+)*(?:great|amazing|awesome|cool|good|"
    r"nice|bad|terrible|horrible|incredible|wonderful|fantastic|key|vital|important|fun|interesting|exciting|"
    r"lovely|beautiful|tough|hard|easy|special|perfect|invaluable|inspiring|impressive|sad|happy|different|"
    r"similar|same|better|worse|best|worst)$",
    re.IGNORECASE,
)


def strip_time_tail(text: str) -> str:
    """``text`` without a trailing time phrase ("in 2023", "last year", "now")."""
    for _ in range(3):
        shorter = _TIME_TAIL.sub("", text)
        if shorter == text:
            break
        text = shorter
    return text


def cut_clause(text: str, *, commas: bool = True) -> str:
    """``text`` up to a subordinate clause ("..., which", "because ...", "according to"), with
    dates made ISO and parentheticals dropped; ``commas=False`` keeps ", " (for lists)."""
    value = iso_dates(_PAREN.sub("", text)).strip()
    for cut in _CLAUSE.finditer(value):
        if commas or not cut.group().startswith(","):
            return value[: cut.start()]
    return value


def clean_value(text: str, *, max_words: int = 15) -> str | None:
    """A value as stored, or ``None`` when nothing usable is left (empty, too long, a pronoun,
    a redaction placeholder)."""
    value = cut_clause(text)
    value = strip_time_tail(value.strip(" \t.,;:!"))
    value = _SET_AT.sub("", ARTICLE.sub("", value)).strip(" \t.,;:!?")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        value = value[1:-1].strip()
    value = " ".join(value.split())
    if not value or len(value) > MAX_VALUE or len(value.split()) > max_words or _BAD_VALUE.search(value):
        return None
    return value
