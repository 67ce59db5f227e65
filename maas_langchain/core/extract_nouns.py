"""Rule extraction, step 2: noun phrases — entity names, their types, and property keys.

A subject is one of three things (:func:`subject`):

* an **owned property** — ``Competitor X's price``, ``the price of (or for) Competitor X``,
  ``the auth service timeout`` (a named or typed entity, then a lower-case phrase ending in a
  property noun) — whose owner is the entity and whose key is the property in snake_case;
* a **scope property** — a lower-case noun phrase whose head is a property noun
  (``the deploy target``, ``max retries``, ``pricing``; :data:`PROPERTY_NOUNS`) — owned by the
  entity ``context`` of type ``Context`` (a fact about the scope itself);
* an **entity** (:func:`entity`), typed by a known type noun (:data:`TYPE_NOUNS`):

  - ``the enterprise customer segment`` → ``enterprise`` (``CustomerSegment``), with the full
    phrase ``enterprise customer segment`` as an alias;
  - ``Competitor X``, ``Project Apollo`` (type noun first, then a capitalised name) → the full
    name, typed; ``customer segment 'enterprise'`` → ``enterprise``;
  - ``the user``, ``the API`` (the type noun alone) → ``user`` (``User``), ``API`` (``API``);
  - plurals (``enterprise customers``) and everything else → the phrase, type ``Thing``.

Names are 1 to 6 words without pronouns, determiners other than the/a/an, prepositions,
conjunctions or verbs, so a clause is never taken for a name ("Bob said that Acme", "the
team in Berlin", "it", "our team" are rejected: the rules do no coreference).

Example:
    >>> entity("The enterprise customer segment")
    Noun(name='enterprise', type='CustomerSegment', alias='enterprise customer segment')
    >>> subject("Competitor X's price")
    Subject(owner=Noun(name='Competitor X', type='Competitor', alias=None), key='price')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CONTEXT", "PROPERTY_NOUNS", "TYPE_NOUNS", "Noun", "Subject", "entity", "snake", "subject", "valid_name"]


@dataclass(frozen=True)
class Noun:
    """An entity as a phrase names it: its name, type and (when the name drops the type noun)
    the full phrase as an alias."""

    name: str
    type: str = "Thing"
    alias: str | None = None


@dataclass(frozen=True)
class Subject:
    """What a sentence is about: an entity (``key`` None) or a property ``key`` of ``owner``."""

    owner: Noun
    key: str | None = None


CONTEXT = Noun("context", "Context")
"""The owner of facts about the scope itself (``deploy_target: staging``)."""

TYPE_NOUNS: dict[str, str] = {
    "customer segment": "CustomerSegment",
    "market segment": "MarketSegment",
    "user segment": "UserSegment",
    "segment": "Segment",
    "team": "Team",
    "squad": "Team",
    "department": "Department",
    "service": "Service",
    "microservice": "Service",
    "project": "Project",
    "company": "Company",
    "organization": "Organization",
    "organisation": "Organization",
    "competitor": "Competitor",
    "customer": "Customer",
    "client": "Client",
    "user": "User",
    "vendor": "Vendor",
    "partner": "Partner",
    "supplier": "Vendor",
    "library": "Library",
    "framework": "Framework",
    "database": "Database",
    "api": "API",
    "endpoint": "Endpoint",
    "repository": "Repository",
    "repo": "Repository",
    "product": "Product",
    "feature": "Feature",
    "plan": "Plan",
    "model": "Model",
    "dataset": "Dataset",
    "pipeline": "Pipeline",
    "agent": "Agent",
    "tool": "Tool",
    "platform": "Platform",
    "cluster": "Cluster",
    "server": "Server",
    "app": "Application",
    "application": "Application",
    "package": "Package",
    "module": "Module",
    "account": "Account",
}
"""Type nouns, lower case; two-word nouns are tried first. The type is CamelCase."""

_PROPERTY_NOUNS_TEXT = """price prices pricing cost costs budget deadline target limit limits timeout version status owner
    goal goals priority priorities region language currency size count rate latency date url email
    address location tier policy schedule format port host score revenue headcount quota threshold
    frequency retries window strategy stack default mode setting preference metric kpi sla eta capacity
    margin churn runtime environment env branch timezone domain audience phase stage milestone duration
    interval fee fees salary valuation funding arr mrr nps uptime throughput storage contact lead
    manager sponsor owner maintainer approver reviewer id number channel cadence horizon forecast
    estimate spend discount rating name title"""
PROPERTY_NOUNS = frozenset(_PROPERTY_NOUNS_TEXT.split())
"""Head nouns that make a lower-case subject a property of the scope, not an entity."""

PROPERTY_COMPOUNDS = frozenset({"pricing model", "business model", "data model", "release model"})

# pronouns, determiners, conjunctions, prepositions, adverbs, and the verb forms the clause rules
# read ("Postgres and Beta uses MySQL" is not a name)
_STOP_TEXT = """i me my mine you your yours he him his she her hers it its we us our ours they them their theirs
    this that these those there here who whom whose what which where when why how everyone everybody
    someone somebody anyone anybody nobody noone nothing everything something anything one ones all each
    every some any both none many most few several other others another such no not never and or but nor
    if because since although though while whereas unless whether than so as once until in on at for
    with from by to about into onto after before over under between through during without within via
    per like against among across is are was were be been being am has have had do does did said says
    told thinks think believes claims reported noted mentioned confirmed stated announced suggested
    according also now then still currently already just even especially particularly only always really
    very too much tons lots plenty next last tomorrow yesterday today tonight ago truly definitely
    certainly clearly actually basically totally absolutely literally seriously honestly obviously
    usually typically generally mostly mainly primarily recently finally officially soon later uses
    using used prefers moved moves changed changes switched switches migrated joined launched released
    owns manages leads reports works depends relies integrates competes belongs supports requires
    replaced replaces costs lives values prioritises prioritizes stopped isn't aren't doesn't don't
    didn't hasn't haven't wasn't weren't"""
