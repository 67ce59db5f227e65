"""Backends: adapters of the core ports. ``memory`` (reference), ``sqlite`` (default), ``postgres``;
vector indexes ``bruteforce`` and ``chroma`` (chosen by :func:`~maas_langchain.backends.vectors.open_vector_index`).
They import core ports and pure helpers only, never a core service (tests/test_architecture.py)."""
