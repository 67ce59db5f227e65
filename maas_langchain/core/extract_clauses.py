"""Rule extraction, step 3: one statement's subject, verb and object as facts.

:func:`parse_sentence` finds the verb: the first trigger word (a verb form in :data:`VERBS`, a
copula, a negation or a leading adverb such as "now") whose preceding words form a valid
subject (:func:`~maas_langchain.core.extract_nouns.subject`). A base form ("use", "prefer")
counts only after "does not", "never", "used to" ... or after a plural subject ("Enterprise
customers prefer ..."), so "the data team lead uses X" is read at "uses". Once a subject is
valid, that verb decides: if its object does not fit, the sentence yields nothing (no later
verb is tried). See ``docs/extraction.md`` for the table of shapes.

Negation — "no longer", "never", "not", "does not / doesn't / did not", "used to", "stopped",
"has not" — sets ``negated`` on the fact it qualifies; it never produces a positive fact.

Example:
    >>> found = Found()
    >>> parse_sentence("Acme no longer uses MySQL.", found)
    >>> found.relations[0]
    ExtractedRelation(subject='Acme', predicate='uses', object='MySQL', subject_type='Thing', object_type='Thing', negated=True)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from maas_langchain.core.entity_types import ExtractedAttribute, ExtractedRelation, norm_name
from maas_langchain.core.extract_nouns import CONTEXT, Noun, Subject, entity, plain_lowercase, snake, subject
from maas_langchain.core.extract_text import clean_value, cut_clause, iso_dates, strip_time_tail

__all__ = ["VERBS", "Found", "norm", "parse_sentence"]

norm = functools.lru_cache(maxsize=4096)(norm_name)
""":func:`~maas_langchain.core.entity_types.norm_name`, memoised (names repeat in a memory)."""


@dataclass
class Found:
    """Facts collected from one memory, in text order, with every entity they name."""

    nouns: list[Noun] = field(default_factory=list)
    attributes: list[ExtractedAttribute] = field(default_factory=list)
    relations: list[ExtractedRelation] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)

    def noun(self, noun: Noun) -> Noun:
        """``noun`` as this memory names it: when its short name is already another type's
        ("the billing team" ... "the billing service"), the full phrase ("billing service")."""
        key = norm(noun.name)
        known = self.types.setdefault(key, noun.type)
        if known not in (noun.type, "Thing") and noun.type != "Thing" and noun.alias:
            noun = Noun(noun.alias, noun.type)
            self.types.setdefault(norm(noun.name), noun.type)
        elif known == "Thing":
            self.types[key] = noun.type
        self.nouns.append(noun)
        return noun

    def attribute(self, owner: Noun, key: str, value: str | None, negated: bool = False) -> None:
        """Record ``owner.key = value`` (nothing when the key or value is empty)."""
        if key and value:
            owner = self.noun(owner)
            self.attributes.append(ExtractedAttribute(owner.name, key, value, owner.type, negated))

    def relation(self, subj: Noun, predicate: str, obj: Noun, negated: bool = False) -> None:
        """Record ``subj --predicate--> obj``."""
        subj, obj = self.noun(subj), self.noun(obj)
        self.relations.append(ExtractedRelation(subj.name, predicate, obj.name, subj.type, obj.type, negated))


# (forms, kind, key): kind says how the rest of the sentence is read; key names the fact
VERBS: tuple[tuple[str, str, str], ...] = (
    (r"is|are|isn't|aren't", "copula", ""),
    (r"(?:has|have)\s+been|was|were", "past", ""),
    (r"has|have|hasn't|haven't", "has", "has"),
    (r"uses|use|using", "rel", "uses"),
    (r"prefers|prefer|preferring", "prefer", "preference"),
    (r"prioriti[sz]es|prioriti[sz]e|prioriti[sz]ing", "priority", "top_priority"),
    (r"values|value", "rel", "values"),
    (r"costs|cost|charges|charge", "value", "price"),
    (r"(?:times|time)\s+out\s+after", "value", "timeout"),
    (r"(?:lives|live|resides|reside)\s+in|(?:works|work)\s+from", "place", "location"),
    (r"moved|moves|move|relocated|relocates|relocate", "move", "location"),
    (r"changed|changes|change", "change", "switched_to"),
    (r"switched|switches|switch|migrated|migrates|migrate", "switch", "switched_to"),
    (r"joined|joins|join", "dated", "joined"),
    (r"launched|launches|launch", "dated", "launched"),
    (r"released|releases|release", "dated", "released"),
    (r"owns|own", "rel", "owns"),
    (r"manages|manage", "rel", "manages"),
    (r"leads|lead", "rel", "leads"),
    (r"(?:reports|report)\s+to", "rel", "reports_to"),
    (r"(?:works|work)\s+(?:at|for)", "rel", "works_at"),
    (r"(?:works|work)\s+on", "rel", "works_on"),
    (r"(?:depends|depend|relies|rely)\s+on", "rel", "depends_on"),
    (r"(?:integrates|integrate)\s+with", "rel", "integrates_with"),
    (r"(?:competes|compete)\s+with", "rel", "competes_with"),
    (r"(?:belongs|belong)\s+to", "rel", "belongs_to"),
    (r"supports|support", "rel", "supports"),
    (r"requires|require", "rel", "requires"),
    (r"replaced|replaces|replace", "rel", "replaces"),
)
"""Verb forms, how the rest of the sentence is read, and the key or predicate they produce."""

_HEADS = tuple((re.compile(rf"(?:{forms})(?![\w'-])", re.IGNORECASE), kind, key) for forms, kind, key in VERBS)
_BASE_TEXT = """use have prefer prioritise prioritize value cost charge time live reside move relocate change
    switch migrate join launch release own manage lead report work depend rely integrate compete belong
    support require replace"""
_BASE = frozenset(_BASE_TEXT.split())
_ADVERBS = (
    r"now|currently|still|also|already|officially|primarily|mainly|mostly|recently|finally|just|actually|"
    r"typically|usually|generally|today"
)
_TRIGGER_WORDS = "|".join(
    [f"(?:{forms})" for forms, _, _ in VERBS]
    + ["no", "never", "not", "does", "do", "did", "doesn't", "don't", "didn't", "stopped", "used", "ceased", _ADVERBS]
)
_TRIGGER = re.compile(rf"(?<![\w'-])(?:{_TRIGGER_WORDS})(?![\w'-])", re.IGNORECASE)
_ADVERB = re.compile(rf"^(?:(?:{_ADVERBS})\s+){{1,3}}", re.IGNORECASE)
_NEGATION = re.compile(
    r"^(?:no\s+longer|never|(?:does|do|did)\s+not|doesn't|don't|didn't|used\s+to|ceased\s+to|"
    r"(?:has|have)\s+(?:not|stopped)|hasn't|haven't|stopped)\s+",
    re.IGNORECASE,
)
_DO_NEGATION = re.compile(r"^(?:no\s+longer|never|does|do|did|doesn't|don't|didn't|used|ceased)\b", re.IGNORECASE)
_PERFECT = re.compile(
    r"^(?:has|have)\s+(?=(?:moved|relocated|switched|changed|migrated|joined|launched|released|replaced)\b)",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"^(?:\[[^\]]{1,40}\]\s*|(?:currently|now|today|also|additionally|however|meanwhile|overall|notably|"
    r"importantly|recently|finally|so|btw|fyi|update|in summary|in short|as a result|in addition|"
    r"yesterday|(?:last|this)\s+(?:week|month|quarter|year|sprint))\s*[,:]?\s+|"
    r"(?:as of|since|in|on|by|from|starting|effective)\s+[^,]{1,30},\s+)",
    re.IGNORECASE,
)
_PREP = re.compile(
    r"\s(?:in|at|for|on|with|from|since|across|into|to|via|through|during|as|instead\s+of|rather\s+than|"
    r"over|than|under|within|without|by|versus|vs\.?|named|called|known|filled|made|built|including|"
    r"like|such|who|which|that|where)\s",
    re.IGNORECASE,
)
_PREFER_CUT = re.compile(r"\s(?:over|to|rather\s+than|instead\s+of|than|versus|vs\.?|above)\s", re.IGNORECASE)
_PRIORITY_CUT = re.compile(r"\s(?:over|above|before|ahead\s+of|rather\s+than|instead\s+of|versus|vs\.?)\s", re.I)
_PLACE = re.compile(
    r"^[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3}(?:,\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})?(?=$|[\s.,;!])"
)
_VERB_LIKE = re.compile(r"^[a-z]+(?<!s)s\s+\S")  # "promotes LGBTQ rights"
_TRAILING_PARTICIPLE = re.compile(r"(?<=\w)\s+[a-z]+(?:ed|ly)$")  # "basketball signed (by ...)", "Postgres heavily"
_OR = re.compile(r"\b(?:or|either|nor|etc|and/or)\b|/\s", re.IGNORECASE)
_LIST = re.compile(r"\s*,\s+(?:and\s+)?|\s+and\s+", re.IGNORECASE)
_COUNT = re.compile(
    r"^(?P<q>(?:about|around|approximately|roughly|over|under|nearly|almost|more\s+than|less\s+than|"
    r"fewer\s+than|at\s+least|at\s+most|~)\s*)?(?P<n>\d[\d,.]*(?:\s?[km])?\+?|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve)\s+"
    r"(?P<noun>[a-z][a-z-]*(?:\s+(?!and\b|or\b|but\b)[a-z][a-z-]*){0,2})(?:$|\s+(?:and|but)\s)",
    re.IGNORECASE,
)
_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_NUMBERS = {w: i for i, w in enumerate(_NUMBER_WORDS, 1)}
_QUANTIFIER = re.compile(
    r"^(?:many|several|some|multiple|few|a\s+few|lots\s+of|a\s+lot\s+of|plenty\s+of|numerous|any|"
    r"various|more|less|fewer|most|enough|been|got|gotten|had|gone|done|written|seen|made|given|taken|"
    r"known|become|begun|grown|shown|told|found|brought|bought|felt|left|kept|met|lost|won|heard|held|"
    r"built|sent|spent|always|never|just|already|ever|often|really|since|\w+ed\b)",
    re.IGNORECASE,
)
_FROM_TO = re.compile(r"^(?:from\s+.{1,80}?\s+)?to\s+(?P<v>.+)$", re.IGNORECASE)
_DATED = re.compile(r"^(?:(?P<obj>.{1,80}?)\s+)?(?:on|in)\s+(?P<v>.+)$", re.IGNORECASE)
_ISO = re.compile(r"^\d{4}(?:-\d{2}){0,2}$")
_DATE_VALUE = re.compile(r"^(?:\d{4}(?:-\d{2}){0,2}|\d{1,2}[/.]\d{1,2}[/.]\d{4})$")  # ISO, or ambiguous as written
_NOT = re.compile(r"^(?:not|no\s+longer)\s+", re.IGNORECASE)
_COPULA_PHRASES = (
    (re.compile(r"^(?:based|located|headquartered)\s+in\s+(?P<v>.+)$", re.I), "attr", "location"),
    (re.compile(r"^using\s+(?P<v>.+)$", re.I), "rel", "uses"),
    (re.compile(r"^part\s+of\s+(?P<v>.+)$", re.I), "rel", "part_of"),
    (re.compile(r"^responsible\s+for\s+(?P<v>.+)$", re.I), "rel", "responsible_for"),
    (re.compile(r"^(?P<k>owned|managed|led|run|maintained)\s+by\s+(?P<v>.+)$", re.I), "rel", "{k}_by"),
    (
        re.compile(
            r"^(?:a|an)\s+(?P<k>customer|client|competitor|partner|vendor|supplier|subsidiary)\s+of\s+(?P<v>.+)$", re.I
        ),
        "rel",
        "{k}_of",
    ),
)
_PAST_CHANGE = re.compile(
    r"^(?P<k>updated|changed|set|moved|switched|raised|lowered|increased|decreased|reduced|cut|bumped|"
    r"promoted)\s+to\s+(?P<v>.+)$",
    re.IGNORECASE,
)
_PAST = re.compile(
    r"^(?P<k>founded|established|incorporated|launched|released|created|started)\s+(?:on|in)\s+(?P<v>.+)$|"
    r"^acquired\s+by\s+(?P<by>.+)$",
    re.IGNORECASE,
)
_STATES_TEXT = """active inactive live down up deprecated archived stable unstable healthy unhealthy degraded blocked
    delayed cancelled canceled complete completed done finished open closed resolved unresolved pending
    approved rejected paused enabled disabled available unavailable offline online public private
    profitable unprofitable free paid deployed launched shipped released ready broken fixed late overdue
    frozen deferred suspended retired decommissioned sunset experimental beta ga draft final signed
    renewed churned onboarded compliant noncompliant non-compliant certified verified unverified
    required optional mandatory read-only readonly full empty sold-out discontinued obsolete"""
_STATES = frozenset(_STATES_TEXT.split())
"""What "X is <state>" may say (``status``); other adjectives ("great", "slow") are opinions."""
_STATUS_PHRASES = re.compile(
    r"^(?:on\s+hold|in\s+progress|in\s+beta|in\s+review|at\s+risk|on\s+track|off\s+track|in\s+production|"
    r"out\s+of\s+stock|in\s+development|in\s+maintenance|up\s+to\s+date|out\s+of\s+date|end\s+of\s+life|"
    r"generally\s+available|under\s+review|under\s+maintenance|past\s+due)$",
    re.IGNORECASE,
)
_PROGRESSIVE = re.compile(  # "is learning commands", "is doing great" (but "is staging", "is engineering manager")
    r"^(?!(?:engineering|marketing|pricing|billing|staging|onboarding|training|accounting|consulting|hosting|"
    r"logging|monitoring|networking|testing|streaming|computing|processing|banking|manufacturing|shipping|"
    r"funding|planning|advertising|publishing|recruiting|licensing|routing|caching|messaging|scheduling|"
    r"operating|building|housing|tracking|reporting|ticketing|landing|rendering|ranking|mapping)\b)[a-z]+ing\s+\w"
)
_WHEN = re.compile(
    r"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|tomorrow|today|tonight|next|later|noon|midnight|"
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|q[1-4]|\d{4}(?:-\d{2}){0,2}|\d{1,2}(?::\d{2})?\s*[ap]\.?m)\b",
    re.IGNORECASE,
)
_VALUE_LEAD = re.compile(r"^(?:in|at|on|named|called)\s+", re.IGNORECASE)
_OPINION = re.compile(
    r"^(?:\w+est|great|perfect|fun|good|nice|amazing|awesome|big|huge|real|true|significant|wonderful|"
    r"fantastic|cool|bad|terrible|total|complete|absolute|major|key|important|special|lovely|"
    r"beautiful|incredible|strong|better|worse|same|different|similar)\b",
    re.IGNORECASE,
)
_ROLE_CUT = re.compile(
    r"\s(?:based|located|headquartered|founded|focused|specializing|specialising|that|with|in|at|from|for|on|"
    r"since|who|which)\s|\sand\s(?=(?-i:[A-Z]))",
    re.IGNORECASE,
)
_OWNED = re.compile(r"'s\s|\s(?:of|for)\s", re.IGNORECASE)
_PAREN = re.compile(r"\s*\([^()]{0,80}\)")
_FOR = re.compile(r"^for\s+(?P<o>[^,]{1,60}),\s+(?=the\s)", re.IGNORECASE)
MAX_TRIGGERS = 8


def _value(text: str, cut: re.Pattern[str] | None = None, *, max_words: int = 12) -> str | None:
    if cut is not None:
        text = cut_clause(text)
        m = cut.search(text)
        text = text[: m.start()] if m else text
    return clean_value(text, max_words=max_words)


def _place(text: str) -> str | None:
    """A location: capitalised words with an optional ", Region" ("Austin, Texas"), else the
    value up to a preposition."""
    m = _PLACE.match(iso_dates(text.strip()))
    if m is None:
        return _value(text, _PREP)
    return m.group() if "REDACTED" not in m.group() else None


def _objects(text: str) -> list[Noun] | None:
    """The entities of a relation's object: a short list ("Postgres, Redis and Kafka") up to
    the first item that is not a name ("a store and recently teamed up"), or ``None`` for
    alternatives ("Postgres or MySQL") and anything that is not a name."""
    text = cut_clause(text, commas=False)
    m = _PREP.search(text)
    text = strip_time_tail((text[: m.start()] if m else text).strip(" .,;:!"))
    if not text or _OR.search(text):
        return None
    out: list[Noun] = []
    for part in _LIST.split(text)[:10]:
        part = _TRAILING_PARTICIPLE.sub("", part.strip())
        noun = entity(part) if part and not _VERB_LIKE.match(part) else None
        if noun is None or not noun.name[:1].isalpha():
            break
        out.append(noun)
    return out or None


def _relations(subj: Subject, key: str, rest: str, neg: bool, found: Found) -> None:
    objects = _objects(rest) if subj.key is None else None
    for obj in objects or ():
        found.relation(subj.owner, key, obj, neg)


def _copula(subj: Subject, text: str, rest: str, neg: bool, found: Found) -> None:
    rest = _ADVERB.sub("", rest)
    m = _NOT.match(rest)
    if m is not None:
        neg, rest = True, _ADVERB.sub("", rest[m.end() :])
    if subj.key is not None:  # "Acme's office is in Berlin": office = Berlin
        if not _PROGRESSIVE.match(rest):
            found.attribute(subj.owner, subj.key, clean_value(_VALUE_LEAD.sub("", rest)), neg)
        return
    for pattern, kind, key in _COPULA_PHRASES:
        m = pattern.match(rest)
        if m is not None:
            key = key.format(k=m.group("k").lower()) if "{k}" in key else key
            if kind == "attr":
                found.attribute(subj.owner, key, _place(m.group("v")), neg)
            else:
                _relations(subj, key, m.group("v"), neg, found)
            return
    if _PROGRESSIVE.match(rest):
        return
    article = re.match(r"^(?P<a>a|an|the)\s+(?P<v>.+)$", rest, re.IGNORECASE)
    if article is not None:
        if _OPINION.match(article.group("v")):
            return  # "a great way to ...", "the best"
        key = "role" if article.group("a").lower() == "the" else "is_a"
        found.attribute(subj.owner, key, _value(article.group("v"), _ROLE_CUT, max_words=6), neg)
        return
    value = clean_value(rest, max_words=3)
    if value is None:
        return
    if _STATUS_PHRASES.match(value) or value.lower() in _STATES:
        found.attribute(subj.owner, "status", value.lower(), neg)
    elif (value[:1].isupper() or value[:1].isdigit()) and plain_lowercase(text) and " " in text.strip():
        found.attribute(CONTEXT, snake(re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.I)), value, neg)


def _past(subj: Subject, text: str, rest: str, neg: bool, found: Found) -> None:
    change = _PAST_CHANGE.match(rest)
    if change is not None:  # "X's price was updated to $20": a change, not a past state
        if change.group("k").lower() == "promoted":
            found.attribute(subj.owner, "role", _value(change.group("v"), _ROLE_CUT, max_words=6), neg)
        elif subj.key is not None:
            _change(subj, text, "change", "switched_to", "to " + change.group("v"), neg, found)
        return
    m = _PAST.match(rest)
    if m is None or neg or subj.key is not None:
        return
    if m.group("by"):
        _relations(subj, "acquired_by", m.group("by"), False, found)
        return
    key = {"established": "founded", "incorporated": "founded"}.get(m.group("k").lower(), m.group("k").lower())
    value = clean_value(m.group("v"))
    if value and _ISO.match(value):
        found.attribute(subj.owner, key, value)


def _has(subj: Subject, rest: str, neg: bool, found: Found) -> None:
    if subj.key is not None:
        return
    rest = _ADVERB.sub("", rest)
    if re.match(r"^no\s+", rest, re.IGNORECASE):
        neg, rest = True, rest[3:].lstrip()
    if _QUANTIFIER.match(rest):
        return
    short = cut_clause(rest, commas=False)
    m = _PREP.search(short)
    head = strip_time_tail((short[: m.start()] if m else short).strip(" .,;:!"))
    counts = [_COUNT.match(item) for item in _LIST.split(head)[:10]]
    for count in counts:  # "40 employees and 3 offices"
        if count is None:
            break
        number = count.group("n")
        value = (count.group("q") or "") + str(_NUMBERS.get(number.lower(), number))
        found.attribute(subj.owner, snake(count.group("noun")), " ".join(value.split()), neg)
    if counts[0] is None and (rest[:1].isalpha() or rest[:1] in "\"'"):
        _relations(subj, "has", re.sub(r"^(?:a|an|the)\s+", "", rest, flags=re.I), neg, found)


def _change(subj: Subject, text: str, kind: str, key: str, rest: str, neg: bool, found: Found) -> None:
    m = _FROM_TO.match(rest)
    if m is None:
        return
    value = _place(m.group("v")) if kind == "move" else _value(m.group("v"))
    if subj.key is not None:
        found.attribute(subj.owner, subj.key, value, neg)
    elif kind == "change" and plain_lowercase(text):
        found.attribute(CONTEXT, snake(re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.I)), value, neg)
    elif kind == "move" and value and _WHEN.match(value):  # "The design review moved to Thursday"
        found.attribute(subj.owner, "date", value, neg)
    else:  # "Acme switched to GCP", "The API changed to GraphQL"
        found.attribute(subj.owner, key, value, neg)


def _dated(subj: Subject, key: str, rest: str, neg: bool, found: Found) -> None:
    m = _DATED.match(rest)
    if m is None or subj.key is not None or (m.group("obj") and key != "joined"):
        return
    value = clean_value(m.group("v"))
    if value and _DATE_VALUE.match(value):
        found.attribute(subj.owner, key, value, neg)


def _dispatch(subj: Subject, text: str, kind: str, key: str, rest: str, neg: bool, found: Found) -> None:
    if subj.key is not None and kind not in ("copula", "move", "change", "switch") and not _OWNED.search(text):
        noun = entity(text)  # "The data team lead uses Jira": a property noun, but an entity here
        subj = Subject(noun) if noun is not None else subj
    entity_only = subj.key is None
    if kind == "copula":
        _copula(subj, text, rest, neg, found)
    elif kind == "past":
        _past(subj, text, rest, neg, found)
    elif kind == "has":
        _has(subj, rest, neg, found)
    elif kind == "rel":
        _relations(subj, key, rest, neg, found)
    elif kind in ("move", "change", "switch"):
        _change(subj, text, kind, key, rest, neg, found)
    elif kind == "dated":
        _dated(subj, key, rest, neg, found)
    elif entity_only and kind == "prefer":
        found.attribute(subj.owner, key, _value(re.sub(r"^to\s+", "", rest, flags=re.I), _PREFER_CUT), neg)
    elif entity_only and kind == "priority":
        found.attribute(subj.owner, key, _value(rest, _PRIORITY_CUT), neg)
    elif entity_only and kind in ("value", "place"):
        found.attribute(subj.owner, key, _place(rest) if kind == "place" else _value(rest), neg)


def _head(pred: str, plural: bool) -> tuple[str, str, str, bool] | None:
    """``(kind, key, rest, negated)`` for the predicate ``pred``; ``None`` if no verb starts it
    (or a base form does without a negation or a plural subject)."""
    rest, neg = _ADVERB.sub("", pred), False
    m = _NEGATION.match(rest)
    base_ok = plural
    if m is not None:
        neg, base_ok = True, base_ok or bool(_DO_NEGATION.match(rest))
        rest = rest[m.end() :]
    rest = _ADVERB.sub("", _PERFECT.sub("", rest))
    for pattern, kind, key in _HEADS:
        m = pattern.match(rest)
        if m is None:
            continue
        word = m.group().split()[0].lower()
        if (word in _BASE and not base_ok) or (word.endswith("ing") and not neg):
            return None
        if word.endswith("n't"):
            neg = True
        return kind, key, rest[m.end() :].strip(), neg
    return None


def _plural(text: str) -> bool:
    last = text.split()[-1].lower() if text.split() else ""
    return len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is", "'s"))


def _owned(owner_text: str, key_text: str) -> Subject | None:
    """The subject of "For <owner>, the <key> is ...": the owner's property."""
    owner = entity(owner_text)
    key = snake(re.sub(r"^(?:the|a|an)\s+", "", key_text, flags=re.I)) if plain_lowercase(key_text) else ""
    return Subject(owner, key) if owner is not None and key and len(key_text.split()) <= 5 else None


def parse_sentence(sentence: str, found: Found) -> None:
    """Add the facts ``sentence`` states to ``found`` (the caller checked it is a statement)."""
    text = _PAREN.sub("", sentence).strip().rstrip(" .!;:\"'")
    for _ in range(3):
        text = _LEAD.sub("", text, count=1)
    owner = _FOR.match(text)  # "For Competitor X, the price is $299"
    if owner is not None:
        text = text[owner.end() :]
    for tried, m in enumerate(_TRIGGER.finditer(text)):
        if tried >= MAX_TRIGGERS:
            return
        subj_text = text[: m.start()].strip(" ,")
        subj = subject(subj_text) if subj_text else None
        if subj is not None and owner is not None:
            subj = _owned(owner.group("o"), subj_text)
        if subj is None:
            continue
        head = _head(text[m.start() :], _plural(subj_text))
        if head is None and (m.group().lower() in _BASE or m.group().lower().endswith("ing")):
            continue  # "The data team lead uses X": "lead" is part of the subject
        if head is not None:
            kind, key, rest, neg = head
            _dispatch(subj, subj_text, kind, key, rest, neg, found)
        return
