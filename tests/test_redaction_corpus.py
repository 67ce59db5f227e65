"""The redactor against the corpus (``tests/redaction_corpus.py``): every secret type redacted,
benign look-alikes left readable, secrets in dict keys, copies instead of mutation, bounded time."""

from __future__ import annotations

import copy
import dataclasses
import json
import time

import pytest
from redaction_corpus import BENIGN, DICT_KEY_SECRETS, SECRETS, Secret

from maas_langchain.core import redaction, redaction_kinds, screening
from maas_langchain.core.enums import HandoffStatus, SharedScope
from maas_langchain.core.records import Handoff, HandoffContext, SharedMemory
from maas_langchain.core.redaction import (
    REDACTED,
    SECRET_KINDS,
    contains_secret,
    find_secrets,
    redact,
    redact_handoff,
    redact_share,
    redact_value,
)

BOUND_SECONDS = 5.0  # generous: the texts below take well under a second


def test_the_corpus_is_large_enough() -> None:
    assert len({s.kind for s in SECRETS}) >= 30 and len(BENIGN) >= 30
    assert len(SECRET_KINDS) >= 30 and len(set(SECRET_KINDS)) == len(SECRET_KINDS)


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s.kind)
def test_every_secret_type_is_redacted(secret: Secret) -> None:
    out = redact(secret.text)
    assert secret.value not in out and REDACTED in out, out
    assert contains_secret(secret.text)
    assert {kind for kind, _ in find_secrets(secret.text)} <= set(SECRET_KINDS)


def test_all_secret_types_are_redacted_and_at_most_one_benign_text_changes() -> None:
    missed = [s.kind for s in SECRETS if s.value in redact(s.text)]
    changed = [(b, redact(b)) for b in BENIGN if redact(b) != b]
    assert missed == []
    assert len(changed) <= 1, changed


@pytest.mark.parametrize(
    "text",
    [
        "api_key: string",
        "api_key: str",
        "password: <your password>",
        "token=${TOKEN}",
        'password=os.environ["PW"]',
        "pwd=/home/user",
        "the secret sauce is salt",
        "Use a token bucket of 10 requests",
        "password reset link sent",
        "Order 1234567812345678 (16 digits, not a card number: fails the Luhn check)",
        "ISBN 978-0-306-40615-7, dated 2024-01-15, version 3.11.4",
        "id 550e8400-e29b-41d4-a716-446655440000, commit 3f786850e387550fdab836ed7e6dc881de23001b, colour #ff5733",
        "call 555-123-4567 or +1 (555) 987-6543",
    ],
)
def test_placeholders_types_and_ordinary_numbers_stay_readable(text: str) -> None:
    assert redact(text) == text and not contains_secret(text)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Use a token bucket of 10 requests", False),
        ("the secret sauce is salt", False),
        ("password: hunter2", True),
        ("password hunter2", True),
        ("api_key=sk-123456", True),
        ("export token ghp_abc123def456", True),
        ("the key is sk-abcdefghijklmnopqrstuvwx", True),
    ],
)
def test_the_earlier_contract_still_holds(text: str, redacted: bool) -> None:
    assert (REDACTED in redact(text)) is redacted


@pytest.mark.parametrize(
    ("number", "card"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("3782 822463 10005", True),  # Amex grouping
        ("6011111111111117", True),
        ("4111111111111112", False),  # fails Luhn
        ("1234567812345678", False),  # no card network starts with 1
        ("41111111111111110000", False),  # 20 digits
        ("9780306406157", False),  # an ISBN-13
    ],
)
def test_card_numbers_need_luhn_and_a_network_prefix(number: str, card: bool) -> None:
    assert (redact(f"paid with {number} today") != f"paid with {number} today") is card


