/**
 * Everything the primary checks before a request reaches a page or a
 * worker: who the client is (trusted proxies), whether the route's rules let
 * it in, and whether a stream client fits in the limits. One instance lives
 * as long as the primary; a reload swaps its settings and rules at once.
 */
import { entryOf } from '../config/lookup.js';
import type { Socket } from 'node:net';
import type { AccessSettings } from '../config/access-types.js';
import type { RequestHead } from '../http/request-head.js';
import type { WorkerStats } from '../stats/types.js';
import { checkAccess, type AccessVerdict } from './access-check.js';
import { ClientLedger } from './limits.js';
import { PasswordVerifier } from './password-verifier.js';
import { compilePolicy, type AccessPolicy, type CompiledRules } from './policy.js';
import { refusal, RETRY_AFTER_SECONDS, type Refusal } from './refusal.js';
import { StreamRates } from './stream-rates.js';
import { clientAddress } from './trusted-proxy.js';

/** Which rules a route follows. */
export type AccessTarget = { kind: 'admin' } | { kind: 'page' } | { kind: 'stream'; name: string };

/** Workers measure rates over 5 s; sampling faster would not see more. */
const RATE_POLL_MS = 2000;

export class Gatekeeper {
  readonly ledger = new ClientLedger();
  private readonly rates = new StreamRates();
  private readonly verifier = new PasswordVerifier();
  private readonly rateTimer: NodeJS.Timeout;
  private polling = false;

  private constructor(
    private settings: AccessSettings,
    private policy: AccessPolicy,
    private readonly workerStats: () => Promise<WorkerStats[]>,
  ) {
    this.rateTimer = setInterval(() => this.pollRates(), RATE_POLL_MS);
    this.rateTimer.unref();
  }

  /** Throws VoyandzError ACCESS_FILE when a file the rules name cannot be used. */
  static async create(settings: AccessSettings, workerStats: () => Promise<WorkerStats[]>): Promise<Gatekeeper> {
    return new Gatekeeper(settings, await compilePolicy(settings), workerStats);
  }

  /** Reads the files of `settings` (SIGHUP: they may have changed); throws like create(). */
  prepare(settings: AccessSettings): Promise<AccessPolicy> {
    return compilePolicy(settings);
  }

  apply(settings: AccessSettings, policy: AccessPolicy): void {
    this.settings = settings;
    this.policy = policy;
  }

  get current(): AccessSettings {
    return this.settings;
  }

  /** The client's address: the peer's, or what a trusted proxy says it forwarded. */
  clientOf(socket: Socket, head: RequestHead): string {
    return clientAddress(socket.remoteAddress ?? '', head.headers, this.policy.trusted);
  }

  check(target: AccessTarget, head: RequestHead, client: string, decodedPath: string): AccessVerdict | Promise<AccessVerdict> {
    const query = head.target.indexOf('?');
    return checkAccess(
      this.rulesOf(target),
      {
        client,
        path: decodedPath,
        query: query < 0 ? '' : head.target.slice(query + 1),
        authorization: head.headers.authorization,
        route: head.path,
      },
      this.verifier,
      Math.floor(Date.now() / 1000),
    );
  }

  /** A slot for one more client of `stream`, or the refusal of the limit it would break. */
  admit(stream: string, client: string): { id: number } | Refusal {
    const s = this.settings;
    const admission = this.ledger.admit(
      { stream, client, bitsPerSecond: this.rates.of(stream) },
      { maxClients: s.maxClients, streamMaxClients: entryOf(s.streams, stream)?.maxClients ?? null, maxBandwidth: s.maxBandwidth, maxClientsPerIp: s.maxClientsPerIp },
      () => this.rates.inUse(this.ledger.streams()),
    );
    if (admission.ok) return { id: admission.id };
    let refused: Refusal;
    switch (admission.limit) {
      case 'max_clients':
        refused = refusal('max_clients', 'MAX_CLIENTS', admission.scope === 'server' ? 'the server' : `stream ${stream}`, String(admission.max));
        break;
      case 'max_bandwidth':
        refused = refusal('max_bandwidth', 'MAX_BANDWIDTH', stream, String(admission.max));
        break;
      case 'per_ip':
        refused = refusal('per_ip', 'MAX_CLIENTS_PER_IP', client, String(admission.max));
        break;
    }
    refused.response.headers['retry-after'] = String(RETRY_AFTER_SECONDS);
    return refused;
  }

  release(id: number): void {
    this.ledger.release(id);
  }

  /** The effective client limit of each stream with one (its own, else the server's), for the metrics. */
  streamLimits(streams: readonly string[]): Map<string, number> {
    const limits = new Map<string, number>();
    for (const name of streams) {
      const limit = entryOf(this.settings.streams, name)?.maxClients ?? this.settings.maxClients;
      if (limit !== null) limits.set(name, limit);
    }
    return limits;
  }

  async close(): Promise<void> {
    clearInterval(this.rateTimer);
    await this.verifier.close();
  }

  private rulesOf(target: AccessTarget): CompiledRules {
    if (target.kind === 'admin') return this.policy.admin;
    if (target.kind === 'stream') return this.policy.streams.get(target.name) ?? this.policy.server;
    return this.policy.server;
  }

  private pollRates(): void {
    if (this.settings.maxBandwidth === null || this.polling) return;
    this.polling = true;
    this.workerStats().then(
      (stats) => {
        this.polling = false;
        this.rates.update(stats);
      },
      () => {
        this.polling = false;
      },
    );
  }
}
