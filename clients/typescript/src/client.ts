/**
 * `MaaSClient`: the Spectron-style session API and every REST resource of `maas serve --http`.
 *
 * Options are camelCase and mapped to the server's snake_case fields; responses are the server's
 * JSON as the OpenAPI document types it (snake_case, {@link Schemas}). Request bodies are built
 * as the generated `components["schemas"][...]` types, so `tsc` fails when the client drifts
 * from `docs/openapi.json`.
 */

import { type EventStreamOptions, type MaaSEvent, eventStream } from "./events.js";
import { type CallOptions, type MaaSClientOptions, Transport, type WriteOptions } from "./http.js";
import type { components } from "./schema.js";

/** Every named schema of the OpenAPI document (`Schemas["Memory"]`, `Schemas["Handoff"]`...). */
export type Schemas = components["schemas"];
/** A dict scope such as `{ org: "acme", project: "q3", agent: "worker-1" }` (keys of the hierarchy). */
export type Scope = Record<string, string>;
/** Flat metadata of a memory. */
export type Metadata = Record<string, string | number | boolean | null>;
/** A moment: a `Date`, an ISO 8601 string, or epoch seconds (as in the Python client). */
export type Moment = Date | string | number;

export type Memory = Schemas["Memory"];
export type RememberedMemory = Schemas["RememberedMemory"];
export type RecalledMemory = Schemas["RecalledMemory"];
export type RecallResult = Schemas["RecallResult"];
export type SessionRecord = Schemas["Session"];
export type Reflection = Schemas["Reflection"];
export type Profile = Schemas["Profile"];
export type EntityState = Schemas["EntityState"];
export type Forgotten = Schemas["Forgotten"];
export type Agent = Schemas["Agent"];
export type PoolCreated = Schemas["PoolCreated"];
export type Membership = Schemas["Membership"];
export type MembershipEnded = Schemas["MembershipEnded"];
export type Share = Schemas["Share"];
export type SharedMemory = Schemas["SharedMemory"];
export type Handoff = Schemas["Handoff"];
export type AuditEntry = Schemas["AuditEntry"];
export type AuditReport = Schemas["AuditReport"];
export type CodeHit = Schemas["CodeHit"];
export type DecisionHit = Schemas["DecisionHit"];
export type IncidentHit = Schemas["IncidentHit"];
export type AgentType = Schemas["RegisterAgentArgs"]["agent_type"];
export type Capability = NonNullable<Schemas["RegisterAgentArgs"]["capabilities"]>[number];
export type SharedScopeName = NonNullable<Schemas["CreatePoolArgs"]["scope"]>;
export type Permission = NonNullable<Schemas["JoinPoolBody"]["permission"]>;

/** An ISO 8601 string for the server (`undefined` stays `undefined`). */
function iso(moment: Moment | undefined | null): string | undefined {
  if (moment === undefined || moment === null) return undefined;
  if (moment instanceof Date) return moment.toISOString();
  if (typeof moment === "number") return new Date(moment * 1000).toISOString();
  return moment;
}

/** One page of a listing. */
export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; `null` on the last one. */
  next_cursor: string | null;
}

/** A paginated listing: `for await (const item of paginator)` walks every page. */
export class Paginator<T> implements AsyncIterable<T> {
  constructor(
    private readonly fetchPage: (cursor: string | null) => Promise<Page<T>>,
    private readonly startCursor: string | null = null,
  ) {}

  /** The pages, in order, fetched as they are consumed. */
  async *pages(): AsyncGenerator<Page<T>> {
    let cursor = this.startCursor;
    do {
      const page = await this.fetchPage(cursor);
      yield page;
      cursor = page.next_cursor;
    } while (cursor !== null && cursor !== undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** Every item (at most `limit`). */
  async toArray(limit = Number.POSITIVE_INFINITY): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) {
      if (out.length >= limit) break;
      out.push(item);
    }
    return out;
  }
}

/** What a session's `recall` returns: the items, best first, and `formatted` text for a prompt. */
export class RecallContext {
  readonly query: string;
  readonly scope: Scope;
  readonly items: RecalledMemory[];
  /** The items as a numbered list ready to paste into a prompt (formatted by the server). */
  readonly formatted: string;

