"""Idempotency-Key records (``core/ports/idempotency.py``, ``core/idempotency.py``) on every state
backend: the in-memory reference, SQLite (a real file) and PostgreSQL (a schema of its own) must
agree on claims, replays, refusals, expiry, take-over of crashed requests and races between
threads and processes."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_url, require_postgres

from maas_langchain import MaaS
from maas_langchain.core.idempotency import IdempotencyService, Replay, check_idempotency_key
from maas_langchain.core.ports.idempotency import IdempotencyRecord
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.errors import ConflictError, InvalidInputError, RequestInProgressError
from maas_langchain.testing import ManualClock

TTL = 3_600.0
LEASE = 30.0
BODY = '{"memory_id": "m1"}'


def _location(kind: str, tmp_path: Path) -> str:
    if kind == "memory":
        return ":memory:"
    if kind == "sqlite":
        return str(tmp_path / "home")  # a folder: MaaS keeps its SQLite file in it
    require_postgres()
    return postgres_url(tmp_path)


def _open(location: str, clock: Callable[[], float] | None = None) -> MaaS:
    """A MaaS instance that loads no model and starts no thread."""
    extra: dict[str, Any] = {} if clock is None else {"clock": clock}
    return MaaS.open(
        location,
        sweep_interval=None,
        vectors="bruteforce",
        embeddings=HashingEmbeddings(64),
        handoff_screening="rules",
        extractor=None,
        **extra,
    )


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _location(str(request.param), tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def maas(location: str, clock: ManualClock) -> Iterator[MaaS]:
    opened = _open(location, clock)
    yield opened
    opened.close()


@pytest.fixture
def keys(maas: MaaS) -> IdempotencyService:
    return IdempotencyService(maas.runtime, ttl=TTL, lease=LEASE)


def _record(maas: MaaS, principal: str, key: str) -> IdempotencyRecord | None:
    return maas.runtime.read(lambda tx: tx.get_idempotency(principal, key))


# --- the service -----------------------------------------------------------------------------
def test_the_first_request_proceeds_and_a_retry_replays_its_response(maas: MaaS, keys: IdempotencyService) -> None:
    assert keys.begin("agent-1", "key-1", "fp-a") is None
    pending = _record(maas, "agent-1", "key-1")
    assert pending == IdempotencyRecord("agent-1", "key-1", "fp-a", maas.runtime.clock(), "pending")
    keys.finish("agent-1", "key-1", 201, BODY)
    assert keys.begin("agent-1", "key-1", "fp-a") == Replay(201, BODY)
    assert keys.begin("agent-1", "key-1", "fp-a") == Replay(201, BODY)  # as often as asked
    done = _record(maas, "agent-1", "key-1")
    assert done is not None and (done.state, done.status, done.response) == ("done", 201, BODY)


def test_a_stored_response_survives_unicode_and_large_bodies(keys: IdempotencyService) -> None:
    body = '{"text": "caf\u00e9 \u2603 \U0001f600", "pad": "' + "x" * 200_000 + '"}'
    assert keys.begin("agent-1", "big", "fp") is None
    keys.finish("agent-1", "big", 200, body)
    assert keys.begin("agent-1", "big", "fp") == Replay(200, body)


def test_keys_belong_to_their_principal(keys: IdempotencyService) -> None:
    assert keys.begin("agent-1", "shared", "fp-a") is None
    assert keys.begin("agent-2", "shared", "fp-b") is None  # another caller: no collision
    keys.finish("agent-2", "shared", 200, "two")
    with pytest.raises(RequestInProgressError):
        keys.begin("agent-1", "shared", "fp-a")
    assert keys.begin("agent-2", "shared", "fp-b") == Replay(200, "two")


def test_a_key_reused_for_a_different_request_is_invalid_input(keys: IdempotencyService) -> None:
    assert keys.begin("agent-1", "key-1", "fp-a") is None
    with pytest.raises(InvalidInputError, match="Idempotency-Key was already used for a different request"):
        keys.begin("agent-1", "key-1", "fp-b")  # while the first still runs
    keys.finish("agent-1", "key-1", 201, BODY)
    with pytest.raises(InvalidInputError, match="different request") as info:
        keys.begin("agent-1", "key-1", "fp-b")  # and after it finished
    assert info.value.code == "invalid_input" and not info.value.retryable
    assert keys.begin("agent-1", "key-1", "fp-a") == Replay(201, BODY)  # the stored answer is intact


def test_a_retry_while_the_first_request_runs_is_a_retryable_conflict(
    keys: IdempotencyService, clock: ManualClock
) -> None:
    assert keys.begin("agent-1", "key-1", "fp") is None
    clock.advance(10)
    with pytest.raises(RequestInProgressError, match="still in progress") as info:
        keys.begin("agent-1", "key-1", "fp")
    error = info.value
    assert isinstance(error, ConflictError) and error.retryable is True and error.code == "conflict"
    assert error.to_dict()["retryable"] is True
    assert error.details["retry_after"] == pytest.approx(LEASE - 10)


def test_an_expired_key_is_a_new_request(maas: MaaS, keys: IdempotencyService, clock: ManualClock) -> None:
    assert keys.begin("agent-1", "key-1", "fp-a") is None
    keys.finish("agent-1", "key-1", 201, BODY)
    clock.advance(TTL - 1)
    assert keys.begin("agent-1", "key-1", "fp-a") == Replay(201, BODY)  # still remembered
    clock.advance(2)
    assert keys.begin("agent-1", "key-1", "fp-b") is None  # forgotten: even another request may use it
    record = _record(maas, "agent-1", "key-1")
    assert record is not None and (record.fingerprint, record.state, record.created_at) == ("fp-b", "pending", clock())


def test_a_stale_pending_key_is_taken_over(maas: MaaS, keys: IdempotencyService, clock: ManualClock) -> None:
    assert keys.begin("agent-1", "key-1", "fp") is None  # this request crashes: no finish, no abandon
    clock.advance(LEASE - 1)
    with pytest.raises(RequestInProgressError):
        keys.begin("agent-1", "key-1", "fp")
    clock.advance(2)
    assert keys.begin("agent-1", "key-1", "fp") is None  # the lease ran out: the retry takes over
    record = _record(maas, "agent-1", "key-1")
    assert record is not None and record.state == "pending" and record.created_at == clock()
    with pytest.raises(RequestInProgressError):  # and holds a fresh lease
        keys.begin("agent-1", "key-1", "fp")
    keys.finish("agent-1", "key-1", 200, "ok")
    clock.advance(LEASE * 10)  # a finished key outlives the lease: only the ttl ends it
    assert keys.begin("agent-1", "key-1", "fp") == Replay(200, "ok")


def test_abandon_frees_a_pending_key_but_keeps_a_finished_one(keys: IdempotencyService) -> None:
    assert keys.begin("agent-1", "key-1", "fp") is None
    keys.abandon("agent-1", "key-1")
    assert keys.begin("agent-1", "key-1", "fp") is None  # the retry runs the request
    keys.finish("agent-1", "key-1", 201, BODY)
    keys.abandon("agent-1", "key-1")
    assert keys.begin("agent-1", "key-1", "fp") == Replay(201, BODY)
    keys.abandon("agent-1", "never-used")  # nothing to do


def test_finish_never_overwrites_a_stored_response(keys: IdempotencyService) -> None:
    assert keys.begin("agent-1", "key-1", "fp") is None
    keys.finish("agent-1", "key-1", 201, "first")
    keys.finish("agent-1", "key-1", 500, "second")
    keys.finish("agent-1", "never-claimed", 200, "x")  # no row: nothing stored
    assert keys.begin("agent-1", "key-1", "fp") == Replay(201, "first")
    assert keys.begin("agent-1", "never-claimed", "fp") is None


def test_purge_deletes_only_keys_older_than_the_ttl(maas: MaaS, keys: IdempotencyService, clock: ManualClock) -> None:
    assert keys.begin("agent-1", "old-done", "fp") is None
    keys.finish("agent-1", "old-done", 200, "x")
    assert keys.begin("agent-1", "old-pending", "fp") is None
    clock.advance(TTL / 2)
    assert keys.begin("agent-1", "recent", "fp") is None
    clock.advance(TTL / 2 + 1)
    assert keys.purge() == 2
    assert _record(maas, "agent-1", "old-done") is None and _record(maas, "agent-1", "old-pending") is None
    assert _record(maas, "agent-1", "recent") is not None
    assert keys.purge() == 0


def test_the_service_writes_no_audit_entries(maas: MaaS, keys: IdempotencyService) -> None:
    before = maas.runtime.read(lambda tx: tx.count_audit())
    assert keys.begin("agent-1", "key-1", "fp") is None
    with pytest.raises(RequestInProgressError):
        keys.begin("agent-1", "key-1", "fp")
    with pytest.raises(InvalidInputError):
        keys.begin("agent-1", "key-1", "other")
    with pytest.raises(InvalidInputError):
        keys.begin("agent-1", "bad key", "fp")
    keys.finish("agent-1", "key-1", 200, "ok")
    keys.abandon("agent-1", "key-1")
    keys.purge()
    assert maas.runtime.read(lambda tx: tx.count_audit()) == before


@pytest.mark.parametrize(
    "bad",
    ["", "k" * 256, "has space", "new\nline", "tab\t", "\x00nul", "del\x7f", "caf\u00e9", " lead", None, 123, b"bytes"],
    ids=[
        "empty",
        "256-chars",
        "space",
        "newline",
        "tab",
        "nul",
        "del",
        "non-ascii",
        "leading-space",
        "none",
        "int",
        "bytes",
    ],
)
def test_a_malformed_key_is_invalid_input_naming_the_header(keys: IdempotencyService, bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="Idempotency-Key") as info:
        keys.begin("agent-1", bad, "fp")
    assert info.value.details["header"] == "Idempotency-Key"


def test_the_widest_valid_keys_pass() -> None:
    for key in ("k" * 255, "!", "~", "".join(chr(c) for c in range(0x21, 0x7F))):
        assert check_idempotency_key(key) == key


def test_malformed_principal_fingerprint_and_response_are_invalid_input(keys: IdempotencyService) -> None:
    for principal, fingerprint in (("", "fp"), (None, "fp"), ("agent-1", ""), ("agent-1", 7)):
        with pytest.raises(InvalidInputError):
            keys.begin(principal, "key-1", fingerprint)  # type: ignore[arg-type]
    assert keys.begin("agent-1", "key-1", "fp") is None
    for status, response in ((True, "x"), ("200", "x"), (200, None)):
        with pytest.raises(InvalidInputError):
            keys.finish("agent-1", "key-1", status, response)  # type: ignore[arg-type]


def test_ttl_and_lease_must_be_positive(maas: MaaS) -> None:
    for ttl, lease in ((0.0, 1.0), (1.0, -1.0), (float("nan"), 1.0)):
        with pytest.raises(InvalidInputError):
            IdempotencyService(maas.runtime, ttl=ttl, lease=lease)


# --- the port --------------------------------------------------------------------------------
def test_the_port_claims_once_and_rolls_back_with_its_transaction(maas: MaaS) -> None:
    backend = maas.backend
    first = IdempotencyRecord("p", "k", "fp", 10.0, "pending")
    with pytest.raises(RuntimeError), backend.transaction(write=True) as tx:
        assert tx.claim_idempotency(first) is True
        raise RuntimeError("the request failed before commit")
    with backend.transaction(write=False) as tx:
        assert tx.get_idempotency("p", "k") is None
    with backend.transaction(write=True) as tx:
        assert tx.claim_idempotency(first) is True
        assert tx.claim_idempotency(IdempotencyRecord("p", "k", "other", 11.0, "pending")) is False
        tx.finish_idempotency("p", "k", 204, "")
    with backend.transaction(write=False) as tx:
        assert tx.get_idempotency("p", "k") == IdempotencyRecord("p", "k", "fp", 10.0, "done", 204, "")
    with backend.transaction(write=True) as tx:
        tx.claim_idempotency(IdempotencyRecord("p", "k2", "fp", 20.0, "pending"))
        tx.drop_idempotency("p", "k")
        tx.drop_idempotency("p", "missing")
        assert tx.purge_idempotency(20.0) == 0  # strictly before
        assert tx.purge_idempotency(20.5) == 1
        assert tx.get_idempotency("p", "k") is None and tx.get_idempotency("p", "k2") is None


def test_records_survive_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    location = str(tmp_path / "home")
    with _open(location, clock) as maas:
        keys = IdempotencyService(maas.runtime)
        assert keys.begin("agent-1", "key-1", "fp") is None
        keys.finish("agent-1", "key-1", 201, BODY)
    with _open(location, clock) as maas:
        assert IdempotencyService(maas.runtime).begin("agent-1", "key-1", "fp") == Replay(201, BODY)


# --- races -----------------------------------------------------------------------------------
def test_eight_threads_race_for_one_key_and_exactly_one_proceeds(keys: IdempotencyService) -> None:
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(30)
        try:
            outcome = "claimed" if keys.begin("agent-1", "race", "fp") is None else "replay"
        except Exception as exc:
            outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["RequestInProgressError"] * 7 + ["claimed"], outcomes


_SPAWN = multiprocessing.get_context("spawn")


def _begin_in_child(location: str, barrier: Any, results: Any) -> None:
    """Open MaaS on ``location``, wait for the others, race for one key; report the outcome."""
    try:
        with _open(location) as maas:
            keys = IdempotencyService(maas.runtime)
            barrier.wait(120)
            try:
                outcome = "claimed" if keys.begin("agent-1", "race", "fp") is None else "replay"
            except RequestInProgressError:
                outcome = "in_progress"
        results.put(outcome)
    except BaseException as exc:
        results.put("error: " + "".join(traceback.format_exception(exc)))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_four_processes_race_for_one_key_and_exactly_one_proceeds(kind: str, tmp_path: Path) -> None:
    location = _location(kind, tmp_path)
    _open(location).close()  # create the schema once, so the children only race for the key
    barrier, results = _SPAWN.Barrier(4), _SPAWN.Queue()
    procs = [_SPAWN.Process(target=_begin_in_child, args=(location, barrier, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=180) for _ in procs]
    except queue.Empty:
        pytest.fail("a child process did not report back within 180 s")
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    assert sorted(outcomes) == ["claimed"] + ["in_progress"] * 3, outcomes
