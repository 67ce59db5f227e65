"""The vector index and embedding model of one MaaS instance, opened lazily on first use."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from maas_langchain.core.memories import Embedder
from maas_langchain.core.ports.state import StateBackend
from maas_langchain.errors import NotSupportedError

__all__ = ["EmbedderAdapter", "Resources", "vector_spec"]


class EmbedderAdapter:
    """Any LangChain ``Embeddings`` with its model id and dimension (probed once)."""

    def __init__(self, embeddings: Any) -> None:
        from maas_langchain.embeddings import describe_embeddings

        self.embeddings = embeddings
        self.model_id, self.dimension = describe_embeddings(embeddings)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        from maas_langchain.embeddings import embed_in_batches

        return embed_in_batches(self.embeddings, texts)

    def embed_query(self, text: str) -> list[float]:
        return list(self.embeddings.embed_query(text))


def vector_spec(vectors: str | None, backend: StateBackend) -> str:
    """The vector index setting in force: ``vectors``, else ``$MAAS_VECTORS_URL``, else the
    backend's default (brute force in memory, a shared server required on PostgreSQL, Chroma)."""
    spec = vectors or os.environ.get("MAAS_VECTORS_URL") or None
    if spec is not None:
        return spec.strip()
    if backend.name == "memory":
        return "bruteforce"
    if backend.name == "postgres":
        return "shared-index-required"
    return "chroma"


class Resources:
    """The lazily opened vector index and embedding model of one instance (``spec``: see
    :func:`vector_spec`; ``home``: where an embedded index lives; ``embeddings``: a LangChain
    ``Embeddings`` or ``None`` for the packaged offline model).

    ``Resources.on_load``, if set, is called with the model id just before the packaged model
    is loaded, once per process (the ``maas`` command line prints a notice); never for an
    ``Embeddings`` the caller supplied."""

    on_load: ClassVar[Callable[[str], None] | None] = None

    def __init__(self, spec: str, home: Path | None, embeddings: Any) -> None:
        self.spec, self.home, self._embeddings = spec, home, embeddings
        self.index: Any = None
        self.embedder: Embedder | None = None
        self._lock = threading.Lock()

    def open_index(self) -> Any:
        if self.spec == "shared-index-required":
            raise NotSupportedError(
                "memories on PostgreSQL need a vector index every process shares: pass "
                "vectors='http://host:8000' (a `chroma run` server) to MaaS.open() or set MAAS_VECTORS_URL; "
                "vectors='bruteforce' searches exactly in each process (no server; fine for small stores); "
                "vectors='chroma' keeps an embedded index on this host only (one process)"
            )
        from maas_langchain.backends.vectors import open_vector_index

        with self._lock:
            if self.index is None:
                self.index = open_vector_index(self.spec, self.home)
            return self.index

    def open_embedder(self) -> Embedder:
        with self._lock:
            if self.embedder is None:
                embeddings = self._embeddings
                if embeddings is None:
                    embeddings = _packaged_embeddings(Resources.on_load)
                self.embedder = EmbedderAdapter(embeddings)
            return self.embedder

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
            self.index = None


_ANNOUNCE = threading.Lock()


def _packaged_embeddings(on_load: Callable[[str], None] | None) -> Any:
    """The packaged offline model; with ``on_load``, one that calls it just before the shared
    model is actually loaded (not when another instance loaded it already)."""
    from maas_langchain.embeddings import LocalMiniLMEmbeddings

    if on_load is None or LocalMiniLMEmbeddings.is_loaded():
        return LocalMiniLMEmbeddings()
    hook: Callable[[str], None] | None = on_load

    class AnnouncedMiniLM(LocalMiniLMEmbeddings):
        @classmethod
        def shared_model(cls) -> Any:
            nonlocal hook
            if hook is not None and not LocalMiniLMEmbeddings.is_loaded():
                with _ANNOUNCE:
                    announce, hook = hook, None
                if announce is not None:
                    announce(cls.model_id)
            return super().shared_model()

    return AnnouncedMiniLM()
