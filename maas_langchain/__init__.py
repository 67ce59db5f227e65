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
    VectorStoreLockedError,
)
from maas_langchain.maas import MaaS

__version__ = "0.1.0"

__all__ = [
    "VectorStoreLockedError",
    "NotSupportedError",
    "EmbeddingDimensionError",
    "MemorySession",
    "Memory",
    "MemoryStatus",
    "RankingWeights",
    "RecallHit",
    "MemoryInput",
    "RecallItem",
    "RecallContext",
    "MaaSClient",
    "DEFAULT_CAPABILITIES",
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
    "EventKind",
    "EventService",
    "Handoff",
    "HandoffContext",
    "HandoffManager",
    "HandoffStatus",
    "InvalidInputError",
    "MEXTRAValidator",
    "MaaS",
    "MaaSAuditLogger",
    "MaaSError",
    "MaaSEvent",
    "Membership",
    "MemoryPoisoningDefense",
    "NotFoundError",
    "PermissionDeniedError",
    "PermissionModel",
    "PolicyViolationError",
    "Pool",
    "PoolRegistry",
    "PoolStatus",
    "SharedMemory",
    "SharedScope",
    "Subscription",
    "__version__",
]
