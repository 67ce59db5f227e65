"""Framework adapters: they translate a framework's calls into core service calls, never decide.

* :mod:`~maas_langchain.adapters.langgraph` — ``MaaSStore``, ``MaaSCheckpointer``, supervisor graphs.
* :mod:`~maas_langchain.adapters.tools` — the tool registry and the LangChain toolkit.
* :mod:`~maas_langchain.adapters.mcp` — the authenticated MCP server.
* :mod:`~maas_langchain.adapters.cli` — the ``maas`` command (with ``cli_serve`` and ``kb_cli``).
"""
