"""Benchmarks for maas_langchain.

``python -m benchmarks.core_bench`` measures the core operations (registry lookup, handoff
cycle, scoped pool query, concurrent writers) on every state backend; see ``benchmarks/README.md``.
"""
