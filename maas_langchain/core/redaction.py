"""Secret redaction for everything that leaves memory: API keys, tokens, passwords, private keys,
card numbers and US social security numbers become ``[REDACTED]``; the stored record keeps what
was written.

The coverage follows the plugins of Yelp's detect-secrets (Apache-2.0,
https://github.com/Yelp/detect-secrets: AWS, Azure storage, basic auth, Discord, GitHub, GitLab,
JWT, keyword, Mailchimp, npm, OpenAI, private key, PyPI, SendGrid, Slack, Square, Stripe,
Telegram, Twilio, Artifactory) and the prefixed-token rules of gitleaks (MIT) that they lack
(Google, Anthropic, Hugging Face, DigitalOcean, Shopify, Vault, Databricks, Notion, Dropbox,
Doppler, Grafana, Sentry, Atlassian, Postman, Linear, AI providers, package registries, ...) plus
credentials known by their setting (``.pgpass`` lines, session cookies, Docker's ``auth``, Redis'
``requirepass``, Vault unseal keys, keystores, password hashes, app passwords), re-implemented as
our own regular expressions (core depends on the standard library and numpy only, DESIGN.md §2;
detect-secrets scans files line by line, and its keyword plugin flags ``api_key: string``, which
must stay readable). The kinds are in :mod:`~maas_langchain.core.redaction_kinds`, the checks
they share in :mod:`~maas_langchain.core.redaction_rules`; this module applies them.

Every pattern is bounded: no ambiguous nested quantifiers, every repetition has an upper limit, and rules
that start with a character class only start where a run of such characters starts, so a text
of a megabyte — or a megabyte of ``a``, ``=``, digits or ``-----BEGIN`` — is scanned in linear time.
Values that are placeholders or types (``string``, ``<your password>``, ``${TOKEN}``,
``os.environ["PW"]``, paths) stay readable, and so do ordinary numbers: card numbers must pass
the Luhn check and fit a card network's prefix and length, SSNs must follow the SSA's rules and
be written with dashes (or follow the word SSN: "312 48 1520" is a phone number). In dicts, a
string under a secret-sounding key (``{"password": "hunter2"}``, ``{"auth": "<base64>"}``) is judged
as ``password: "hunter2"`` would be.

Example:
    >>> redact("deploy with AKIAIOSFODNN7EXAMPLE and password: hunter2")
    'deploy with [REDACTED] and password: [REDACTED]'
    >>> redact("api_key: string, token bucket, pwd=/home/user")
    'api_key: string, token bucket, pwd=/home/user'
    >>> redact_value({"4111 1111 1111 1111": "visa", "note": "ok"})
    {'[REDACTED]': 'visa', 'note': 'ok'}
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from maas_langchain.core.redaction_kinds import RULES, SECRET_KINDS
from maas_langchain.core.redaction_rules import Rule, secret_under_key

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

# --- the API -----------------------------------------------------------------------------------


def _scan(text: str, found: list[tuple[str, str]] | None) -> str:
    lowered = text.lower()
    for rule in RULES:
        if rule.hints and not any(map(lowered.__contains__, rule.hints)):
            continue

        def replace(m: re.Match[str], rule: Rule = rule) -> str:
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


_SETTING_KEY = re.compile(r"(?i)auth|docker|sess|requirepass|masterauth|bindpw|rootpw|psk|keystore|p12|pfx|jks")
"""Keys whose value the rules only recognise next to the key (Docker's ``auth``, cookies, Redis)."""


def _under_secret_key(key: Any, value: Any, siblings: Mapping[Any, Any]) -> bool:
    """A string under a secret-sounding key (``{"password": "hunter2"}``, or Kubernetes'
    ``{"name": "DB_PASSWORD", "value": "hunter2"}``), judged as ``key: "value"`` would be."""
    if key in ("value", "Value") and isinstance(siblings.get("name", siblings.get("key")), str):
        key = siblings.get("name", siblings.get("key"))
    if not isinstance(key, str) or not isinstance(value, str) or len(key) > 100:
        return False
    if _SETTING_KEY.search(key) and len(value) <= 65536:  # {"auth": base64("user:pw")}, {"sessionid": ...}
        pair = f"{key}={value.strip()}"
        if redact(pair) != f"{key}={redact(value.strip())}":
            return True
    return secret_under_key(key, value)


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