  constructor(result: Schemas["SessionRecallResult"]) {
    this.query = result.query;
    this.scope = result.scope;
    this.items = result.items;
    this.formatted = result.formatted;
  }

  get length(): number {
    return this.items.length;
  }

  toString(): string {
    return this.formatted;
  }
}

/** One memory of {@link Session.rememberMany}. */
export interface MemoryItem {
  content: string;
  /** knowledge (default), decision, incident, code, preference or another short label. */
  memoryCategory?: string | undefined;
  metadata?: Metadata | null | undefined;
}

/** A session bound to one scope and to the key's agent; every call uses it. */
export class Session {
  /** The session as the server last returned it. */
  record: SessionRecord;

  constructor(
    private readonly http: Transport,
    record: SessionRecord,
  ) {
    this.record = record;
  }

  get sessionId(): string {
    return this.record.session_id;
  }

  get scope(): Scope {
    return this.record.scope;
  }

  get agentId(): string | null {
    return this.record.agent_id;
  }

  get closed(): boolean {
    return this.record.closed_at !== null;
  }

  private get path(): { session_id: string } {
    return { session_id: this.record.session_id };
  }

  /** Store `content` at the session's scope; return the stored memory. Screening may store it
   * `quarantined` (never recalled). `supersedes`: a memory this one replaces. */
  async remember(
    options: MemoryItem & { supersedes?: string | null | undefined } & WriteOptions,
  ): Promise<Memory> {
    const body: Schemas["SessionRememberBody"] = {
      content: options.content,
      memory_category: options.memoryCategory,
      metadata: options.metadata,
      supersedes: options.supersedes,
    };
    return this.http.call("post", "/v1/sessions/{session_id}/remember", {
      path: this.path,
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** Store many memories in one transaction (all or none), in order. */
  async rememberMany(items: readonly MemoryItem[], options: WriteOptions = {}): Promise<Memory[]> {
    const body: Schemas["SessionRememberManyBody"] = {
      items: items.map(
        (item): Schemas["SessionMemoryItem"] => ({
          content: item.content,
          memory_category: item.memoryCategory,
          metadata: item.metadata,
        }),
      ),
    };
    const out = await this.http.call("post", "/v1/sessions/{session_id}/remember-many", {
      path: this.path,
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
    return out.memories;
  }

  /** The `topK` memories visible at the session's scope that best answer `query` (its own and
   * its ancestors' scopes, and its descendants'); `asOf`: what was current then. */
  async recall(
    options: { query: string; topK?: number | undefined; asOf?: Moment | undefined } & CallOptions,
  ): Promise<RecallContext> {
    const body: Schemas["SessionRecallBody"] = { query: options.query, top_k: options.topK, as_of: iso(options.asOf) };
    const out = await this.http.call("post", "/v1/sessions/{session_id}/recall", {
      path: this.path,
      body,
      signal: options.signal,
    });
    return new RecallContext(out);
  }

  /** Summarise what the session's scope knows about `query`, citing memory ids; `persist: true`
   * stores the summary as a `reflection` memory that later `profile()` calls include. */
  async reflect(
    options: { query: string; persist?: boolean | undefined; topK?: number | undefined } & WriteOptions,
  ): Promise<Reflection> {
    const body: Schemas["SessionReflectBody"] = { query: options.query, persist: options.persist, top_k: options.topK };
    return this.http.call("post", "/v1/sessions/{session_id}/reflect", {
      path: this.path,
      body,
      write: options.persist === true, // persisting writes a memory: send an Idempotency-Key
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** The session scope's consolidated view: current facts, recent memories by category, reflections. */
  async profile(options: { perCategory?: number | undefined } & CallOptions = {}): Promise<Profile> {
    const body: Schemas["SessionProfileBody"] = { per_category: options.perCategory };
    return this.http.call("post", "/v1/sessions/{session_id}/profile", {
      path: this.path,
      body,
      signal: options.signal,
    });
  }

  /** Entities with their attributes and relations at `scope` (default: the session's),
   * superseded values included (`attr.superseded_by.value` replaced `attr.value`). */
  async getState(
    options: {
      scope?: Scope | undefined;
      entity?: string | undefined;
      asOf?: Moment | undefined;
      history?: boolean | undefined;
    } & CallOptions = {},
  ): Promise<EntityState> {
    const body: Schemas["SessionGetStateBody"] = {
      scope: options.scope,
      entity: options.entity,
      as_of: iso(options.asOf),
      history: options.history,
    };
    return this.http.call("post", "/v1/sessions/{session_id}/state", {
      path: this.path,
      body,
      signal: options.signal,
    });
  }

  /** Read the session again from the server. */
  async refresh(options: CallOptions = {}): Promise<this> {
    this.record = await this.http.call("get", "/v1/sessions/{session_id}", { path: this.path, signal: options.signal });
    return this;
  }

  /** Close the session (idempotent). */
  async close(options: WriteOptions = {}): Promise<void> {
    this.record = await this.http.call("delete", "/v1/sessions/{session_id}", {
      path: this.path,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }
}

/** `client.sessions`. */
export class Sessions {
  constructor(private readonly http: Transport) {}

  /** Open a session at `scope` (one the key's agent may recall from). */
  async create(options: { scope: Scope } & WriteOptions): Promise<Session> {
    const body: Schemas["CreateSessionArgs"] = { scope: options.scope };
    const record = await this.http.call("post", "/v1/sessions", {
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
    return new Session(this.http, record);
  }

  /** A session the key's agent opened (`not_found` for any other, or a closed one). */
  async get(sessionId: string, options: CallOptions = {}): Promise<Session> {
    const record = await this.http.call("get", "/v1/sessions/{session_id}", {
      path: { session_id: sessionId },
      signal: options.signal,
    });
    return new Session(this.http, record);
  }
}

/** `client.memories`: memories at a scope per call (default: the key's scope floor or the agent's own scope). */
export class Memories {
  constructor(private readonly http: Transport) {}

  /** Store a memory at `scope`. */
  async remember(
    options: MemoryItem & { scope?: Scope | undefined } & WriteOptions,
  ): Promise<RememberedMemory> {
    const body: Schemas["RememberArgs"] = {
      content: options.content,
      category: options.memoryCategory,
      metadata: options.metadata,
      scope: options.scope,
    };
    return this.http.call("post", "/v1/memories", {
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** The `topK` memories at `scope` that best answer `query` (`{ scope, memories }`). */
  async recall(
    options: { query: string; scope?: Scope | undefined; topK?: number | undefined } & CallOptions,
  ): Promise<RecallResult> {
    const body: Schemas["RecallArgs"] = { query: options.query, scope: options.scope, top_k: options.topK };
    return this.http.call("post", "/v1/memories/recall", { body, signal: options.signal });
  }

  /** A memory by id (any status); `not_found` for one the agent may not read. */
  async get(memoryId: string, options: CallOptions = {}): Promise<Memory> {
    return this.http.call("get", "/v1/memories/{memory_id}", {
      path: { memory_id: memoryId },
      signal: options.signal,
    });
  }

  /** Mark a memory deleted (its author, or MEMORY_DELETE). */
  async forget(memoryId: string, options: WriteOptions = {}): Promise<Forgotten> {
    return this.http.call("delete", "/v1/memories/{memory_id}", {
      path: { memory_id: memoryId },
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** Every memory visible at `scope`, any status, oldest first, fetched `limit` per page. */
  history(
    options: { scope?: Scope | undefined; limit?: number | undefined; cursor?: string | undefined } & CallOptions = {},
  ): Paginator<Memory> {
    return new Paginator(async (cursor) => {
      const body: Schemas["MemoryHistoryArgs"] = { scope: options.scope, limit: options.limit, cursor };
      return this.http.call("post", "/v1/memories/history", { body, signal: options.signal });
    }, options.cursor ?? null);
  }

  /** Entities and facts at `scope`. */
  async getState(
    options: {
      scope?: Scope | undefined;
      entity?: string | undefined;
      asOf?: Moment | undefined;
      history?: boolean | undefined;
    } & CallOptions = {},
  ): Promise<EntityState> {
    const body: Schemas["GetStateArgs"] = {
      scope: options.scope,
      entity: options.entity,
      as_of: iso(options.asOf),
      history: options.history,
    };
    return this.http.call("post", "/v1/state", { body, signal: options.signal });
  }

  /** The consolidated view of `scope`. */
  async profile(
    options: { scope?: Scope | undefined; perCategory?: number | undefined } & CallOptions = {},
  ): Promise<Profile> {
    const body: Schemas["ProfileArgs"] = { scope: options.scope, per_category: options.perCategory };
    return this.http.call("post", "/v1/profile", { body, signal: options.signal });
  }

  /** Summarise what `scope` knows about `query`. */
  async reflect(
    options: {
      query: string;
      scope?: Scope | undefined;
      persist?: boolean | undefined;
      topK?: number | undefined;
    } & WriteOptions,
  ): Promise<Reflection> {
    const body: Schemas["ReflectArgs"] = {
      query: options.query,
      scope: options.scope,
      persist: options.persist,
      top_k: options.topK,
    };
    return this.http.call("post", "/v1/reflect", {
      body,
      write: options.persist === true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }
}

/** `client.pools`: shared memory pools (membership by invitation of an ADMIN). */
export class Pools {
  constructor(private readonly http: Transport) {}

  /** Create a pool for the agent's user; the agent joins it as ADMIN. */
  async create(
    options: { name: string; ownerId?: string | undefined; scope?: SharedScopeName | undefined } & WriteOptions,
  ): Promise<PoolCreated> {
    const body: Schemas["CreatePoolArgs"] = { name: options.name, owner_id: options.ownerId, scope: options.scope };
    return this.http.call("post", "/v1/pools", {
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** As the pool's ADMIN, add `agentId` or change its permission (read, write, admin). */
  async join(
    poolId: string,
    options: { agentId?: string | undefined; permission?: Permission | undefined } & WriteOptions = {},
  ): Promise<Membership> {
    const body: Schemas["JoinPoolBody"] = { agent_id: options.agentId, permission: options.permission };
    return this.http.call("post", "/v1/pools/{pool_id}/members", {
      path: { pool_id: poolId },
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** Leave the pool (`agentId`: the key's own agent) or, as ADMIN, remove another member. */
  async leave(poolId: string, agentId: string, options: WriteOptions = {}): Promise<MembershipEnded> {
    return this.http.call("delete", "/v1/pools/{pool_id}/members/{agent_id}", {
      path: { pool_id: poolId, agent_id: agentId },
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** Share a memory into the pool: `memoryId` (one the agent wrote) or `content` (stored and shared). */
  async share(
    poolId: string,
    options: {
      memoryId?: string | undefined;
      content?: string | undefined;
      memoryCategory?: string | undefined;
      scope?: SharedScopeName | undefined;
    } & WriteOptions,
  ): Promise<Share> {
    const body: Schemas["ShareMemoryToScopeBody"] = {
      memory_id: options.memoryId,
      content: options.content,
      category: options.memoryCategory,
      scope: options.scope,
    };
    return this.http.call("post", "/v1/pools/{pool_id}/shares", {
      path: { pool_id: poolId },
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** The memories shared in the pool that the agent may see, newest first. */
  async queryShared(
    poolId: string,
    options: { maxScope?: SharedScopeName | undefined; limit?: number | undefined } & CallOptions = {},
  ): Promise<SharedMemory[]> {
    const out = await this.http.call("get", "/v1/pools/{pool_id}/shares", {
      path: { pool_id: poolId },
      query: { max_scope: options.maxScope, limit: options.limit },
      signal: options.signal,
    });
    return out.memories;
  }
}

/** What the target of a handoff needs to continue the task. */
export interface HandoffContextInput {
  taskDescription: string;
  currentState?: Record<string, unknown> | undefined;
  relevantMemories?: string[] | undefined;
  relevantFiles?: string[] | undefined;
  notes?: Record<string, unknown> | undefined;
}

/** `client.handoffs`: hand a task to another agent of the same user. */
export class Handoffs {
  constructor(private readonly http: Transport) {}

  /** Hand a task to `targetId`; the handoff is `pending` until the target accepts it. */
  async initiate(
    options: { targetId: string; context: HandoffContextInput; ttlSeconds?: number | undefined } & WriteOptions,
  ): Promise<Handoff> {
    const context: Schemas["HandoffContextArgs"] = {
      task_description: options.context.taskDescription,
      current_state: options.context.currentState,
      relevant_memories: options.context.relevantMemories,
      relevant_files: options.context.relevantFiles,
      notes: options.context.notes,
    };
    const body: Schemas["InitiateHandoffArgs"] = {
      target_id: options.targetId,
      context,
      ttl_seconds: options.ttlSeconds,
    };
    return this.http.call("post", "/v1/handoffs", {
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** Accept a pending handoff addressed to the agent. */
  async accept(handoffId: string, options: WriteOptions = {}): Promise<Handoff> {
    const body: Schemas["AcceptHandoffBody"] = {};
    return this.http.call("post", "/v1/handoffs/{handoff_id}/accept", {
      path: { handoff_id: handoffId },
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** Decline a handoff addressed to the agent (pending or accepted). */
  async reject(handoffId: string, options: { reason?: string | undefined } & WriteOptions = {}): Promise<Handoff> {
    const body: Schemas["RejectHandoffBody"] = { reason: options.reason };
    return this.http.call("post", "/v1/handoffs/{handoff_id}/reject", {
      path: { handoff_id: handoffId },
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** Finish a handoff the agent accepted, with a JSON result for its source. */
  async complete(
    handoffId: string,
    options: { result?: Record<string, unknown> | undefined } & WriteOptions = {},
  ): Promise<Handoff> {
    const body: Schemas["CompleteHandoffBody"] = { result: options.result };
    return this.http.call("post", "/v1/handoffs/{handoff_id}/complete", {
      path: { handoff_id: handoffId },
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** Withdraw an open handoff the agent initiated. */
  async cancel(handoffId: string, options: { reason?: string | undefined } & WriteOptions = {}): Promise<Handoff> {
    const body: Schemas["CancelHandoffBody"] = { reason: options.reason };
    return this.http.call("post", "/v1/handoffs/{handoff_id}/cancel", {
      path: { handoff_id: handoffId },
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** A handoff the agent initiated or received. */
  async get(handoffId: string, options: CallOptions = {}): Promise<Handoff> {
    return this.http.call("get", "/v1/handoffs/{handoff_id}", {
      path: { handoff_id: handoffId },
      signal: options.signal,
    });
  }

  /** The pending, unexpired handoffs waiting for the agent, oldest first. */
  async pending(options: CallOptions = {}): Promise<Handoff[]> {
    const out = await this.http.call("get", "/v1/handoffs/pending", { signal: options.signal });
    return out.handoffs;
  }
}

/** `client.agents`: agents of the key's user. */
export class Agents {
  constructor(private readonly http: Transport) {}

  /** Register an agent for the key's user (at most the caller's capabilities). */
  async register(
    options: {
      agentType: AgentType;
      ownerId?: string | undefined;
      name?: string | undefined;
      capabilities?: Capability[] | undefined;
    } & WriteOptions,
  ): Promise<Agent> {
    const body: Schemas["RegisterAgentArgs"] = {
      agent_type: options.agentType,
      owner_id: options.ownerId,
      name: options.name,
      capabilities: options.capabilities,
    };
    return this.http.call("post", "/v1/agents", {
      body,
      write: true,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
  }

  /** An agent of the key's user, by id. */
  async get(agentId: string, options: CallOptions = {}): Promise<Agent> {
    return this.http.call("get", "/v1/agents/{agent_id}", { path: { agent_id: agentId }, signal: options.signal });
  }

  /** The agents of the key's user (`userId` must be that user), oldest first. */
  async list(options: { userId?: string | undefined } & CallOptions = {}): Promise<Agent[]> {
    const out = await this.http.call("get", "/v1/agents", { query: { user_id: options.userId }, signal: options.signal });
    return out.agents;
  }
}

/** `client.kb`: the knowledge bases (code, decisions, incidents); needs KB_SEARCH. */
export class KnowledgeBases {
  constructor(private readonly http: Transport) {}

  async searchCode(
    options: {
      query: string;
      limit?: number | undefined;
      serviceFilter?: string | string[] | undefined;
    } & CallOptions,
  ): Promise<CodeHit[]> {
    const body: Schemas["SearchCodeKBArgs"] = {
      query: options.query,
      limit: options.limit,
      service_filter: options.serviceFilter,
    };
    const out = await this.http.call("post", "/v1/kb/code/search", { body, signal: options.signal });
    return out.results;
  }

  async searchDecisions(
    options: { query: string; limit?: number | undefined; topicFilter?: string | string[] | undefined } & CallOptions,
  ): Promise<DecisionHit[]> {
    const body: Schemas["SearchDecisionsArgs"] = {
      query: options.query,
      limit: options.limit,
      topic_filter: options.topicFilter,
    };
    const out = await this.http.call("post", "/v1/kb/decisions/search", { body, signal: options.signal });
    return out.results;
  }

  async searchIncidents(
    options: {
      query: string;
      limit?: number | undefined;
      serviceFilter?: string | string[] | undefined;
    } & CallOptions,
  ): Promise<IncidentHit[]> {
    const body: Schemas["SearchIncidentsArgs"] = {
      query: options.query,
      limit: options.limit,
      service_filter: options.serviceFilter,
    };
    const out = await this.http.call("post", "/v1/kb/incidents/search", { body, signal: options.signal });
    return out.results;
  }
}

/** `client.audit`: the audit log (HUMAN agents; entries of their owner's agents). */
export class Audit {
  constructor(private readonly http: Transport) {}

  /** Matching entries, oldest first, fetched `limit` per page. */
  query(
    options: {
      eventType?: string | undefined;
      action?: string | undefined;
      actor?: string | undefined;
      target?: string | undefined;
      outcome?: string | undefined;
      since?: Moment | undefined;
      until?: Moment | undefined;
      limit?: number | undefined;
      cursor?: string | undefined;
    } & CallOptions = {},
  ): Paginator<AuditEntry> {
    return new Paginator(async (cursor) => {
      const body: Schemas["AuditQueryArgs"] = {
        event_type: options.eventType,
        action: options.action,
        actor: options.actor,
        target: options.target,
        outcome: options.outcome,
        since: iso(options.since),
        until: iso(options.until),
        limit: options.limit,
        cursor,
      };
      return this.http.call("post", "/v1/audit/query", { body, signal: options.signal });
    }, options.cursor ?? null);
  }

  /** Verify the audit chain (`intact` is true when no entry was changed, removed or re-ordered). */
  async verify(options: CallOptions = {}): Promise<AuditReport> {
    return this.http.call("get", "/v1/audit/verify", { signal: options.signal });
  }
}

/**
 * The client of `maas serve --http`. Every call acts as the agent of `apiKey`.
 *
 * @example
 * const client = new MaaSClient({ baseUrl: "http://127.0.0.1:8765", apiKey: process.env.MAAS_API_KEY });
 * const session = await client.sessions.create({ scope: { org: "acme", project: "q3" } });
 * await session.remember({ content: "Competitor X raised prices by 20% in Q2." });
 * console.log((await session.recall({ query: "competitor pricing" })).formatted);
 * await session.close();
 */
export class MaaSClient {
  readonly sessions: Sessions;
  readonly memories: Memories;
  readonly pools: Pools;
  readonly handoffs: Handoffs;
  readonly agents: Agents;
  readonly kb: KnowledgeBases;
  readonly audit: Audit;
  /** The HTTP layer (base URL, retries); `transport.call(...)` reaches any operation. */
  readonly transport: Transport;

  /** `baseUrl` defaults to `$MAAS_BASE_URL`, `apiKey` to `$MAAS_API_KEY` (where `process` exists). */
  constructor(options: MaaSClientOptions = {}) {
    this.transport = new Transport(options);
    this.sessions = new Sessions(this.transport);
    this.memories = new Memories(this.transport);
    this.pools = new Pools(this.transport);
    this.handoffs = new Handoffs(this.transport);
    this.agents = new Agents(this.transport);
    this.kb = new KnowledgeBases(this.transport);
    this.audit = new Audit(this.transport);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /**
   * The event stream (`GET /v1/events`): what the key's agent may see, as an async iterator.
   * It reconnects with `Last-Event-ID` after a dropped connection and ends when `signal` aborts
   * (or the loop is left).
   *
   * @example
   * const stop = new AbortController();
   * for await (const event of client.events({ kinds: ["handoff.initiated"], signal: stop.signal })) {
   *   console.log(event.seq, event.kind, event.data);
   * }
   */
  events(options: EventStreamOptions = {}): AsyncGenerator<MaaSEvent> {
    return eventStream(this.transport, options);
  }
}
