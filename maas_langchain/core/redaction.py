"""Secret redaction for everything that leaves memory: API keys, tokens, passwords, private keys,
card numbers and US social security numbers become ``[REDACTED]``; the stored record keeps what
was written.

The coverage follows the plugins of Yelp's detect-secrets (Apache-2.0,
https://github.com/Yelp/detect-secrets: AWS, Azure storage, basic auth, Discord, GitHub, GitLab,
JWT, keyword, Mailchimp, npm, OpenAI, private key, PyPI, SendGrid, Slack, Square, Stripe,
Telegram, Twilio, Artifactory) plus other providers' published token formats (Google, Anthropic,
Hugging Face, DigitalOcean, Shopify, Vault, Databricks, ...). They are re-implemented here as our
own regular expressions rather than imported: core depends on the standard library and numpy only
(DESIGN.md §2), detect-secrets scans files line by line with file-type rules and optional network
verification, none of which a redactor of free text wants, and its keyword plugin matches any
value (``api_key: string``), which this module must leave readable.

Every pattern is bounded: no nested quantifiers, every repetition has an upper limit, and rules
that start with a character class only start where a run of such characters starts, so a text
of a megabyte — or a megabyte of ``a``, ``=``, digits or ``-----BEGIN`` — is scanned in linear time.
Values that are placeholders or types (``string``, ``<your password>``, ``${TOKEN}``,
``os.environ["PW"]``, paths) stay readable, and so do ordinary numbers: card numbers must pass
the Luhn check and carry a card-network prefix, SSNs must follow the SSA's area/group/serial
rules and be written with separators (or follow the word SSN).

Example:
    >>> redact("deploy with AKIAIOSFODNN7EXAMPLE and password: hunter2")
    'deploy with [REDACTED] and password: [REDACTED]'
    >>> redact("api_key: string, token bucket, pwd=/home/user")
    'api_key: string, token bucket, pwd=/home/user'
    >>> redact_value({"4111 1111 1111 1111": "visa", "note": "ok"})
    {'[REDACTED]': 'visa', 'note': 'ok'}
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_KINDS",
    "contains_secret",
    "find_secrets",
    "redact",
    "redact_handoff",
    "redact_share",
    "redact_value",
]

REDACTED = "[REDACTED]"

Span = tuple[int, int]
_Accept = Callable[[re.Match[str]], Span | None]

# --- value checks ------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
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
    button visible"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_NOT_SECRET_SUFFIXES = frozenset(_SUFFIX_TEXT.split())  # key_name, token_limit: about the secret, not it
_PASSWORD_WORDS = ("pass", "pwd", "kennwort", "contrase", "senha")


def _placeholder(value: str) -> bool:
    """A value that names or describes a secret rather than being one."""
    return bool(_PLACEHOLDER.fullmatch(value)) or value.lower() in _STOPWORDS or bool(_PATH.fullmatch(value))


def _password_like(value: str) -> bool:
    """A password may be any word; it only has to be more than a placeholder."""
    return len(value) >= 4 and not _placeholder(value)


def _token_like(value: str) -> bool:
    """A token, key or secret looks random: letters with digits, mixed case, symbols or length."""
    if len(value) < 6 or _placeholder(value):
        return False
    if value.isdigit():
        return len(value) >= 20
    digit, alpha = any(c.isdigit() for c in value), any(c.isalpha() for c in value)
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    symbol = any(not c.isalnum() and c not in "-_./:" for c in value)
    return (digit and alpha) or (mixed and len(value) >= 8) or symbol or len(value) >= 16


def _english(value: str) -> bool:
    """A plain lower-case word that reads as prose after "password is" ("stored", "required")."""
    return value.isalpha() and value.islower() and (value in _STOPWORDS or value.endswith(("ed", "ing", "ly", "ble")))


def _trim(m: re.Match[str], group: str) -> tuple[int, str]:
    """Start and text of ``group`` without the sentence punctuation that may follow a value."""
    return m.start(group), m.group(group).rstrip(".,;:)")


def _value(check: Callable[[str], bool], group: str = "s") -> _Accept:
    def accept(m: re.Match[str]) -> Span | None:
        start, text = _trim(m, group)
        return (start, start + len(text)) if text and check(text) else None

    return accept


def _assignment(m: re.Match[str]) -> Span | None:
    """``key = value`` for a secret-sounding key: the value, unless the key names an attribute of
    the secret (``token_limit``, ``password_length``) or the value is a placeholder."""
    suffix = m.group("x")
    if suffix and suffix[0].islower():  # "tokenizer", "passport": another word
        return None
    parts = re.split(r"[_.-]+|(?<=[a-z0-9])(?=[A-Z])", m.group("w") + suffix)
    if parts[-1].lower() in _NOT_SECRET_SUFFIXES:
        return None
    group = "s" if m.group("s") is not None else "u"
    start, text = (m.start(group), m.group(group)) if group == "s" else _trim(m, group)
    password = any(w in m.group("w").lower() for w in _PASSWORD_WORDS)
    ok = _password_like(text) if password else _token_like(text)
    return (start, start + len(text)) if text and ok else None


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card(m: re.Match[str]) -> Span | None:
    """13-19 digits with a card network's prefix (Visa, Mastercard, Amex, Discover, JCB, Diners,
    UnionPay, Maestro) that pass the Luhn check."""
    digits = re.sub(r"[ -]", "", m.group(0))
    network = digits[0] in "3456" or 22 <= int(digits[:2]) <= 27
    return m.span() if 13 <= len(digits) <= 19 and network and len(set(digits)) > 1 and _luhn(digits) else None


def _basic(m: re.Match[str]) -> Span | None:
    """``Basic <base64>`` whose decoding is ``user:password`` ("Basic training" is not)."""
    raw = m.group("s")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return m.span("s") if ":" in decoded and decoded.isprintable() else None


def _openai(m: re.Match[str]) -> Span | None:
    """``sk-...``: a random body, not a hyphenated name such as ``sk-learn-compatible-estimators``."""
    body = m.group("s")
    if "T3BlbkFJ" in body or "-" not in body:
        return m.span()
    longest = max(len(run) for run in re.split(r"[-_]", body))
    return m.span() if longest >= 16 and any(c.isdigit() for c in body) else None


# --- the rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    hints: tuple[str, ...] = ()  # lower-case substrings of which one must occur (cheap pre-filter)
    accept: _Accept | None = None

    def span(self, m: re.Match[str]) -> Span | None:
        if self.accept is not None:
            return self.accept(m)
        return m.span("s") if "s" in self.pattern.groupindex and m.group("s") is not None else m.span()


def _rule(kind: str, pattern: str, *hints: str, accept: _Accept | None = None) -> _Rule:
    return _Rule(kind, re.compile(pattern), hints, accept)


_B64 = r"[A-Za-z0-9+/]"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_END = r"(?![A-Za-z0-9_-])"
_KEY_WORDS = (
    r"(?i:passwort|kennwort|pass(?:word|wd|phrase|code)?|pwd|contrase(?:ñ|n)a|senha|secret|token|credentials?|creds"
    r"|(?:api|access|private|client|auth|app|account|master|signing|encryption|service|storage|license|db"
    r"|shared[_.-]?access)[_.-]?key)"
)

_RULES: tuple[_Rule, ...] = (
    _rule(
        "private_key",
        r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,.\\()_]|-(?!----)){0,40000}"
        r"(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        "-----begin",
    ),
    _rule("putty_private_key", r"Private-Lines:[ \t]{0,4}\d{1,4}\s{1,4}(?P<s>[A-Za-z0-9+/=\r\n]{1,20000})", "private-"),
    _rule(
        "aws_access_key_id",
        r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
        "akia",
        "asia",
        "abia",
        "acca",
        "a3t",
    ),
    _rule(
        "aws_secret_access_key",
        r"(?i:aws)[_.-]?(?i:secret)[_.-]?(?i:access[_.-]?)?(?i:key)[\"'\]]{0,2}[ \t]*(?::=|=>|[:=])[ \t]*[\"']?"
        r"(?P<s>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        "aws",
    ),
    _rule("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{22,255})\b", "gh", "github_pat"),
    _rule(
        "gitlab_token",
        r"\b(?:glpat|gloas|gldt|glrt|glcbt|glptt|glft|glimt|glagent|glsoat|glsa|glc)[-_][A-Za-z0-9_=+/-]{20,80}" + _END,
        "gl",
    ),
    _rule(
        "slack_webhook",
        r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{10,300}",
        "hooks.slack",
    ),
    _rule("slack_token", r"\bxox[abposre]-[A-Za-z0-9-]{10,250}", "xox"),
    _rule(
        "discord_webhook",
        r"https?://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d{5,30}/[A-Za-z0-9_-]{20,100}",
        "discord",
    ),
    _rule(
        "stripe_key",
        r"\b(?:[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9]{24,64})\b",
        "k_live_",
        "k_test_",
        "whsec_",
    ),
    _rule("google_api_key", r"\b(?:AIza[0-9A-Za-z_-]{35}|GOCSPX-[A-Za-z0-9_-]{28})" + _END, "aiza", "gocspx"),
    _rule("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,300}", "sk-ant-"),
    _rule("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?(?P<s>[A-Za-z0-9_-]{16,250})", "sk-", accept=_openai),
    _rule("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}" + _END, "sg."),
    _rule("twilio_key", r"\b(?:AC|SK)[0-9a-f]{32}\b"),
    _rule("mailgun_key", r"\bkey-[0-9a-zA-Z]{32}\b", "key-"),
    _rule("mailchimp_key", r"\b[0-9a-f]{32}-us[0-9]{1,2}\b", "-us"),
    _rule(
        "npm_token",
        r"\bnpm_[A-Za-z0-9]{36}\b|(?<![\w-])_auth[ \t]*=[ \t]*(?P<s>[A-Za-z0-9+/=]{8,512})",
        "npm_",
        "_auth",
    ),
    _rule("pypi_token", r"\bpypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,300}", "pypi-"),
    _rule(
        "azure_storage_key",
        r"(?i:AccountKey|SharedAccessKey|SharedSecretValue)[ \t]*=[ \t]*(?P<s>[A-Za-z0-9+/=]{20,200})",
        "accountkey",
        "sharedaccesskey",
        "sharedsecretvalue",
    ),
    _rule(
        "azure_sas_token",
        r"(?i:SharedAccessSignature[ \t]*=[ \t]*|[?&;]sig=)(?P<s>[A-Za-z0-9%+/=&:.-]{16,512})",
        "sharedaccesssignature",
        "sig=",
    ),
    _rule(
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{6,4096}\.(?:eyJ[A-Za-z0-9_-]{4,8192}\.?|[A-Za-z0-9_-]{8,8192}\.)[A-Za-z0-9_-]{0,4096}",
        "eyj",
    ),
    _rule("discord_bot_token", r"\b[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}" + _END, "."),
    _rule("telegram_bot_token", r"(?<![\w:])\d{8,10}:[A-Za-z0-9_-]{35}" + _END, ":"),
    _rule(
        "heroku_api_key",
        r"\bHRKU-[A-Za-z0-9_-]{20,80}|(?i:heroku)[ _.-]?(?i:api[ _.-]?)?(?i:key|token)[\"']?[ \t]*(?:[:=]|is)[ \t]*"
        r"[\"']?(?P<s>" + _UUID + ")",
        "heroku",
        "hrku-",
    ),
    _rule("digitalocean_token", r"\bdo[opr]_v1_[a-f0-9]{64}\b", "_v1_"),
    _rule("shopify_token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", "shp"),
    _rule("square_token", r"\b(?:sq0(?:atp|csp)-[A-Za-z0-9_-]{22,60}|EAAA[A-Za-z0-9_-]{60})" + _END, "sq0", "eaaa"),
    _rule("vault_token", r"\bhv[sbr]\.[A-Za-z0-9_-]{24,250}" + _END, "hvs.", "hvb.", "hvr."),
    _rule("databricks_token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b", "dapi"),
    _rule("huggingface_token", r"\bhf_[A-Za-z0-9]{30,40}\b", "hf_"),
    _rule(
        "other_provider_token",
        r"\b(?:PMAK-[a-f0-9]{24}-[a-f0-9]{34}|ATATT3[A-Za-z0-9_=-]{50,300}|AKC[a-zA-Z0-9]{60,100}"
        r"|lin_api_[A-Za-z0-9]{40}|ntn_[A-Za-z0-9]{40,50}|pul-[a-f0-9]{40}|NRAK-[A-Z0-9]{27}"
        r"|dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}|sntrys_[A-Za-z0-9_=+/-]{40,300}"
        r"|AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
        "pmak-",
        "atatt3",
        "akc",
        "lin_api_",
        "ntn_",
        "pul-",
        "nrak-",
        "dp.",
        "sntrys_",
        "age-secret-key-",
    ),
    _rule("maas_api_key", r"\bmaas_[0-9a-f]{32}_[A-Za-z0-9_-]{20,64}" + _END, "maas_"),
    _rule(
        "url_credentials",
        r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@\"'<>\[\]]{0,128}:(?P<s>[^\s/?#@\"'<>]{1,256})@",
        "://",
        accept=_value(lambda v: not _PLACEHOLDER.fullmatch(v)),
    ),
    _rule(
        "basic_auth", r"\b(?i:basic)[ \t]+(?P<s>" + _B64 + r"{6,4096}={0,2})(?![A-Za-z0-9+/=])", "basic", accept=_basic
    ),
    _rule(
        "bearer_token",
        r"\b(?i:bearer|(?:authorization|x-auth-token)[\"']?[ \t]*[:=][ \t]*[\"']?(?:token|bot|apikey|api-key|key)?)"
        r"[ \t]+(?P<s>[A-Za-z0-9._~+/=-]{8,4096})",
        "bearer",
        "authorization",
        "x-auth-token",
        accept=_value(_token_like),
    ),
    _rule(
        "credit_card",
        r"(?<![\w.+-])(?:\d{4}(?P<g>[ -])\d{4}(?P=g)\d{4}(?P=g)\d{1,7}|\d{4}(?P<h>[ -])\d{6}(?P=h)\d{4,5}|\d{13,19})(?!\d)",
        accept=_card,
    ),
    _rule(
        "us_ssn",
        r"(?<![\w-])(?P<s>(?!000|666|9\d\d)\d{3}(?P<sep>[- ])(?!00)\d{2}(?P=sep)(?!0000)\d{4})(?![\w-])"
        r"|(?i:\bssn|\bsocial security(?: number| no\.?)?)\b[^\w\n]{0,5}(?:is[ \t]+)?"
        r"(?P<t>(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4})\b",
        accept=lambda m: m.span("s") if m.group("s") else m.span("t"),
    ),
    _rule(
        "connection_string_password",
        r"(?<![\w])(?i:password|pwd)[ \t]*=[ \t]*(?P<s>[^;\r\n\"']{1,256}?)[ \t]*;",
        "password",
        "pwd",
        accept=_value(_password_like),
    ),
    _rule(
        "secret_assignment",
        r"(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z]))(?P<w>" + _KEY_WORDS + r")(?P<x>[A-Za-z0-9_.-]{0,40})"
        r"[\"'\]]{0,2}[ \t]*(?::=|=>|[:=])[ \t]*(?:(?P<q>[\"'`])(?P<s>[^\"'`\r\n]{1,256}?)(?P=q)"
        r"|(?P<u>[^\s\"'`,;&<>)}\]]{1,256}))",
        *_PASSWORD_WORDS,
        "secret",
        "token",
        "cred",
        "key",
        accept=_assignment,
    ),
    _rule(
        "password_phrase",
        r"(?i)\b(?:password|passphrase|passwort|kennwort|contrase(?:ñ|n)a|senha|mot de passe|pass ?code)\b"
        r"(?:[ \t]+(?:for|to|of|on)[ \t]+[^\n]{1,40}?)?[ \t]+(?:is|was|is now|is set to|will be|ist|es|est|é)"
        r"[ \t]*:?[ \t]+[\"'`]?(?P<s>[^\s\"'`]{3,128})",
        *_PASSWORD_WORDS,
        "mot de passe",
        accept=_value(lambda v: _password_like(v) and not _english(v)),
    ),
    _rule(
        "secret_after_keyword",
        r"(?i)\b(?:password|passwd|pwd|passphrase|secret|api[_-]?key|access[_-]?key|token)[ \t]+[\"']?"
        r"(?P<s>[^\s\"',;]{6,128})",
        *_PASSWORD_WORDS,
        "secret",
        "key",
        "token",
        accept=_value(
            lambda v: (
                any(c.isdigit() for c in v)
                and any(c.isalpha() for c in v)
                and not _placeholder(v)
                and not re.fullmatch(r"v?\d+(?:\.\d+)+(?:[-+][\w.]*)?", v)
            )
        ),
    ),
)

SECRET_KINDS: tuple[str, ...] = tuple(dict.fromkeys(r.kind for r in _RULES))
"""The names of what :func:`redact` detects, in the order the rules run."""


# --- the API -----------------------------------------------------------------------------------


def _scan(text: str, found: list[tuple[str, str]] | None) -> str:
    lowered = text.lower()
    for rule in _RULES:
        if rule.hints and not any(map(lowered.__contains__, rule.hints)):
            continue

        def replace(m: re.Match[str], rule: _Rule = rule) -> str:
            span = rule.span(m)
            if span is None:
                return m.group(0)
            whole, base = m.group(0), m.start()
            if found is not None:
                found.append((rule.kind, whole[span[0] - base : span[1] - base]))
            return whole[: span[0] - base] + REDACTED + whole[span[1] - base :]

        text = rule.pattern.sub(replace, text)
    return text


def redact(text: str) -> str:
    """Replace every secret in ``text`` with ``[REDACTED]`` (non-strings are returned as given)."""
    if not isinstance(text, str) or len(text) < 8:  # no secret form is shorter ("pwd=1234")
        return text
    return _scan(text, None)


def find_secrets(text: str) -> list[tuple[str, str]]:
    """``(kind, value)`` of every secret :func:`redact` would replace in ``text``, in rule order."""
    found: list[tuple[str, str]] = []
    if isinstance(text, str) and text:
        _scan(text, found)
    return found


def contains_secret(text: str) -> bool:
    """True when :func:`redact` would change ``text``."""
    return isinstance(text, str) and redact(text) != text


def _unique(key: Any, taken: Mapping[Any, Any]) -> Any:
    """``key``, or a variant not in ``taken``: ``[REDACTED]`` becomes ``[REDACTED#2]``, ..."""
    n = 2
    while key in taken:
        if isinstance(key, str) and "[REDACTED" in key:
            head, _, tail = key.rpartition("]")
            base = re.sub(r"#\d+$", "", head)
            key = f"{base}#{n}]{tail}"
        else:
            key = re.sub(r"#\d+$", "", str(key)) + f"#{n}"
        n += 1
    return key


def redact_value(value: Any) -> Any:
    """A copy of ``value`` with secrets redacted in every string: dict keys and values, lists,
    tuples and sets, at any depth. Two keys that become equal stay distinct (``[REDACTED]``,
    ``[REDACTED#2]``). Other objects are returned as given; the input is never mutated."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key = redact_value(k) if isinstance(k, (str, tuple, frozenset)) else k
            out[_unique(key, out)] = redact_value(v)
        return out
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_value(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(redact_value(v) for v in value)
    return value


def redact_share(share: Any) -> Any:
    """A copy of a shared memory with secrets in its content and metadata redacted."""
    content = None if share.content is None else redact(share.content)
    return dataclasses.replace(share, content=content, metadata=redact_value(share.metadata))


def redact_handoff(handoff: Any) -> Any:
    """A copy of a handoff with secrets redacted in its context (task, state, files, notes), its
    result and its reason; ids, memory ids and the thread are kept."""
    ctx = handoff.context
    context = dataclasses.replace(
        ctx,
        task_description=redact(ctx.task_description),
        current_state=redact_value(ctx.current_state),
        relevant_files=redact_value(ctx.relevant_files),
        notes=redact_value(ctx.notes),
    )
    return dataclasses.replace(
        handoff,
        context=context,
        result=None if handoff.result is None else redact_value(handoff.result),
        reason=None if handoff.reason is None else redact(handoff.reason),
    )
