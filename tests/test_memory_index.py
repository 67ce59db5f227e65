"""The vector index beside the relational store: embedded Chroma's lock, a ``chroma run``
server, crash healing, ``reindex``, and scale-out (PostgreSQL + server, several processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import postgres_url, require_postgres

from maas_langchain import MaaS, NotSupportedError
from maas_langchain.embeddings import HashingEmbeddings
from maas_langchain.errors import BackendUnavailableError

SCOPE = {"org": "acme", "project": "alpha"}


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def indexed_count(maas: MaaS) -> int:
    return maas.memories.sync.index.count(maas.memories._ready())


def test_embedded_chroma_is_the_default_and_a_second_process_gets_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with MaaS.open(home, embeddings=HashingEmbeddings()) as maas:
        maas.memories.remember("the cache is warmed at 06:00", scope=SCOPE)
        assert maas.status()["vectors"]["index"] == "chroma"
        assert (home / "chroma").is_dir()
        out = run_python(
            f"""
            from maas_langchain import MaaS, VectorStoreLockedError
            from maas_langchain.embeddings import HashingEmbeddings
            other = MaaS.open({str(home)!r}, embeddings=HashingEmbeddings())
            other.agents.list_agents()  # the relational store is shared by processes
            try:
                other.memories.recall("cache", scope={SCOPE!r})
            except VectorStoreLockedError as exc:
                print("LOCKED", exc.code, exc)
            """
        )
        assert "LOCKED backend_unavailable" in out.stdout, out.stderr[-2000:]
        assert f"process {os.getpid()}" in out.stdout
        assert "maas serve" in out.stdout and "http://" in out.stdout
    # after close the folder is free again
    with MaaS.open(home, embeddings=HashingEmbeddings()) as again:
        assert [h.memory.content for h in again.memories.recall("cache warmed", scope=SCOPE)] == [
            "the cache is warmed at 06:00"
        ]


def test_a_crash_between_database_and_index_write_heals_on_next_open(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = run_python(
        f"""
        import os
        from maas_langchain import MaaS
        from maas_langchain.core.memory_index import IndexSync
        from maas_langchain.embeddings import HashingEmbeddings
        maas = MaaS.open({str(home)!r}, embeddings=HashingEmbeddings())
        maas.memories.remember("written before the crash", scope={SCOPE!r})
        IndexSync.apply = lambda *a, **k: os._exit(9)   # die after the commit, before the index write
        maas.memories.remember("committed, never indexed", scope={SCOPE!r})
        """
    )
    assert out.returncode == 9, out.stderr[-2000:]
    with MaaS.open(home, embeddings=HashingEmbeddings()) as maas:
        assert maas.runtime.read(lambda tx: tx.dirty_memories(10)) == []
        assert indexed_count(maas) == 2
        dense = maas.memories.sync.index.query(maas.memories._ready(), HashingEmbeddings().embed_query("x"), 10)
        assert len(dense) == 2


def test_reindex_rebuilds_the_collection_from_stored_vectors(tmp_path: Path) -> None:
    with MaaS.open(tmp_path / "home", embeddings=HashingEmbeddings()) as maas:
        for i in range(30):
            maas.memories.remember(f"note number {i}", scope=SCOPE)
        maas.memories.forget(maas.memories.history(scope=SCOPE)[0].memory_id)
        collection = maas.memories._ready()
        maas.memories.sync.index.drop(collection)
        progress: list[int] = []
        assert maas.reindex(progress=progress.append) == 30
        assert sum(progress) == 30
        assert indexed_count(maas) == 29  # the forgotten one is not indexed


@pytest.mark.chroma_server
def test_chroma_server_mode(tmp_path: Path, chroma_server: str) -> None:
    with MaaS.open(tmp_path / "home", embeddings=HashingEmbeddings(), vectors=chroma_server) as maas:
        maas.memories.remember("deploys are frozen on Fridays", scope=SCOPE)
        assert maas.status()["vectors"]["index"] == chroma_server
        assert not (tmp_path / "home" / "chroma").exists()
        assert indexed_count(maas) == 1
        # a second process on the same store and server: no lock, sees the same memories
        out = run_python(
            f"""
            from maas_langchain import MaaS
            from maas_langchain.embeddings import HashingEmbeddings
            with MaaS.open({str(tmp_path / "home")!r}, embeddings=HashingEmbeddings(), vectors={chroma_server!r}) as m:
                m.memories.remember("second process note about Fridays", scope={SCOPE!r})
                print(sorted(h.memory.content for h in m.memories.recall("Fridays", scope={SCOPE!r})))
            """
        )
        assert "deploys are frozen on Fridays" in out.stdout and "second process note" in out.stdout, out.stderr
        assert indexed_count(maas) == 2


@pytest.mark.chroma_server
def test_two_stores_on_one_server_do_not_see_each_other(tmp_path: Path, chroma_server: str) -> None:
    a = MaaS.open(tmp_path / "a", embeddings=HashingEmbeddings(), vectors=chroma_server)
    b = MaaS.open(tmp_path / "b", embeddings=HashingEmbeddings(), vectors=chroma_server)
    try:
        a.memories.remember("only in store a", scope=SCOPE)
        assert a.memories._ready() != b.memories._ready()
        assert indexed_count(b) == 0
    finally:
        a.close()
        b.close()


def test_vectors_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAAS_VECTORS_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    with MaaS.open(tmp_path / "home", embeddings=HashingEmbeddings()) as maas:
        maas.agents.list_agents()  # opening and the core work without the index
        with pytest.raises(BackendUnavailableError, match=r"127\.0\.0\.1:9"):
            maas.memories.remember("needs the index", scope=SCOPE)
        assert maas.status()["counts"]["memories"] == 0


@pytest.mark.postgres
def test_postgres_without_a_shared_index_says_what_to_do(tmp_path: Path) -> None:
    require_postgres()
    with (
        MaaS.open(postgres_url(tmp_path), embeddings=HashingEmbeddings()) as maas,
        pytest.raises(NotSupportedError, match=r"vectors='http://host:8000'"),
    ):
        maas.memories.remember("x", scope=SCOPE)


@pytest.mark.postgres
@pytest.mark.chroma_server
def test_scale_out_postgres_and_chroma_server_across_processes(tmp_path: Path, chroma_server: str) -> None:
    require_postgres()
    url = postgres_url(tmp_path)
    code = f"""
        import sys
        from maas_langchain import MaaS, MemoryInput
        from maas_langchain.embeddings import HashingEmbeddings
        n = int(sys.argv[1])
        with MaaS.open({url!r}, embeddings=HashingEmbeddings(), vectors={chroma_server!r}) as m:
            m.memories.remember_many([MemoryInput(f"process {{n}} finding {{i}}", {{"org": "acme", "project": "alpha", "agent": f"p{{n}}"}}) for i in range(20)])
    """
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(n)], stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    for proc in procs:
        assert proc.wait(120) == 0, proc.stderr.read() if proc.stderr else ""
    with MaaS.open(url, embeddings=HashingEmbeddings(), vectors=chroma_server) as maas:
        hits = maas.memories.recall("finding", scope=SCOPE, top_k=200)
        assert len(hits) == 80
        worker = maas.memories.recall("finding", scope={**SCOPE, "agent": "p1"}, top_k=200)
        assert {h.memory.scope["agent"] for h in worker} == {"p1"}
        assert indexed_count(maas) == 80
