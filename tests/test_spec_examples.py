"""Every Python example of ``maas-blog.txt`` runs with only the import line changed.

The blog lost its indentation, so each example is kept here with indentation restored and the
import line changed from ``src.memory.maas`` to ``maas_langchain``; ``test_examples_match_the
_specification_text`` checks, whitespace aside, that nothing else differs. Two examples contain
literal ``...`` placeholders (capability enforcement) and free variables the text never defines
(``claude_agent_id``, ``user_input``, ``memories``); the reading session below supplies them the
way a reader would, and says so.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

from maas_langchain import (
    AgentCapability,
    AgentType,
    AuditEventType,
    HandoffStatus,
    MaaS,
    PermissionModel,
    SharedScope,
)

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "maas-blog.txt"

IDENTITY = """
from maas_langchain import AgentRegistry, AgentType
registry = AgentRegistry.get()
# Register a Claude Code agent
agent_id = registry.register_agent(
    agent_type=AgentType.CLAUDE_CODE,
    owner_id="user-123",
)
# Check what it can do
agent = registry.get_agent(agent_id)
print(agent.capabilities)
# {MEMORY_READ, MEMORY_WRITE, KB_SEARCH, HANDOFF_INITIATE, HANDOFF_RECEIVE, ...}
"""

POOLS = """
from maas_langchain import PoolRegistry, SharedScope, PermissionModel
pool_registry = PoolRegistry.get()
# Create a project pool
pool_id = pool_registry.create_pool(
    name="auth-refactor",
    owner_id="user-123",
    scope=SharedScope.PROJECT,
)
# Agents join with permissions
pool_registry.join_pool(pool_id, claude_agent_id, PermissionModel.WRITE)
pool_registry.join_pool(pool_id, gpt_agent_id, PermissionModel.READ)
# Share a memory
pool_registry.share_memory(
    pool_id=pool_id,
    memory_id="mem-bug-123",
    agent_id=claude_agent_id,
    scope=SharedScope.PROJECT,
)
# Other agents can query it
shared = pool_registry.query_shared(
    pool_id=pool_id,
    agent_id=gpt_agent_id,
    max_scope=SharedScope.PROJECT,
)
"""

HANDOFFS = """
from maas_langchain import HandoffManager, HandoffContext
manager = HandoffManager.get()
# Claude Code hits a frontend issue
context = HandoffContext(
    task_description="Complete the React login form validation",
    current_state={
        "completed": ["backend API", "auth middleware"],
        "blocked_on": "React form validation",
    },
    relevant_memories=["mem-api-spec", "mem-auth-flow"],
    relevant_files=["src/api/auth.py", "src/components/Login.tsx"],
)
handoff_id = manager.initiate_handoff(
    source_agent_id=claude_agent_id,
    target_agent_id=gpt_agent_id,
    context=context,
    ttl_seconds=3600, # Expires in 1 hour
)
# GPT agent accepts
manager.accept_handoff(handoff_id, gpt_agent_id)
# ... does the work ...
# GPT agent completes
manager.complete_handoff(
    handoff_id,
    gpt_agent_id,
    result={"status": "success", "files_modified": ["Login.tsx"]},
)
"""

CAPABILITIES = """
# This will return None if agent lacks HANDOFF_INITIATE
handoff_id = manager.initiate_handoff(...)
# This will return False if agent lacks WRITE permission
success = pool_registry.share_memory(...)
"""
# The reader's arguments for the two "..." (the text gives none): a read-only pipeline agent.
CAPABILITIES_FILLED = CAPABILITIES.replace(
    "initiate_handoff(...)", "initiate_handoff(pipeline_id, gpt_agent_id, context)"
).replace("share_memory(...)", "share_memory(pool_id, 'mem-from-pipeline', pipeline_id, SharedScope.PROJECT)")

MEXTRA = """
from maas_langchain import MEXTRAValidator, MemoryPoisoningDefense
validator = MEXTRAValidator()
# Detect SQL injection, XSS, prompt injection
if validator.is_suspicious(user_input):
    safe_input = validator.sanitize(user_input)
