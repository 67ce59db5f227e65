"""maas_langchain — Memory as a Service for multi-agent systems.

Agents with identities and capabilities share memories through pools with scoped audiences,
and hand tasks to each other with a lifecycle and a TTL; every operation is checked and
audited. ``MaaS.open()`` keeps everything durable in ``./.maas/`` (or ``$MAAS_HOME``).

Example:
    >>> import tempfile
    >>> from maas_langchain import MaaS, AgentType, SharedScope, PermissionModel
    >>> with MaaS.open(tempfile.mkdtemp()) as maas:
    ...     a = maas.agents.register_agent(AgentType.CLAUDE_CODE, owner_id="user-123")
    ...     pool = maas.pools.create_pool("auth-refactor", owner_id="user-123")
    ...     maas.pools.join_pool(pool, a, PermissionModel.WRITE)
    True
"""

from maas_langchain.client import MaaSClient, RecallContext, RecallItem
from maas_langchain.core.agents import AgentRegistry
from maas_langchain.core.audit import ChainReport, MaaSAuditLogger
from maas_langchain.core.entities import FactSchema
from maas_langchain.core.entity_types import Extraction, Extractor
from maas_langchain.core.entity_views import EntityView, FactView, StateView
from maas_langchain.core.enums import (
    DEFAULT_CAPABILITIES,
    AgentCapability,
    AgentType,
    AuditEventType,
    EventKind,
    HandoffStatus,
    MemoryStatus,
    PermissionModel,
    PoolStatus,
    SharedScope,
)
from maas_langchain.core.events import EventService, Subscription
from maas_langchain.core.handoffs import HandoffManager
from maas_langchain.core.limits import CapacityLimits
from maas_langchain.core.memories import MemoryInput, RecallHit
from maas_langchain.core.pools import PoolRegistry
from maas_langchain.core.ranking import RankingWeights
from maas_langchain.core.records import (
    Agent,
    AuditEvent,
    Handoff,
    HandoffContext,
    MaaSEvent,
    Membership,
    Memory,
    MemorySession,
    Pool,
    SharedMemory,
)
from maas_langchain.core.reflection import Profile, Reflection
from maas_langchain.core.screening import MemoryPoisoningDefense, MEXTRAValidator
from maas_langchain.errors import (
    BackendUnavailableError,
    CapacityExceededError,
    ConflictError,
    EmbeddingDimensionError,
    InvalidInputError,
    MaaSError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    PolicyViolationError,
    StorageCorruptedError,
    StorageFullError,
    VectorStoreLockedError,
)
from maas_langchain.maas import MaaS

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentCapability",
    "AgentRegistry",
    "AgentType",
    "AuditEvent",
    "AuditEventType",
    "BackendUnavailableError",
    "CapacityExceededError",
    "CapacityLimits",
    "ChainReport",
    "ConflictError",
    "DEFAULT_CAPABILITIES",
    "EmbeddingDimensionError",
    "EntityView",
    "EventKind",
    "EventService",
    "Extraction",
    "Extractor",
    "FactSchema",
    "FactView",
    "Handoff",
    "HandoffContext",
    "HandoffManager",
    "HandoffStatus",
    "InvalidInputError",
    "LLMExtractor",
    "LLMSummarizer",
    "MEXTRAValidator",
    "MaaS",
    "MaaSAuditLogger",
    "MaaSCheckpointer",
    "MaaSClient",
    "MaaSError",
    "MaaSEvent",
    "MaaSStore",
    "MaaSToolkit",
    "MaaSWorker",
    "Membership",
    "Memory",
    "MemoryInput",
    "MemoryPoisoningDefense",
    "MemorySession",
    "MemoryStatus",
    "NotFoundError",
    "NotSupportedError",
    "PermissionDeniedError",
    "PermissionModel",
    "PolicyViolationError",
    "Pool",
    "PoolRegistry",
    "PoolStatus",
    "Profile",
    "RankingWeights",
    "RecallContext",
    "RecallHit",
    "RecallItem",
    "Reflection",
    "RuleExtractor",
    "SharedMemory",
    "SharedScope",
    "StateView",
    "StorageCorruptedError",
    "StorageFullError",
    "Subscription",
    "VectorStoreLockedError",
    "__version__",
    "create_maas_supervisor",
]


_LAZY = {
    "LLMExtractor": "maas_langchain.adapters.llm",
    "LLMSummarizer": "maas_langchain.adapters.llm",
    "MaaSToolkit": "maas_langchain.adapters.tools.langchain",
    "MaaSStore": "maas_langchain.adapters.langgraph.store",
    "MaaSCheckpointer": "maas_langchain.adapters.langgraph.checkpoint",
    "create_maas_supervisor": "maas_langchain.adapters.langgraph.supervisor",
    "MaaSWorker": "maas_langchain.adapters.langgraph.supervisor_worker",
    "RuleExtractor": "maas_langchain.core.extract_rules",
}
"""Framework classes loaded on first use, so ``import maas_langchain`` loads no LangGraph."""


def __getattr__(name: str) -> object:
    """The framework adapters (``MaaSToolkit``, ``MaaSStore``, ``MaaSCheckpointer``,
    ``create_maas_supervisor``, ``MaaSWorker``, ``LLMExtractor``, ``LLMSummarizer``) are imported
    on first use."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'maas_langchain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