@pytest.mark.parametrize(
    ("text", "ssn"),
    [
        ("SSN 536-22-8714", True),
        ("SSN 536 22 8714", True),  # spaces only after the word SSN: "312 48 1520" is a phone number
        ("id 536 22 8714", False),
        ("call 312 48 1520 tomorrow", False),
        ("ssn: 536228714", True),
        ("000-12-3456", False),  # area 000
        ("666-12-3456", False),  # area 666
        ("912-12-3456", False),  # area 9xx
        ("536-00-8714", False),  # group 00
        ("536-22-0000", False),  # serial 0000
        ("536228714 widgets", False),  # nine bare digits without the word SSN
        ("536-22 8714", False),  # mixed separators
    ],
)
def test_ssns_follow_the_ssa_rules(text: str, ssn: bool) -> None:
    assert (redact(text) != text) is ssn


@pytest.mark.parametrize(("value", "secrets"), DICT_KEY_SECRETS, ids=range(len(DICT_KEY_SECRETS)))
def test_secrets_in_dict_keys_are_redacted_and_every_entry_is_kept(
    value: dict[str, object], secrets: list[str]
) -> None:
    before = copy.deepcopy(value)
    out = redact_value(value)
    text = json.dumps(out)
    assert all(s not in text for s in secrets), text
    assert value == before  # not mutated
    assert _count_entries(out) == _count_entries(value)


def _count_entries(value: object) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_count_entries(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_count_entries(v) for v in value)
    return 0


def test_colliding_redacted_keys_stay_distinct() -> None:
    a, b = SECRETS[0].value, SECRETS[3].value
    out = redact_value({a: 1, b: 2, "[REDACTED]": 3, "plain": 4})
    assert out == {"[REDACTED]": 1, "[REDACTED#2]": 2, "[REDACTED#3]": 3, "plain": 4}
    assert redact_value({f"key {a}": 1, f"key {b}": 2}) == {"key [REDACTED]": 1, "key [REDACTED#2]": 2}


def test_redact_value_copies_every_container_and_never_mutates() -> None:
    secret = SECRETS[3].value
    value = {"list": [secret, {"t": (secret, 1)}], "set": {secret}, "frozen": frozenset({secret}), 7: None}
    before = copy.deepcopy(value)
    out = redact_value(value)
    assert value == before
    assert out == {
        "list": [REDACTED, {"t": (REDACTED, 1)}],
        "set": {REDACTED},
        "frozen": frozenset({REDACTED}),
        7: None,
    }
    assert out["list"] is not value["list"]
    assert redact_value(5) == 5 and redact_value(None) is None and redact(b"bytes") == b"bytes"  # type: ignore[arg-type]


def test_shares_and_handoffs_are_returned_as_redacted_copies() -> None:
    secret = SECRETS[4].value
    share = SharedMemory(
        "p", "m", "a", SharedScope.PROJECT, "u", None, None, 1.0, metadata={secret: 1}, content=f"uses {secret}"
    )
    red = redact_share(share)
    assert secret not in repr(red) and secret in share.content and secret in share.metadata
    context = HandoffContext(
        f"deploy with {secret}", {"state": secret, secret: 1}, ["m1"], [f"/tmp/{secret}"], {"n": secret}, "t1"
    )
    handoff = Handoff(
        "h", "s", "t", context, HandoffStatus.PENDING, 1.0, 2.0, 1.0, result={"r": secret}, reason=f"no: {secret}"
    )
    out = redact_handoff(handoff)
    assert secret not in repr(out) and secret in repr(handoff)
    assert out.context.relevant_memories == ["m1"] and out.context.thread_id == "t1" and out.handoff_id == "h"
    assert dataclasses.replace(out, context=context, result=handoff.result, reason=handoff.reason) == handoff


def test_screening_keeps_the_names_and_filter_output_redacts_keys() -> None:
    assert screening.redact is redaction.redact and screening.redact_value is redaction.redact_value
    assert screening.redact_share is redaction.redact_share
    secret = SECRETS[21].value
    items = [{secret: {"note": f"key {secret}"}}]
    out = screening.MemoryPoisoningDefense().filter_output(items)
    assert secret not in json.dumps(out) and secret in json.dumps(items)