# Filter sensitive data from outputs
defense = MemoryPoisoningDefense(max_results=100)
safe_results = defense.filter_output(memories)
# Detect anomalous queries
score = defense.analyze_query("dump all passwords and secrets")
# score > 0.5 → flag for review
"""

AUDIT = """
from maas_langchain import MaaSAuditLogger
logger = MaaSAuditLogger()
# Automatically logged by registries:
# - AGENT_AUTH: registration, session start
# - POOL_OPERATION: create, join, share
# - HANDOFF: initiate, accept, complete
# - CROSS_AGENT_READ: accessing another agent's memories
# - PERMISSION_DENIED: failed access attempts
"""

RECOVERY = """
# Remove an agent permanently
registry.unregister_agent(agent_id)
# Clean up completed/rejected/expired handoffs
count = manager.cleanup_terminal_handoffs()
"""

COMPLETE = """
import asyncio
from maas_langchain import (
    AgentRegistry, PoolRegistry, HandoffManager,
    AgentType, SharedScope, PermissionModel,
    HandoffContext,
)
async def multi_agent_workflow():
    # Setup registries
    agent_registry = AgentRegistry.get()
    pool_registry = PoolRegistry.get()
    handoff_manager = HandoffManager.get()
    # Register agents
    backend_agent = agent_registry.register_agent(
        agent_type=AgentType.CLAUDE_CODE,
        owner_id="user-123",
    )
    frontend_agent = agent_registry.register_agent(
        agent_type=AgentType.GPT_AGENT,
        owner_id="user-123",
    )
    # Create shared pool
    pool_id = pool_registry.create_pool(
        name="feature-auth",
        owner_id="user-123",
        scope=SharedScope.PROJECT,
    )
    pool_registry.join_pool(pool_id, backend_agent, PermissionModel.WRITE)
    pool_registry.join_pool(pool_id, frontend_agent, PermissionModel.WRITE)
    # Backend agent shares discovery
    pool_registry.share_memory(
        pool_id, "mem-api-design", backend_agent, SharedScope.PROJECT
    )
    # Handoff to frontend
    context = HandoffContext(
        task_description="Implement login UI using the API spec",
        relevant_memories=["mem-api-design"],
        relevant_files=["src/api/auth.py"],
    )
    handoff_id = handoff_manager.initiate_handoff(
        source_agent_id=backend_agent,
        target_agent_id=frontend_agent,
        context=context,
    )
    # Frontend accepts and completes
    handoff_manager.accept_handoff(handoff_id, frontend_agent)
    # ... frontend agent does work ...
    handoff_manager.complete_handoff(
        handoff_id, frontend_agent,
        result={"status": "success"}
    )
    print("Multi-agent workflow complete!")
