"""Secret redaction for everything that leaves memory: API keys, tokens, passwords, private keys,
card numbers and US social security numbers become ``[REDACTED]``; the stored record keeps what
was written.

The coverage follows the plugins of Yelp's detect-secrets (Apache-2.0,
https://github.com/Yelp/detect-secrets: AWS, Azure storage, basic auth, Discord, GitHub, GitLab,
JWT, keyword, Mailchimp, npm, OpenAI, private key, PyPI, SendGrid, Slack, Square, Stripe,
Telegram, Twilio, Artifactory) plus other providers' published token formats (Google, Anthropic,
Hugging Face, DigitalOcean, Shopify, Vault, Databricks, ...), re-implemented as our own regular
expressions (core depends on the standard library and numpy only, DESIGN.md §2; detect-secrets
scans files line by line, and its keyword plugin flags ``api_key: string``, which must stay readable).

Every pattern is bounded: no nested quantifiers, every repetition has an upper limit, and rules
that start with a character class only start where a run of such characters starts, so a text
of a megabyte — or a megabyte of ``a``, ``=``, digits or ``-----BEGIN`` — is scanned in linear time.
Values that are placeholders or types (``string``, ``<your password>``, ``${TOKEN}``,
``os.environ["PW"]``, paths) stay readable, and so do ordinary numbers: card numbers must pass
the Luhn check and fit a card network's prefix and length, SSNs must follow the SSA's rules and
be written with separators (or follow the word SSN). In dicts, a string under a secret-sounding
key (``{"password": "hunter2"}``) is judged as ``password: "hunter2"`` would be.

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
    button visible hash"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_NOT_SECRET_SUFFIXES = frozenset(_SUFFIX_TEXT.split())  # key_name, token_limit: about the secret, not it
_PW_WORDS = "пароль|密码|密碼|パスワード|비밀번호|wachtwoord|hasło|şifre|lösenord|heslo|salasana"
_PASSWORD_WORDS = ("pass", "pw", "kennwort", "contrase", "senha", *_PW_WORDS.split("|"))


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


def _secret_key(m: re.Match[str] | None) -> bool | None:
    """For a secret-sounding key (groups ``w`` and ``x``): whether it names a password (else a
    token); None when it names another word or an attribute of the secret (``token_limit``)."""
    if m is None or (m.group("x") and m.group("x")[0].islower()):  # "tokenizer", "passport"
        return None
    parts = re.split(r"[ _.-]+|(?<=[a-z0-9])(?=[A-Z])", m.group("w") + m.group("x"))
    if parts[-1].lower() in _NOT_SECRET_SUFFIXES:
        return None
    return any(w in m.group("w").lower() for w in _PASSWORD_WORDS)


def _secret_value(password: bool | None, text: str) -> bool:
    return password is not None and bool(text) and (_password_like(text) if password else _token_like(text))


def _assignment(m: re.Match[str]) -> Span | None:
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


def _card(m: re.Match[str]) -> Span | None:
    """13-19 digits with a card network's prefix and length that pass the Luhn check (a 15-digit
    IMEI starting with 4 is no Visa number)."""
    digits = re.sub(r"[ .-]", "", m.group(0))
    return m.span() if _NETWORK.fullmatch(digits) and len(set(digits)) > 1 and _luhn(digits) else None


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


def _rule(kind: str, pattern: str, hints: str = "", accept: _Accept | None = None) -> _Rule:
    """``hints``: "|"-separated lower-case substrings of which one must occur."""
    return _Rule(kind, re.compile(pattern), tuple(h for h in hints.split("|") if h), accept)


_B64 = r"[A-Za-z0-9+/]"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_END = r"(?![A-Za-z0-9_-])"
_KEY_WORDS = (
    r"(?i:passwort|kennwort|pass(?:word|wd|phrase|code)?|pwd?|contrase(?:ñ|n)a|senha|" + _PW_WORDS + "|secret|token"
    r"|credentials?|creds|(?:api|access|private|client|auth|app|account|master|signing|encryption|service|storage"
    r"|license|db|subscription|shared[_.-]?access)[_.-]?key)"
)
_LETTERS_AND_DIGITS = re.compile(r"(?=.*\d)(?=.*[^\W\d_])(?!v?\d+(?:\.\d+)+(?:[-+][\w.]*)?$).+")  # not a version
_KEY = (  # where a key may start (the first-letter class is a fast pre-check), its word, its suffix
    r"(?i:(?=[pkcstamelwdhşп密パ비]))(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=PASSW|PWD|SECRET|TOKEN))"
    r"(?P<w>" + _KEY_WORDS + r")(?P<x>[A-Za-z0-9_.-]{0,40}+)[\\\"'\]]{0,4}"  # PGPASSWORD, {\"password\": ...}
)
_SECRET_KEY = re.compile(r"[\w.-]{0,60}?" + _KEY + r":?\Z")

_RULES: tuple[_Rule, ...] = (
    _rule(
        "private_key",
        r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,.\\()_]|-(?!----)){0,40000}"
        r"(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        "-----begin",
    ),
    _rule("putty_private_key", r"Private-Lines:[ \t]{0,4}\d{1,4}\s{1,4}(?P<s>[A-Za-z0-9+/=\r\n]{1,20000})", "private-"),
    _rule("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b", "akia|asia|abia|acca|a3t"),
    _rule(
        "aws_secret_access_key",
        r"(?i:aws)[_.-]?(?i:secret)[_.-]?(?i:access[_.-]?)?(?i:key)[\"'\]]{0,2}[ \t]*(?::=|=>|[:=])[ \t]*[\"']?"
        r"(?P<s>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        "aws",
    ),
    _rule("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{22,255})\b", "gh|github_pat"),
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
    _rule("slack_token", r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,250}", "xox|xapp"),
    _rule("teams_webhook", r"https://[\w.-]{1,100}\.webhook\.office\.com/webhookb2/[\w@/-]{20,400}", "webhook.office"),
    _rule(
        "discord_webhook",
        r"https?://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d{5,30}/[A-Za-z0-9_-]{20,100}",
        "discord",
    ),
    _rule(
        "stripe_key",
        r"\b(?:[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9]{24,64})\b",
        "k_live_|k_test_|whsec_",
    ),
    _rule(
        "google_api_key",
        r"\b(?:AIza[0-9A-Za-z_-]{35}|GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{20,2048}|1//0[A-Za-z0-9_-]{40,512}"
        r"|AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,300})" + _END,  # API key, OAuth tokens, FCM server key
        "aiza|gocspx|ya29.|1//0|apa91b",
    ),
    _rule("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,300}", "sk-ant-"),
    _rule("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?(?P<s>[A-Za-z0-9_-]{16,250})", "sk-", accept=_openai),
    _rule("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}" + _END, "sg."),
    _rule("twilio_key", r"\b(?:AC|SK)[0-9a-f]{32}\b"),
    _rule("mailgun_key", r"\b(?:key-[0-9a-zA-Z]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\b"),
    _rule("mailchimp_key", r"\b[0-9a-f]{32}-us[0-9]{1,2}\b", "-us"),
    _rule(
        "npm_token", r"\bnpm_[A-Za-z0-9]{36}\b|(?<![\w-])_auth[ \t]*=[ \t]*(?P<s>[A-Za-z0-9+/=]{8,512})", "npm_|_auth"
    ),
    _rule("pypi_token", r"\bpypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,300}", "pypi-"),
    _rule(
        "azure_storage_key",
        r"(?i:AccountKey|SharedAccessKey|SharedSecretValue)[ \t]*=[ \t]*(?P<s>[A-Za-z0-9+/=]{20,200})",
        "accountkey|sharedaccesskey|sharedsecretvalue",
    ),
    _rule(
        "azure_sas_token",
        r"(?i:SharedAccessSignature[ \t]*=[ \t]*|[?&;]sig=)(?P<s>[A-Za-z0-9%+/=&:.-]{16,512})",
        "sharedaccesssignature|sig=",
    ),
    _rule("azure_ad_client_secret", r"(?<![\w~.-])[\w~.]{3}\dQ~[\w~.-]{31,34}(?![\w~.-])", "q~"),
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
        "heroku|hrku-",
    ),
    _rule("digitalocean_token", r"\bdo[opr]_v1_[a-f0-9]{64}\b", "_v1_"),
    _rule("shopify_token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", "shp"),
    _rule("square_token", r"\b(?:sq0(?:atp|csp)-[A-Za-z0-9_-]{22,60}|EAAA[A-Za-z0-9_-]{60})" + _END, "sq0|eaaa"),
    _rule("vault_token", r"\bhv[sbr]\.[A-Za-z0-9_-]{24,250}" + _END, "hvs.|hvb.|hvr."),
    _rule("databricks_token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b", "dapi"),
    _rule("huggingface_token", r"\bhf_[A-Za-z0-9]{30,40}\b", "hf_"),
    _rule(
        "other_provider_token",
        r"\b(?:PMAK-[a-f0-9]{24}-[a-f0-9]{34}|ATATT3[A-Za-z0-9_=-]{50,300}|AKC[a-zA-Z0-9]{60,100}"
        r"|lin_api_[A-Za-z0-9]{40}|ntn_[A-Za-z0-9]{40,50}|pul-[a-f0-9]{40}|NRAK-[A-Z0-9]{27}"
        r"|dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}|sntrys_[A-Za-z0-9_=+/-]{40,300}"
        r"|AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}|dckr_pat_[A-Za-z0-9_-]{27,60}|LTAI[A-Za-z0-9]{12,30}"
        r"|v1\.0-[a-f0-9]{24}-[a-f0-9]{146}|access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})" + _END,
        "pmak-|atatt3|akc|lin_api_|ntn_|pul-|nrak-|dp.|sntrys_|age-secret-key-|dckr_pat_|ltai|v1.0-|access_token$",
    ),
    _rule("maas_api_key", r"\bmaas_[0-9a-f]{32}_[A-Za-z0-9_-]{20,64}" + _END, "maas_"),
    _rule(
        "url_credentials",  # the password runs to the last "@" of the authority: "user:p@ss@host"
        r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@\"'<>\[\]]{0,128}:(?P<s>[^\s/?#\"'<>]{1,256})@",
        "://",
        accept=_value(lambda v: not _PLACEHOLDER.fullmatch(v) and v.lower() not in ("password", "pass", "pwd")),
    ),
    _rule(
        "command_line_password",  # mysql -pX, sshpass -p X, docker login -p X, curl -u user:X
        r"\b(?:(?:mysql\w{0,10}|mariadb\w{0,10})\b[^\n]{0,100}?[ \t]-p(?=[^\s-])|(?:sshpass|(?:docker|podman) login)\b"
        r"[^\n]{0,100}?[ \t](?:-p|--password)[ \t=]+|curl\b[^\n]{0,100}?[ \t](?:-u|--user)[ \t=]+[\"']?[^\s:\"']{1,64}:)"
        r"[\"']?(?P<s>[^\s\"']{1,128})",
        "mysql|mariadb|sshpass| login|curl",
        accept=_value(_password_like),
    ),
    _rule("basic_auth", r"\b(?i:basic)[ \t]+(?P<s>" + _B64 + r"{6,4096}={0,2})(?![A-Za-z0-9+/=])", "basic", _basic),
    _rule(
        "bearer_token",
        r"\b(?i:bearer|(?:authorization|x-auth-token)[\"']?[ \t]*[:=][ \t]*[\"']?(?:token|bot|apikey|api-key|key|ssws)?)"
        r"[ \t]+(?P<s>[A-Za-z0-9._~+/=-]{8,4096})",
        "bearer|authorization|x-auth-token",
        accept=_value(_token_like),
    ),
    _rule(
        "credit_card",
        r"(?<![\w.+-])(?:\d{4}(?P<g>[ .-])\d{4}(?P=g)\d{4}(?P=g)\d{1,7}|\d{4}(?P<h>[ -])\d{6}(?P=h)\d{4,5}|\d{13,19})"
        r"(?!\d)",
        accept=_card,
    ),
    _rule(
        "us_ssn",
        r"(?<![\w-])(?P<s>(?!000|666|9\d\d)\d{3}(?P<sep>[- ])(?!00)\d{2}(?P=sep)(?!0000)\d{4})(?![\w-])"
        r"|(?i:\bssn|\bsocial security(?: number| no\.?)?)\b[^\w\n]{0,5}(?:is[ \t]+)?"
        r"(?P<t>(?!000|666|9\d\d)\d{3}(?P<d>\.?)(?!00)\d{2}(?P=d)(?!0000)\d{4})\b",
        accept=lambda m: m.span("s") if m.group("s") else m.span("t"),
    ),
    _rule(
        "connection_string_password",
        r"(?<![\w])(?i:password|pwd)[ \t]*=[ \t]*(?P<s>[^;\r\n\"']{1,256}?)[ \t]*;",
        "password|pwd",
        accept=_value(_password_like),
    ),
    _rule(
        "secret_assignment",  # also inside escaped JSON: {\"password\": \"x\"}
        _KEY + r"[ \t]*(?::=|=>|[:=\uff1a])[ \t]*(?:\\{0,3}(?P<q>[\"'`])(?P<s>[^\"'`\r\n]{1,256}?)(?P=q)"
        r"|(?P<u>[^\s\"'`,;&<>)}\]]{1,256}))",
        "|".join((*_PASSWORD_WORDS, "secret", "token", "cred", "key")),
        accept=_assignment,
    ),
    _rule(
        "password_phrase",
        r"(?i)\b(?:password|passphrase|passwort|kennwort|contrase(?:ñ|n)a|senha|mot de passe|pass ?code)\b"
        r"(?:[ \t]+(?:for|to|of|on)[ \t]+[^\n]{1,40}?)?[ \t]+(?:is|was|is now|is set to|will be|ist|es|est|é)"
        r"[ \t]*:?[ \t]+[\"'`]?(?P<s>[^\s\"'`]{3,128})",
        "|".join((*_PASSWORD_WORDS, "mot de passe")),
        accept=_value(lambda v: _password_like(v) and not _english(v)),
    ),
    _rule(
        "secret_after_keyword",
        r"(?i)\b(?:password|passwd|pwd|passphrase|secret|token|(?:api|access|secret|private|client|auth|license)[ _-]?"
        r"(?:key|secret|token)|" + _PW_WORDS + r")(?:[ \t]*[:=][ \t]*|[ \t]+(?:(?:is now|is|was)[ \t]+)?"
        r"|(?<=[^\x00-\x7f])[は是][ \t]*)[\"']?(?P<s>[^\s\"',;]{6,128})",
        "|".join((*_PASSWORD_WORDS, "secret", "key", "token")),
        accept=_value(lambda v: bool(_LETTERS_AND_DIGITS.fullmatch(v)) and not _placeholder(v)),
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
            whole, base = m.group(0), m.start()
            if span is None or "xxxxxxxx" in whole[span[0] - base : span[1] - base].lower():  # sk_test_XXXXXXXX
                return m.group(0)
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


def _unique(key: Any, taken: Mapping[Any, Any], tried: dict[Any, int]) -> Any:
    """``key`` or a variant not in ``taken`` (``[REDACTED#2]``, ...); ``tried``: next number per key."""
    first, n = key, tried.get(key, 2)
    while key in taken:
        if isinstance(first, str) and "[REDACTED" in first:
            head, _, tail = first.rpartition("]")
            key = re.sub(r"#\d+$", "", head) + f"#{n}]{tail}"
        else:
            key = re.sub(r"#\d+$", "", str(first)) + f"#{n}"
        n += 1
    tried[first] = n
    return key


def _under_secret_key(key: Any, value: Any, siblings: Mapping[Any, Any]) -> bool:
    """A string under a secret-sounding key (``{"password": "hunter2"}``, or Kubernetes'
    ``{"name": "DB_PASSWORD", "value": "hunter2"}``), judged as ``key: "value"`` would be."""
    if key in ("value", "Value") and isinstance(siblings.get("name", siblings.get("key")), str):
        key = siblings.get("name", siblings.get("key"))
    if not isinstance(key, str) or not isinstance(value, str) or len(key) > 100:
        return False
    return _secret_value(_secret_key(_SECRET_KEY.fullmatch(key)), value.strip()[:256])


def redact_value(value: Any) -> Any:
    """A copy of ``value`` with secrets redacted in every string: dict keys and values, lists,
    tuples and sets, at any depth. Two keys that become equal stay distinct (``[REDACTED]``,
    ``[REDACTED#2]``). Other objects are returned as given; the input is never mutated."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        tried: dict[Any, int] = {}
        for k, v in value.items():
            key = redact_value(k) if isinstance(k, (str, tuple, frozenset)) else k
            out[_unique(key, out, tried)] = REDACTED if _under_secret_key(k, v, value) else redact_value(v)
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