def _timed(fn: object, text: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = fn(text)  # type: ignore[operator]
    return time.perf_counter() - start, out


def test_a_megabyte_of_text_with_secrets_is_redacted_in_bounded_time() -> None:
    block = "\n".join([s.text for s in SECRETS] + BENIGN) + "\n"
    text = block * (1_000_000 // len(block) + 1)
    seconds, out = _timed(redact, text)
    assert seconds < BOUND_SECONDS, seconds
    assert all(s.value not in out for s in SECRETS)


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "=" * 1_000_000,
        ":" * 1_000_000,
        "@" * 1_000_000,
        "7" * 1_000_000,
        "-" * 1_000_000,
        "-----BEGIN" * 100_000,
        "-----BEGIN RSA PRIVATE KEY-----" * 30_000 + "A" * 100_000,
        "password: " * 100_000,
        "http://a:" * 100_000,
        "a:b@" * 250_000,
        "1 " * 500_000,
        "4111 " * 200_000,
        "eyJhbGciOi." * 100_000,
        "sk-" * 300_000,
        "Basic " * 150_000,
        "token=" + "x" * 1_000_000,
        "aws_secret_access_key=" * 40_000,
        "x" * 500_000 + "://" + "y" * 500_000,
    ],
    ids=lambda t: f"{t[:12]!r}x{len(t)}",
)
def test_adversarial_inputs_finish_in_bounded_time(text: str) -> None:
    seconds, _ = _timed(redact, text)
    assert seconds < BOUND_SECONDS, seconds
    seconds, _ = _timed(contains_secret, text)
    assert seconds < BOUND_SECONDS, seconds


NEAR_MISSES = [  # repeated prefixes of the second pass's kinds that almost, but never quite, match
    "h:5432:d:u:",
    "a:1:b:c:d ",
    "*:*:*:*:",
    "\\:",
    "md-",
    "md-" + "a" * 21 + " ",
    "sessionid=",
    "sessionid=" + "x" * 7 + ";",
    "__Secure-",
    "app password: ",
    "app password for " + "x" * 39,
    "app password: abcd efgh ijkl ",
    "secret_" + "A1" * 21 + " ",
    "sl." + "a" * 129 + " ",
    "AAAAAAAAAA",
    "dp.st.dev.",
    '"auth":"',
    ".dockerconfigjson: ",
    "requirepass ",
    "psk=",
    "Unseal Key 1: ",
    "keystore.p12: MII",
    "x" * 59 + ".p12:",
    "$2b$12$",
    "$6$rounds=5000$",
    "$argon2id$v=19$m=65536,t=3,p=4$",
    "EAAB",
    "sk.eyJ",
    "oauth:",
    "FlyV1 fm2_",
    "GR1348941",
    "glc_",
    "patABCDEFGHIJ1234.",
    "SSN 536 22 ",
    "x_token=" + "y" * 300 + " ",
    "GITHUB_PAT=",
]
# One rule over a megabyte: under 0.2 s on a quiet machine, 0.53 s seen on a shared host (CI,
# 2026-12-07); a rule that backtracks on these near misses takes minutes, so 2 s still catches it.
NEAR_MISS_SECONDS = 2.0


@pytest.mark.parametrize("unit", NEAR_MISSES, ids=lambda u: repr(u[:16]))
def test_near_misses_of_the_newer_kinds_finish_well_under_a_second(unit: str) -> None:
    text = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
    lowered = text.lower()
    for rule in redaction_kinds.RULES:
        if rule.hints and not any(h in lowered for h in rule.hints):
            continue
        start = time.perf_counter()
        rule.pattern.sub(lambda m, rule=rule: m.group(0) if rule.span(m) is None else REDACTED, text)
        seconds = time.perf_counter() - start
        assert seconds < NEAR_MISS_SECONDS, (rule.kind, seconds)
    seconds, _ = _timed(redact, text)
    assert seconds < BOUND_SECONDS, seconds


def test_twilio_account_sids_stay_readable_and_their_auth_tokens_do_not() -> None:
    sid, token = "AC" + "0123456789abcdef" * 2, "fedcba9876543210" * 2
    assert redact(f"account {sid}") == f"account {sid}"
    assert token not in redact(f"TWILIO_ACCOUNT_SID={sid} TWILIO_AUTH_TOKEN={token}")
    assert token not in redact(f"curl -u {sid}:{token} https://api.twilio.com/2010-04-01/Accounts/{sid}.json")