_STOP = frozenset(_STOP_TEXT.split())
_GENERIC_ADJECTIVES = frozenset(
    ["new", "old", "legacy", "current", "main", "primary", "secondary", "existing", "internal", "external", "other",
     "same", "first", "second", "last", "next", "previous", "default", "core", "shared", "local", "remote"]
)  # fmt: skip
""""The new API" is named "new API", not "new"."""
_DETERMINERS = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_WORD_OK = re.compile(r"^[\w$€£@#+&./'-]+$")
_LETTER = re.compile(r"[^\W\d_]")
_POSSESSIVE = re.compile(r"^(?P<owner>.+?)'s\s+(?P<key>.+)$")
_OF = re.compile(r"^the\s+(?P<key>.+?)\s+(?:of|for)\s+(?P<owner>.+)$", re.IGNORECASE)
_QUOTED_AFTER = re.compile(r"^(?P<type>[A-Za-z]+(?:\s[A-Za-z]+)?)\s+[\"'](?P<name>[^\"']{1,60})[\"']$")
_QUOTED_BEFORE = re.compile(r"^[\"'](?P<name>[^\"']{1,60})[\"']\s+(?P<type>[A-Za-z]+(?:\s[A-Za-z]+)?)$")
_NON_KEY = re.compile(r"[^0-9a-z]+")
MAX_NAME_WORDS = 6
MAX_KEY_WORDS = 4


def snake(phrase: str) -> str:
    """A key in snake_case, ASCII letters and digits only (``"Deploy-Target"`` → ``deploy_target``)."""
    return _NON_KEY.sub("_", phrase.lower()).strip("_")[:60]


def valid_name(phrase: str, *, max_words: int = MAX_NAME_WORDS) -> bool:
    """Whether ``phrase`` (article already removed) can name an entity."""
    words = phrase.split()
    if not words or len(words) > max_words or len(phrase) > 80:
        return False
    if not all(_WORD_OK.match(w) for w in words) or not _LETTER.search(phrase):
        return False
    return not any(w.lower().strip("'\".,") in _STOP for w in words)


def _type_of(phrase: str) -> str | None:
    return TYPE_NOUNS.get(" ".join(phrase.lower().split()))


def _quoted(phrase: str) -> Noun | None:
    m = _QUOTED_AFTER.match(phrase) or _QUOTED_BEFORE.match(phrase)
    if m is None:
        return None
    etype, name = _type_of(m.group("type")), m.group("name").strip()
    return Noun(name, etype) if etype and valid_name(name) else None


