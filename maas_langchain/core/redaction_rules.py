"""The building blocks of secret redaction (:mod:`maas_langchain.core.redaction`): checks of a
candidate value (placeholder, password-like, token-like, random), the checks some kinds run on a
match (Luhn, ``user:password`` in base64, a ``.pgpass`` line), the :class:`Rule` type and the
regular-expression fragments the kinds share (a secret-sounding key, the end of a token).

The kinds themselves are in :mod:`maas_langchain.core.redaction_kinds`. Every fragment is bounded
(no nested quantifiers over overlapping classes, every repetition has an upper limit).

Example:
    >>> token_like("hunter2"), token_like("stored"), placeholder("${TOKEN}")
    (True, False, True)
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "B64",
    "END",
    "KEY",
    "LETTERS_AND_DIGITS",
    "PASSWORD_WORDS",
    "PLACEHOLDER",
    "PW_WORDS",
    "UUID",
    "Accept",
    "Rule",
    "Span",
    "app_password",
    "assignment",
    "basic",
    "card",
    "docker_auth",
    "english",
    "looks_random",
    "openai",
    "password_like",
    "pgpass",
    "placeholder",
    "random_body",
    "rule",
    "secret_under_key",
    "token_like",
    "value_check",
]

Span = tuple[int, int]
Accept = Callable[[re.Match[str]], Span | None]

PLACEHOLDER = re.compile(
    r"""\$\{.*|\$\(.*|\$[A-Za-z_][A-Za-z0-9_]*|%\(?[A-Za-z_]*\)?[sd]|\{\{.*|\{[A-Za-z_][\w.]*\}?|<.*|\[REDACTED.*
    |[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*[(\[].*                       # getpass(), ENV["X"], os.environ["X"]
    |(?:os|process|env|config|settings|self|this|secrets|vault|cfg|conf|args|params|opts|options|ctx|context
       |request|System|ENV|window|props)\.[\w.]+
    |[*xX•#._-]{3,}|(?:your|my|the|some|enter|insert)[-_ ][A-Za-z_ -]*|!(?:vault|ref|sub|getatt|join|env|include|secret|encrypted)  # YAML tags""",
    re.VERBOSE | re.IGNORECASE,
)
_PATH = re.compile(r"(?:~|\.{1,2})?/[^\s]*|[A-Za-z]:\\[^\s]*")
_STOPWORD_TEXT = """string str text int integer number bool boolean float none null nil undefined true false yes no on off
    required optional empty unset unknown n/a na tbd todo fixme example sample dummy placeholder test password
    passwd pwd secret token key redacted hidden masked value default env environ any object dict list bytes
    secretstr the a an your my our their this that it is was not set see use reset here there below above same
    stored hashed encrypted needed missing invalid incorrect wrong correct expired changed valid weak strong long
    short too also still case sensitive protected managed generated rotated sent shared known given provided
    supplied specified configured blank prompt input field hash salt bearer basic"""
_SUFFIX_TEXT = """id ids name names type types length len size count limit limits min max ttl expiry expires expiration
    timeout url uri endpoint path file filename dir field fields label policy rotation hint prompt header param
    env var version format reset changed updated created required strength manager store provider source location
    kind budget usage used rate bucket index position encoding enabled disabled mode method scheme algorithm alg
    regex pattern validation validator error errors message msg placeholder description help title input form box
    button visible hash"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_NOT_SECRET_SUFFIXES = frozenset(_SUFFIX_TEXT.split())  # key_name, token_limit: about the secret, not it
PW_WORDS = "пароль|密码|密碼|パスワード|비밀번호|wachtwoord|hasło|şifre|lösenord|heslo|salasana"
PASSWORD_WORDS = ("pass", "pw", "kennwort", "contrase", "senha", *PW_WORDS.split("|"))


def placeholder(value: str) -> bool:
    """A value that names or describes a secret rather than being one."""
    return bool(PLACEHOLDER.fullmatch(value)) or value.lower() in _STOPWORDS or bool(_PATH.fullmatch(value))


def password_like(value: str) -> bool:
    """A password may be any word; it only has to be more than a placeholder."""
    return len(value) >= 4 and not placeholder(value)


def token_like(value: str) -> bool:
    """A token, key or secret looks random: letters with digits, mixed case, symbols or length."""
    if len(value) < 6 or placeholder(value):
        return False
    if value.isdigit():
        return len(value) >= 20
    digit, alpha = any(c.isdigit() for c in value), any(c.isalpha() for c in value)
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    symbol = any(not c.isalnum() and c not in "-_./:" for c in value)
    return (digit and alpha) or (mixed and len(value) >= 8) or symbol or len(value) >= 16


def english(value: str) -> bool:
    """A plain lower-case word that reads as prose after "password is" ("stored", "required")."""
    return value.isalpha() and value.islower() and (value in _STOPWORDS or value.endswith(("ed", "ing", "ly", "ble")))


def _trim(m: re.Match[str], group: str) -> tuple[int, str]:
    """Start and text of ``group`` without the sentence punctuation that may follow a value."""
    return m.start(group), m.group(group).rstrip(".,;:)")


def value_check(check: Callable[[str], bool], group: str = "s") -> Accept:
    """Accept group ``group`` (without trailing punctuation) when ``check`` holds for it."""

    def accept(m: re.Match[str]) -> Span | None:
        start, text = _trim(m, group)
        return (start, start + len(text)) if text and check(text) else None

    return accept


def _secret_key(m: re.Match[str] | None) -> bool | None:
    """For a secret-sounding key (groups ``w`` and ``x``): whether it names a password (else a
    token); None when it names another word or an attribute of the secret (``token_limit``)."""
    if m is None or (m.group("x") and m.group("x")[0].islower()):  # "tokenizer", "passport"
        return None
    parts = re.split(r"[ _.-]+|(?<=[a-z0-9])(?=[A-Z])", m.group("w") + m.group("x"))
    if parts[-1].lower() in _NOT_SECRET_SUFFIXES:
        return None
    return any(w in m.group("w").lower() for w in PASSWORD_WORDS)


def _secret_value(password: bool | None, text: str) -> bool:
    return password is not None and bool(text) and (password_like(text) if password else token_like(text))


def assignment(m: re.Match[str]) -> Span | None:
    """``key = value`` for a secret-sounding key: the value, unless the key names an attribute of
    the secret (``token_limit``, ``password_length``) or the value is a placeholder."""
    group = "s" if m.group("s") is not None else "u"
    start, text = (m.start(group), m.group(group).rstrip("\\")) if group == "s" else _trim(m, group)
    return (start, start + len(text)) if _secret_value(_secret_key(m), text) else None


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


_NETWORK = re.compile(  # prefix and length: Visa, Mir, Mastercard, Amex, Diners, JCB, Discover/UnionPay/Maestro
    r"4(?:\d{12}|\d{15}|\d{18})|220[0-4]\d{12}|(?:5[1-5]\d|2(?:2[2-9]|[3-6]\d|7[01]))\d{13}|2720\d{12}|3[47]\d{13}"
    r"|3(?:0[0-5]|[689]\d)\d{11,16}|35\d{14,17}|6\d{12,18}|5[06-9]\d{11,17}"
)


def card(m: re.Match[str]) -> Span | None:
    """13-19 digits with a card network's prefix and length that pass the Luhn check (a 15-digit
    IMEI starting with 4 is no Visa number)."""
    digits = re.sub(r"[ .-]", "", m.group(0))
    return m.span() if _NETWORK.fullmatch(digits) and len(set(digits)) > 1 and _luhn(digits) else None


def basic(m: re.Match[str]) -> Span | None:
    """``Basic <base64>`` whose decoding is ``user:password`` ("Basic training" is not)."""
    raw = m.group("s")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return m.span("s") if ":" in decoded and decoded.isprintable() else None


def openai(m: re.Match[str]) -> Span | None:
    """``sk-...``: a random body, not a hyphenated name such as ``sk-learn-compatible-estimators``."""
    body = m.group("s")
    if "T3BlbkFJ" in body or "-" not in body:
        return m.span()
    longest = max(len(run) for run in re.split(r"[-_]", body))
    return m.span() if longest >= 16 and any(c.isdigit() for c in body) else None


@dataclass(frozen=True)
class Rule:
    """One kind of secret: its pattern, cheap substring hints and an optional check of a match."""

    kind: str
    pattern: re.Pattern[str]
    hints: tuple[str, ...] = ()  # lower-case substrings of which one must occur (cheap pre-filter)
    accept: Accept | None = None

    def span(self, m: re.Match[str]) -> Span | None:
        """The span to redact in match ``m``, or None when the match is no secret."""
        if self.accept is not None:
            return self.accept(m)
        return m.span("s") if "s" in self.pattern.groupindex and m.group("s") is not None else m.span()


def rule(kind: str, pattern: str, hints: str = "", accept: Accept | None = None) -> Rule:
    """``hints``: "|"-separated lower-case substrings of which one must occur."""
    return Rule(kind, re.compile(pattern), tuple(h for h in hints.split("|") if h), accept)


B64 = r"[A-Za-z0-9+/]"
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
END = r"(?![A-Za-z0-9_-])"
_KEY_WORDS = (
    r"(?i:passwort|kennwort|pass(?:word|wd|phrase|code)?|pwd?|contrase(?:ñ|n)a|senha|" + PW_WORDS + "|secret|token"
    r"|credentials?|creds|(?:api|access|private|client|auth|app|account|master|signing|encryption|service|storage"
    r"|license|db|subscription|admin|shared[_.-]?access)[_.-]?key|pat(?![a-z]))"  # GITHUB_PAT=
)
LETTERS_AND_DIGITS = re.compile(r"(?=.*\d)(?=.*[^\W\d_])(?!v?\d+(?:\.\d+)+(?:[-+][\w.]*)?$).+")  # not a version
KEY = (  # where a key may start (the first-letter class is a fast pre-check), its word, its suffix
    r"(?i:(?=[pkcstamelwdhşп密パ비]))(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=PASSW|PWD|SECRET|TOKEN))"
    r"(?P<w>" + _KEY_WORDS + r")(?P<x>[A-Za-z0-9_.-]{0,40}+)[\\\"'\]]{0,4}"  # PGPASSWORD, {\"password\": ...}
)
_SECRET_KEY = re.compile(r"[\w.-]{0,60}?" + KEY + r":?\Z")


def looks_random(value: str) -> bool:
    """Two of digits, upper- and lower-case letters: a generated body, not ``md-toolbar-tools``."""
    return sum((any(c.isdigit() for c in value), any(c.isupper() for c in value), any(c.islower() for c in value))) >= 2


def random_body(m: re.Match[str]) -> Span | None:
    """The whole match when its group ``s`` looks random (a prefix followed by words is a name)."""
    return m.span() if looks_random(m.group("s")) else None


def pgpass(m: re.Match[str]) -> Span | None:
    """``host:port:database:user:password`` (``~/.pgpass``): the password, unless every field is
    hex digits (an IPv6 or MAC address, a time) or the host is an upper-case word (``ERROR:...``)."""
    host, whole = m.group("h"), m.group(0)
    if re.fullmatch(r"[0-9a-fA-F:*]+", whole) or (host != "*" and host.isupper() and host.isalpha()):
        return None
    start, text = _trim(m, "s")
    return (start, start + len(text)) if password_like(text) else None


_WORDS4_TEXT = """that with have this will your from they know want been good much some time very when come here just like
    long make many more only over such take than them well were what word code four five nine page mail sent send
    user name each also back into year most must same then able case used uses full free safe less next last once
    open line list text type form data file link note keys pass sign save role team test demo"""
_WORDS4 = frozenset(_WORDS4_TEXT.split())  # common four-letter words: "app password: four word code from"


def app_password(m: re.Match[str]) -> Span | None:
    """Four groups of four letters after "app password": random letters, not four English words."""
    groups = re.findall(r"[a-zA-Z]{4}", m.group("s"))
    return m.span("s") if sum(g.lower() in _WORDS4 for g in groups) < 2 else None


def docker_auth(m: re.Match[str]) -> Span | None:
    """Docker's and Kubernetes' ``auth`` field (base64 of ``user:password``), ``identitytoken`` and
    a whole ``.dockerconfigjson`` / ``.dockercfg`` value."""
    key = m.group("k").lower()
    if key == "auth":
        return basic(m)
    return m.span("s") if token_like(m.group("s")) else None


def secret_under_key(key: str, value: str) -> bool:
    """Whether ``value`` is a secret stored under the dict key ``key`` (``{"password": "hunter2"}``),
    judged as ``key: "value"`` would be."""
    return _secret_value(_secret_key(_SECRET_KEY.fullmatch(key)), value.strip()[:256])