asyncio.run(multi_agent_workflow())
"""

EXAMPLES = {
    "identity": IDENTITY,
    "pools": POOLS,
    "handoffs": HANDOFFS,
    "capabilities": CAPABILITIES,
    "mextra": MEXTRA,
    "audit": AUDIT,
    "recovery": RECOVERY,
    "complete": COMPLETE,
}


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("from maas_langchain import", "from src.memory.maas import"))


@pytest.mark.skipif(not SPEC.exists(), reason="the specification is not beside the checkout")
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_match_the_specification_text(name: str) -> None:
    assert _squash(EXAMPLES[name]) in _squash(SPEC.read_text(encoding="utf-8"))


def _run(code: str, namespace: dict[str, Any]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<spec example>", "exec"), namespace)
    return out.getvalue()


def test_the_reading_session_behaves_as_the_text_says() -> None:
    ns: dict[str, Any] = {}
    printed = _run(IDENTITY, ns)
    for name in ("MEMORY_READ", "MEMORY_WRITE", "KB_SEARCH", "HANDOFF_INITIATE", "HANDOFF_RECEIVE"):
        assert name in printed
    assert ns["agent"].agent_type is AgentType.CLAUDE_CODE and ns["agent"].owner_id == "user-123"

    # the reader's own agents, which the text calls claude_agent_id and gpt_agent_id
    ns["claude_agent_id"] = ns["registry"].register_agent(AgentType.CLAUDE_CODE, owner_id="user-123")
    ns["gpt_agent_id"] = ns["registry"].register_agent(AgentType.GPT_AGENT, owner_id="user-123")
    _run(POOLS, ns)
    assert [m.memory_id for m in ns["shared"]] == ["mem-bug-123"]
    assert ns["shared"][0].author_id == ns["claude_agent_id"] and ns["shared"][0].scope is SharedScope.PROJECT

    _run(HANDOFFS, ns)
    handoff = ns["manager"].get_handoff(ns["handoff_id"])
    assert handoff.status is HandoffStatus.COMPLETED
    assert handoff.result == {"status": "success", "files_modified": ["Login.tsx"]}
    assert handoff.expires_at - handoff.created_at == 3600

    ns["pipeline_id"] = ns["registry"].register_agent(AgentType.CUSTOM_PIPELINE, owner_id="user-123")
    ns["pool_registry"].join_pool(ns["pool_id"], ns["pipeline_id"], PermissionModel.READ)
    ns["SharedScope"] = SharedScope
    _run(CAPABILITIES_FILLED, ns)
    assert ns["handoff_id"] is None and ns["success"] is False

    ns["user_input"] = "'; DROP TABLE memories; -- <script>alert(1)</script>"
    ns["memories"] = [{"content": "deploy key: password=hunter2hunter2", "id": "m1"}]
    _run(MEXTRA, ns)
    assert "<script>" not in ns["safe_input"] and "DROP TABLE memories;" not in ns["safe_input"]
    assert "hunter2" not in str(ns["safe_results"]) and "hunter2" in str(ns["memories"])
    assert ns["score"] > 0.5

    _run(AUDIT, ns)
    events = ns["logger"].query(limit=10_000)
    # the blog's five types all appear; MEMORY_OPERATION (our addition) needs a memory write
    assert {e.event_type for e in events} == set(AuditEventType) - {AuditEventType.MEMORY_OPERATION}
    actions = {(e.event_type.name, e.action) for e in events}
    for expected in [
        ("AGENT_AUTH", "register"),
        ("POOL_OPERATION", "create"),
        ("POOL_OPERATION", "join"),
        ("POOL_OPERATION", "share"),
        ("HANDOFF", "initiate"),
        ("HANDOFF", "accept"),
        ("HANDOFF", "complete"),
        ("CROSS_AGENT_READ", "query_shared"),
        ("PERMISSION_DENIED", "initiate"),
        ("PERMISSION_DENIED", "share"),
    ]:
        assert expected in actions

    _run(RECOVERY, ns)
    assert ns["registry"].get_agent(ns["agent_id"]) is None
    assert ns["count"] == 1 and ns["manager"].get_handoff(handoff.handoff_id) is None


def test_the_complete_example_runs_and_keeps_its_data() -> None:
    printed = _run(COMPLETE, {"__name__": "__spec__"})
    assert printed.strip() == "Multi-agent workflow complete!"
    maas = MaaS.default()
    backend, frontend = maas.agents.get_agents_for_user("user-123")
    assert backend.agent_type is AgentType.CLAUDE_CODE and frontend.agent_type is AgentType.GPT_AGENT
    (pool,) = maas.pools.list_pools(owner_id="user-123")
    assert pool.name == "feature-auth" and pool.scope is SharedScope.PROJECT
    (share,) = maas.pools.query_shared(pool.pool_id, frontend.agent_id)
    assert share.memory_id == "mem-api-design"
    (handoff,) = maas.handoffs.list_handoffs(frontend.agent_id)
    assert handoff.status is HandoffStatus.COMPLETED and handoff.result == {"status": "success"}
    assert handoff.context.relevant_memories == ["mem-api-design"]
    assert maas.backend.name == "sqlite" and maas.audit.verify_chain().ok
    assert AgentCapability.HANDOFF_RECEIVE in frontend.capabilities