def entity(phrase: str) -> Noun | None:
    """The entity ``phrase`` names, typed, or ``None`` when it cannot be a name."""
    text = _DETERMINERS.sub("", " ".join(phrase.split()).strip(" ,.;:!\"'"))
    quoted = _quoted(text)
    if quoted is not None:
        return quoted
    text = text.strip("\"'")
    if not valid_name(text) or (len(text.split()) > 1 and "'s " in text):
        return None
    words = text.split()
    for size in (2, 1):
        if len(words) < size:
            continue
        etype = _type_of(" ".join(words[-size:]))
        if etype is not None:
            rest = " ".join(words[:-size])
            generic = all(w.lower() in _GENERIC_ADJECTIVES for w in words[:-size])
            return Noun(rest, etype, text) if rest and not generic else Noun(text, etype)
        etype = _type_of(" ".join(words[:size]))
        tail = words[size:]
        if etype is not None and tail and all(w[:1].isupper() or w[:1].isdigit() for w in tail):
            return Noun(text, etype)  # Competitor X, Project Apollo
    if len(words) > 1 and words[0].lower().endswith("ing") and words[0][1:].islower():
        return None  # a gerund phrase ("Learning an instrument"), not a name
    return Noun(text)


def _key(phrase: str) -> str | None:
    words = _DETERMINERS.sub("", phrase.strip()).split()
    if not words or len(words) > MAX_KEY_WORDS or any(w.lower() in _STOP for w in words):
        return None
    if not all(_WORD_OK.match(w) for w in words):
        return None
    return snake(" ".join(words)) or None


def _scope_property(text: str, *, initial: bool) -> bool:
    """A lower-case noun phrase (the first letter may be a capital at the start of a sentence)
    whose head is a property noun."""
    bare = _DETERMINERS.sub("", text)
    body = bare if bare != text or not initial else bare[1:]
    words = bare.split()
    if words and words[-1].isupper() and words[-1].lower() in PROPERTY_NOUNS:
        body = " ".join(words[:-1])  # an acronym head: "the SLA", "the ETA"
    if not bare or any(c.isupper() for c in body):
        return False
    words = bare.lower().split()
    return words[-1] in PROPERTY_NOUNS or " ".join(words[-2:]) in PROPERTY_COMPOUNDS or "_" in bare


def _compound(text: str) -> Subject | None:
    """ "The auth service timeout", "the API rate limit": a named or typed entity followed by a
    lower-case property ending in a property noun (the shortest such entity wins)."""
    bare = _DETERMINERS.sub("", text)
    words = bare.split()
    if len(words) < 2 or words[-1].lower() not in PROPERTY_NOUNS:
        return None
    for i in range(1, len(words)):
        rest, prefix = words[i:], " ".join(words[:i])
        if any(c.isupper() for c in "".join(rest)):
            continue
        owner = entity(prefix)
        named = any(c.isupper() for c in (prefix if bare != text else prefix[1:]))
        key = _key(" ".join(rest))
        if owner is not None and key and (named or owner.type != "Thing"):
            return Subject(owner, key)
    return None


def plain_lowercase(text: str) -> bool:
    """Whether ``text`` has no capital letter after its first character (a common noun phrase,
    not a proper name) and names no known type."""
    bare = _DETERMINERS.sub("", text)
    noun = entity(text)
    return bool(bare) and not any(c.isupper() for c in bare[1:]) and noun is not None and noun.type == "Thing"


def subject(phrase: str, *, initial: bool = True) -> Subject | None:
    """What ``phrase`` (the words before the verb) is about; ``initial``: it starts the sentence,
    so its first capital letter says nothing."""
    text = " ".join(phrase.split()).strip(" ,")
    m = _POSSESSIVE.match(text)
    if m is not None:
        owner, key = entity(m.group("owner")), _key(m.group("key"))
        return Subject(owner, key) if owner is not None and key else None
    quoted = _quoted(_DETERMINERS.sub("", text))
    if quoted is not None:
        return Subject(quoted)
    if text.endswith("'") or text.endswith("'s") or "s' " in text:
        return None  # a plural possessive, or "Acme's" with nothing owned
    m = _OF.match(text)
    if m is not None:
        owner_text = m.group("owner")
        owner, key = entity(owner_text), _key(m.group("key"))
        looks_named = owner is not None and (
            owner.type != "Thing" or any(c.isupper() for c in owner_text) or owner_text.lower().startswith("the ")
        )
        return Subject(owner, key) if owner is not None and key and looks_named else None
    compound = _compound(text)
    if compound is not None:
        return compound
    if _scope_property(text, initial=initial):
        key = _key(text)
        return Subject(CONTEXT, key) if key else None
    noun = entity(text)
    return Subject(noun) if noun is not None else None
