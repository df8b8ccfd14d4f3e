/**
 * The composition root of a node: measures it, runs the (unchanged) sans-IO gossip core on a real
 * clock over the authenticated UDP transport, and serves the control API. Nothing here decides
 * anything the cores decide; it only wires, schedules, counts and logs.
 */
import { dirname, join } from 'node:path';
import { randomInt } from 'node:crypto';
import os from 'node:os';
import type { Clock } from '../core/clock.js';
import { seededRandom } from '../core/random.js';
import { decodeWindow, encodeWindow } from '../gossip/codec.js';
import { encodeWindowWithin } from '../gossip/fit-window.js';
import { GossipNode } from '../gossip/node.js';
import { GOSSIP_VERSION, NodeFlags } from '../gossip/types.js';
import type { Effect, NodeRecord } from '../gossip/types.js';
import {
  formatHostPort,
  gossipAddress,
  parseHostPort,
  splitGossipAddress,
} from '../platform/address.js';
import type { HostPort } from '../platform/address.js';
import { SealCounter, deriveAuthKey } from '../platform/auth-codec.js';
import type { DropReason } from '../platform/auth-codec.js';
import type { Logger } from '../platform/logger.js';
import { systemClock } from '../platform/system-clock.js';
import { cpuCount, readMemory, readRunQueue } from '../platform/system-info.js';
import { UdpTransport } from '../platform/udp-transport.js';
import type { DaemonConfig, LoadedConfig } from './config.js';
import { ControlServer } from './control-server.js';
import type { ControlRequest, NodeView, StatsResult, StatusResult } from './control-protocol.js';
import { advanceEpoch } from './epoch.js';
import { RELEASE_ALL, Reservations, reservationIdProblem } from './reservations.js';
import { NodeSampler, statusWords } from './measure/sampler.js';
import { measureSpeed, raisedSpeed } from './measure/speed.js';
import { PeriodicTask } from './scheduler.js';
import { OsmoError } from '../core/errors.js';
import { labelProblem } from '../core/labels.js';
import { deriveLinkKey } from '../link/index.js';
import { runnerUserIds } from '../platform/users.js';
import { decideAdmission } from './admission.js';
import { GuestRegistry } from './guest-registry.js';
import { Evictions } from './evictions.js';
import type { AdmitRequest } from './admission.js';
import { ADMIN_ACTIONS } from './control-protocol.js';
import type {
  AdminAction,
  AdminResult,
  BestResult,
  PlaceResult,
  ProcessesResult,
  WithdrawResult,
} from './control-protocol.js';
import { gatherProcesses, homeProcesses, uidArgument } from './cluster-processes.js';
import { PeerLinks, PeerService, askPeer } from './peer-service.js';
import { RunnerPool } from './runner-pool.js';
import { daemonMetrics } from './metrics.js';
import type { MetricsSource } from './metrics.js';
import { MetricsServer } from './metrics-server.js';
import { HomeBalancer } from './home-balancer.js';
import { DEFAULT_BALANCE_SETTINGS } from '../balance/policy.js';
import type { NodeView as PolicyNodeView } from '../balance/policy.js';
import { nodeViewOf } from '../balance/node-view.js';
import { isQueueLength } from '../balance/consent.js';
import { requireSameOwner } from './same-owner.js';
import { MailboxRelay } from './mailbox-relay.js';
import { NativeTickets } from './native-tickets.js';
import { decideNative } from './native-admission.js';
import type { NativeRequest } from './native-admission.js';
import { counted } from '../core/counted.js';

/** After start-up the speed is measured again this many times, this far apart. */
const SPEED_RECHECKS = 10;
const SPEED_RECHECK_INTERVAL_MS = 60_000;

const DROP_TEXT: Record<DropReason, string | undefined> = {
  'unknown-key': 'bad MAC (wrong cluster secret?)',
  'bad-mac': 'bad MAC (forged or corrupted datagram)',
  replayed: 'replayed (counter not fresh)',
  oversized: 'oversized (over maxDatagramBytes)',
  truncated: 'truncated (not an Osmosis gossip datagram?)',
  'bad-magic': 'bad magic (not an Osmosis gossip datagram)',
  'bad-version': 'unsupported datagram version (mixed Osmosis versions?)',
  malformed: 'authentic but malformed window',
  own: undefined,
  'bad-address': 'bad peer address (check peers / mapFile)',
};

function advertisedHost(listen: HostPort): string {
  if (listen.host !== '0.0.0.0' && listen.host !== '::') return listen.host;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

interface Remembered {
  alive: boolean;
  record: NodeRecord;
  /** Local-clock time the entry was born (now − age). */
  birth: number;
}

export interface DaemonOptions {
  readonly log: Logger;
  readonly clock?: Clock;
}

export class Daemon {
  private readonly tasks: PeriodicTask[] = [];
  private readonly known = new Map<number, Remembered>();
  /** The cluster of every known node, by name: the balancer's links are learnt per cluster. */
  private readonly clusterByName = new Map<string, string>();
  private readonly malformed: Record<string, number> = {};
  /** Windows cut to fit maxDatagramBytes (gossip/fit-window.ts). */
  private windowsCut = 0;
  private readonly dropLog = new Map<
    string,
    { count: number; lastAt: number; from: string; reason: DropReason }
  >();
  private readonly startedAt: number;
  private stopping: Promise<void> | undefined;
  /** Guests asked to leave: osmo ctl expel, the priority method (evictions.ts). */
  private evictions!: Evictions;
  /** Holders of this node for work outside Osmosis (osmo ctl reserve, osmo slurm prolog). */
  private reservations!: Reservations;
  /** Proofs of who asks for a native program (osmo run -E); made on first use. */
  private ticketBook: NativeTickets | undefined;
  private mailboxRelay: MailboxRelay | undefined;
  private runners: RunnerPool | undefined;
  private balancer: HomeBalancer | undefined;
  private peers: PeerService | undefined;
  /** The control API for every local user (config usersSocket), administration refused. */
  private usersControl: ControlServer | undefined;
  private linkKey: Buffer = Buffer.alloc(0);
  /** Prometheus's endpoint (config metricsListen). */
  private metrics: MetricsServer | undefined;
  /** Programs of other homes this node admitted or refused (metrics). */
  private readonly admissions = { admitted: 0, refused: 0 };
  /** host:port other nodes reach this one at. */
  private advertised: HostPort = { host: '127.0.0.1', port: 0 };

  private constructor(
    readonly config: DaemonConfig,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly transport: UdpTransport,
    private readonly gossip: GossipNode,
    private readonly sampler: NodeSampler,
    private control: ControlServer | undefined,
  ) {
    this.startedAt = clock.now();
  }

  static async start(loaded: LoadedConfig, options: DaemonOptions): Promise<Daemon> {
    const { config, secret } = loaded;
    const clock = options.clock ?? systemClock;
    const log = options.log;
    const epoch = advanceEpoch(config.stateDir, Date.now() / 1000);
    const reservations = new Reservations(config.stateDir);
    const cpus = config.cpus > 0 ? config.cpus : cpuCount();
    let speed = config.speed;
    if (speed === 0) {
      const measured = measureSpeed(() => clock.now());
      speed = measured.speed;
      log.info('measured CPU speed', {
        speed,
        iterationsPerMs: Math.round(measured.iterationsPerMs),
        benchmarkMs: Math.round(measured.elapsedMs),
      });
    }
    // The transport's drop callback needs the daemon, which needs the transport.
    const ref: { daemon?: Daemon } = {};
    // Several nodes on one host share its kernel run queue: then count Osmosis programs.
    const osmosisRunQueue = (): number => ref.daemon?.osmosisRunQueue() ?? 0;
    const sampler = new NodeSampler(
      {
        readRunQueue: config.loadSource === 'osmosis' ? osmosisRunQueue : readRunQueue,
        readMemory,
      },
      {
        cpus,
        speed,
        maxGuests: config.maxGuests > 0 ? config.maxGuests : 4 * cpus,
        acceptGuests: config.acceptGuests,
        native: config.native,
      },
    );
    const advertise: HostPort = config.advertise ?? {
      host: advertisedHost(config.listen),
      port: config.listen.port,
    };
    const transport = await UdpTransport.open({
      listen: config.listen,
      localAddress: gossipAddress(config.name, advertise),
      key: deriveAuthKey(secret),
      senderId: config.id,
      counter: new SealCounter(epoch),
      maxDatagramBytes: config.maxDatagramBytes,
      discovery: config.discovery ? config.discoveryAddress : undefined,
      onDrop: (from, reason) => ref.daemon?.noteDrop(from, reason),
    });
    // Port 0 means "any": advertise what the kernel chose.
    const boundAdvertise =
      advertise.port === 0 ? { ...advertise, port: transport.boundPort } : advertise;
    const address = gossipAddress(config.name, boundAdvertise);
    const gossip = new GossipNode(
      {
        id: config.id,
        cluster: config.cluster,
        address,
        info: sampler.info(),
        intervalMs: config.gossipIntervalMs,
        window:
          config.windowMaxAgeMs === undefined
            ? { kind: 'fixed', size: config.windowSize }
            : {
                kind: 'threshold',
                thresholdMs: config.windowMaxAgeMs,
                maxEntries: config.windowSize,
              },
        maxAgeMs: config.maxAgeMs,
        ownClusterProbability: config.ownClusterProbability,
        anyNodeProbability: config.anyNodeProbability,
        transitEstimateMs: config.transitEstimateMs,
        seeds: config.peers.map(formatHostPort),
      },
      seededRandom(randomInt(0, 2 ** 32 - 1), config.id),
    );
    const d = new Daemon(config, log, clock, transport, gossip, sampler, undefined);
    ref.daemon = d;
    d.reservations = reservations;
    sampler.isReserved = () => reservations.reserved;
    if (reservations.reserved)
      log.info('node reserved from before a restart', {
        reservations: reservations.list().map((r) => r.id),
      });
    d.balancer = new HomeBalancer({
      clock,
      random: seededRandom(randomInt(0, 2 ** 32 - 1), config.id ^ 0x5bd1e995),
      log: log.child({ component: 'balancer' }),
      home: config.name,
      enabled: config.balance,
      intervalMs: config.balanceIntervalMs,
      // Gossip carries it within ~2 intervals; the smoothed load reaches ~85 % of a step in 4 samples.
      settleMs: 2 * config.gossipIntervalMs + 4 * config.loadSampleIntervalMs,
      settings: {
        ...DEFAULT_BALANCE_SETTINGS,
        home: config.name,
        minResidencyMs: config.minResidencyMs,
        linkBytesPerSec: (config.linkMbit * 1e6) / 8,
      },
      links: {
        clusterOf: (node) => d.clusterOf(node),
        otherClusterBytesPerSec: (config.otherClusterLinkMbit * 1e6) / 8,
      },
      view: () => d.policyView(),
      maxLocalProcesses: config.maxLocalProcesses,
      frozenTurnMs: config.frozenTurnMs,
    });
    d.linkKey = deriveLinkKey(secret, 'node');
    d.advertised = boundAdvertise;
    transport.onReceive((from, bytes) => d.onDatagram(from, bytes));
    try {
      await d.startGuestService(log);
      const onUndelivered = (r: ControlRequest, result: unknown): void => d.undelivered(r, result);
      d.control = await ControlServer.listen(
        config.controlSocket,
        (r) => d.handle(r),
        log.child({ component: 'control' }),
        { onUndelivered },
      );
      if (config.usersSocket !== undefined) {
        d.usersControl = await ControlServer.listen(
          config.usersSocket,
          (r) => d.handle(r),
          log.child({ component: 'control', socket: 'users' }),
          { forUsers: true, onUndelivered },
        );
      }
      if (config.metricsListen !== undefined)
        d.metrics = await MetricsServer.listen(
          config.metricsListen,
          daemonMetrics(d.metricsSource()),
        );
    } catch (e) {
      await d.control?.close();
      await d.usersControl?.close();
      d.runners?.stop();
      await d.peers?.close();
      await transport.close();
      throw e;
    }
    const onError = (what: string) => (e: unknown) =>
      log.error(`${what} failed`, { error: e instanceof Error ? e.message : String(e) });
    d.tasks.push(
      new PeriodicTask(
        clock,
        config.gossipIntervalMs,
        Math.random(),
        (now) => d.onTick(now),
        onError('gossip tick'),
      ),
    );
    d.tasks.push(
      new PeriodicTask(
        clock,
        config.loadSampleIntervalMs,
        Math.random(),
        () => d.sampler.sample(),
        onError('load sample'),
      ),
    );
    d.tasks.push(
      new PeriodicTask(
        clock,
        config.balanceIntervalMs,
        Math.random(),
        () => {
          void d.balancer?.tick().catch(onError('balancing round'));
          d.evictions.pushOutForOwnPrograms();
        },
        onError('balancing round'),
      ),
    );
    if (config.speed === 0) {
      // The start-up measurement runs while the daemon (and often its neighbours on the host)
      // is still starting: identical nodes read 9 700 to 15 000 here, and the balancer would
      // move programs to the "fast" one. A few more measurements, once warm, keep the fastest.
      let rechecks = 0;
      const recheck: PeriodicTask = new PeriodicTask(
        clock,
        SPEED_RECHECK_INTERVAL_MS,
        Math.random(),
        () => {
          if (++rechecks >= SPEED_RECHECKS) recheck.stop();
          d.recheckSpeed();
        },
        onError('speed re-measurement'),
      );
      d.tasks.push(recheck);
    }
    if (config.discovery) {
      // First beacon soon (a new node wants company), then at the configured period.
      d.tasks.push(
        new PeriodicTask(
          clock,
          config.discoveryIntervalMs,
          Math.random() * Math.min(1, 1000 / config.discoveryIntervalMs),
          (now) => d.beacon(now),
          onError('discovery beacon'),
        ),
      );
    }
    log.info('daemon started', {
      id: config.id,
      cluster: config.cluster,
      listen: formatHostPort(config.listen),
      address: splitGossipAddress(address).hostPort,
      peers: config.peers.length,
      cpus,
      speed,
      epoch,
      controlSocket: config.controlSocket,
      ...(config.usersSocket !== undefined && { usersSocket: config.usersSocket }),
      ...(d.metrics !== undefined && { metrics: `http://${d.metrics.address}/metrics` }),
      gossipIntervalMs: config.gossipIntervalMs,
      windowSize: config.windowSize,
      ...(config.windowMaxAgeMs !== undefined && { windowMaxAgeMs: config.windowMaxAgeMs }),
      maxAgeMs: config.maxAgeMs,
      discovery: config.discovery ? formatHostPort(config.discoveryAddress) : false,
      pid: process.pid,
    });
    return d;
  }

  /** Measures the CPU speed again; a faster reading replaces the gossiped speed. */
  private recheckSpeed(): void {
    const was = this.sampler.settings.speed;
    const measured = measureSpeed(() => this.clock.now()).speed;
    const speed = raisedSpeed(was, measured);
    if (speed === undefined) return;
    this.sampler.settings.speed = speed;
    this.log.info('CPU speed re-measured', { speed, was });
  }

  /** Graceful stop: timers, control socket, then the UDP socket. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const t of this.tasks) t.stop();
      this.balancer?.stop();
      this.flushDropLog(Infinity);
      await this.control?.close();
      await this.usersControl?.close();
      await this.metrics?.close();
      this.runners?.stop();
      this.mailboxRelay?.close();
      await this.peers?.close();
      await this.transport.close();
      this.log.info('daemon stopped', { uptimeMs: Math.round(this.clock.now() - this.startedAt) });
    })();
    return this.stopping;
  }

  private onTick(now: number): void {
    this.gossip.setInfo(this.sampler.info());
    this.perform(this.gossip.tick(now));
    this.remember(now);
    this.flushDropLog(now);
  }

  private beacon(now: number): void {
    const own = this.gossip.get(this.config.id, now);
    if (own === undefined) return;
    const record: NodeRecord = {
      id: own.id,
      cluster: own.cluster,
      address: own.address,
      info: own.info,
    };
    this.transport.sendDiscovery(
      encodeWindow({ version: GOSSIP_VERSION, ageOffsetMs: 0, records: [record], agesMs: [0] }),
    );
  }

  private onDatagram(from: string, bytes: Uint8Array): void {
    const decoded = decodeWindow(bytes);
    if (!decoded.ok) {
      this.malformed[decoded.reason] = (this.malformed[decoded.reason] ?? 0) + 1;
      this.transport.drop(from, 'malformed');
      return;
    }
    this.perform(this.gossip.receive(from, decoded.message, this.clock.now()));
  }

  private perform(effects: readonly Effect[]): void {
    for (const effect of effects) {
      const fitted = encodeWindowWithin(effect.message, this.transport.maxDatagramBytes);
      if (fitted === undefined) {
        this.log.warn('own entry larger than maxDatagramBytes; raise maxDatagramBytes', {
          maxDatagramBytes: this.transport.maxDatagramBytes,
        });
        continue;
      }
      if (fitted.kept < effect.message.records.length) {
        // Said once: a window cut now and then (a cold start) is normal for threshold windows.
        if (this.windowsCut++ === 0) {
          this.log.warn('window cut to fit maxDatagramBytes; its youngest entries were sent', {
            entries: effect.message.records.length,
            kept: fitted.kept,
          });
        }
      }
      this.transport.send(effect.to, fitted.bytes);
    }
  }

  /** Keeps the last known record of every node, so dead ones can still be listed (mon `d`). */
  private remember(now: number): void {
    for (const e of this.gossip.view(now)) {
      const { ageMs, ...record } = e;
      const prev = this.known.get(e.id);
      const birth = now - ageMs;
      if (prev === undefined) {
        if (e.id !== this.config.id)
          this.log.info('node joined', {
            peer: nodeName(record),
            peerAddress: splitGossipAddress(record.address).hostPort,
            ageMs: Math.round(ageMs),
          });
        this.known.set(e.id, { alive: true, record, birth });
      } else {
        if (!prev.alive) this.log.info('node back', { peer: nodeName(record) });
        prev.alive = true;
        prev.record = record;
        prev.birth = birth;
      }
      this.clusterByName.set(nodeName(record), record.cluster);
    }
    const forgetBefore = now - 10 * this.config.maxAgeMs;
    for (const [id, r] of this.known) {
      if (r.alive && now - r.birth > this.config.maxAgeMs) {
        r.alive = false;
        this.log.info('node expired', {
          peer: nodeName(r.record),
          ageMs: Math.round(now - r.birth),
        });
      }
      if (r.birth < forgetBefore) {
        this.known.delete(id);
        this.clusterByName.delete(nodeName(r.record));
      }
    }
  }

  /** The cluster gossip says `node` belongs to, if it is known. */
  clusterOf(node: string): string | undefined {
    return node === this.config.name ? this.config.cluster : this.clusterByName.get(node);
  }

  private noteDrop(from: string, reason: DropReason): void {
    if (DROP_TEXT[reason] === undefined) return;
    const key = `${from}|${reason}`;
    const entry = this.dropLog.get(key);
    const now = this.clock.now();
    if (entry === undefined) {
      // The first drop from a peer is logged at once: that is when an operator is looking.
      this.dropLog.set(key, { count: 0, lastAt: now, from, reason });
      this.logDrop(from, reason, 1);
      return;
    }
    entry.count++;
    if (now - entry.lastAt >= this.config.dropLogIntervalMs) this.flushOne(key, entry, now);
  }

  private flushDropLog(now: number): void {
    for (const [key, entry] of this.dropLog) {
      if (entry.count > 0 && now - entry.lastAt >= this.config.dropLogIntervalMs)
        this.flushOne(key, entry, now);
    }
  }

  private flushOne(
    _key: string,
    entry: { count: number; lastAt: number; from: string; reason: DropReason },
    now: number,
  ): void {
    this.logDrop(entry.from, entry.reason, entry.count);
    entry.count = 0;
    entry.lastAt = now === Infinity ? entry.lastAt : now;
  }

  private logDrop(from: string, reason: DropReason, count: number): void {
    this.log.warn(
      `dropped ${counted(count, 'datagram')} from ${from}: ${DROP_TEXT[reason] ?? reason}`,
      {
        peer: from,
        reason,
        count,
        total: this.transport.counters.drops[reason],
      },
    );
  }

  private handle(request: ControlRequest): unknown {
    switch (request.op) {
      case 'ping':
        return { node: this.config.name, version: 1 };
      case 'status':
        return this.status();
      case 'stats':
        return this.stats();
      case 'place':
        return this.place(request.args ?? {});
      case 'withdraw':
        return this.withdraw(request.args ?? {});
      case 'best':
        return this.best(request.args ?? {});
      case 'adopt':
        requireSameOwner(request.args ?? {});
        return this.balancer!.adopt(request.args ?? {});
      case 'processes':
        return this.processes(request.args ?? {});
      case 'admin':
        return this.admin(request.args ?? {});
      case 'ticket':
        return this.tickets.issue();
      case 'mailboxKey':
        return this.mailboxes.issueKey(request.args ?? {});
      case 'deliver':
        // rawData: the deputy may send its next messages as raw bytes after the line.
        return this.mailboxes
          .fromDeputy(request.args ?? {}, request.payload)
          .then((result) => ({ ...result, rawData: true }));
      default:
        return undefined; // parseRequest already refused unknown ops
    }
  }

  /**
   * Guests: the TCP side of the node's port (node links), and the runners that run guests. The
   * TCP port is the gossip port: one address per node.
   */
  private async startGuestService(log: Logger): Promise<void> {
    const user = runnerUserIds(this.config.runnerUser);
    this.runners = new RunnerPool({
      script: process.argv[1] ?? 'osmo',
      host: this.advertised.host,
      node: this.config.name,
      spare: this.config.acceptGuests ? this.config.spareRunners : 0,
      user,
      tls: this.config.linkTls,
      log: log.child({ component: 'runners' }),
      onChange: () => {
        this.sampler.guests = this.runners?.guests ?? 0;
      },
      registry: new GuestRegistry(join(this.config.stateDir, 'guests')),
    });
    this.evictions = new Evictions({
      node: this.config.name,
      cluster: this.config.cluster,
      priorities: this.config.clusterPriorities,
      log,
      guests: () => this.runners?.guestList() ?? [],
      clusterOf: (node) => this.nodeByName(node)?.record.cluster,
      ownProgramsHere: () => this.balancer?.runningHere() ?? 0,
      askHome: async (home, args) => (await this.askNode(home, 'expel', args)) as { to: string },
    });
    const survivors = this.runners.adoptSurvivors();
    if (survivors > 0) log.info('guests from before a restart', { guests: survivors });
    this.runners.start();
    this.peers = await PeerService.listen({
      host: this.config.listen.host,
      port: this.transport.boundPort,
      key: this.linkKey,
      tls: this.config.linkTls,
      log: log.child({ component: 'links' }),
      handle: (op, args, payload) => this.onPeerRequest(op, args, payload),
    });
  }

  private async onPeerRequest(
    op: string,
    args: Record<string, unknown>,
    payload?: Buffer,
  ): Promise<unknown> {
    if (op === 'processes') return this.ownProcesses(uidArgument(args));
    if (op === 'deliver') {
      // rawData: the sending daemon may send its next messages on this link as raw bytes.
      const result = await this.mailboxes.fromPeer(args, payload);
      return { ...result, rawData: true };
    }
    if (op === 'withdraw') {
      const token = typeof args.token === 'string' ? args.token : '';
      const freed = this.runners?.withdraw(token) ?? false;
      if (freed) this.log.info('guest withdrawn', { reason: 'its home gave the place up' });
      return { freed } satisfies WithdrawResult;
    }
    if (op === 'expel') {
      const { pid, from, reason } = args;
      if (
        typeof pid !== 'number' ||
        typeof from !== 'string' ||
        (reason !== undefined && reason !== 'expelled' && reason !== 'pushed out')
      )
        throw new OsmoError('E_PROTO_DECODE', 'malformed expel request');
      return { to: this.balancer!.expel(pid, from, reason ?? 'expelled') };
    }
    if (op !== 'admit') throw new OsmoError('E_USAGE', `unknown node request "${op}"`);
    const request = admitRequestOf(args);
    const info = this.sampler.info();
    const homeNode = this.nodeByName(request.home);
    const homeKnown = homeNode !== undefined;
    const homeCluster = homeNode?.record.cluster;
    const homePriority = this.evictions.rankOf(homeCluster);
    const verdict = decideAdmission(request, {
      node: this.config.name,
      ...(homeCluster === undefined ? {} : { homeCluster }),
      homePriority,
      ...this.evictions.admissionRanks(),
      acceptGuests: this.config.acceptGuests,
      blocked: this.sampler.blocked,
      reservations: this.reservations.list().map((r) => r.id),
      draining: this.sampler.draining,
      guests: this.runners?.guests ?? 0,
      maxGuests: this.sampler.settings.maxGuests,
      freeMemBytes: info.freeMemBytes,
      runQueue: this.runQueueNow(),
      homeKnown,
    });
    const native = request.native;
    // Only root may run a program as another user; no uid (not POSIX): nobody's programs.
    const daemonUid = process.getuid?.() ?? -1;
    // A native program also needs a node that runs it (native-admission.ts).
    const admitted =
      verdict.ok && native !== undefined
        ? decideNative(native, {
            node: this.config.name,
            acceptNative: this.config.native,
            daemonUid,
          })
        : verdict;
    if (!admitted.ok) {
      this.admissions.refused++;
      this.log.info(native === undefined ? 'guest refused' : 'native program refused', {
        peer: request.home,
        pid: request.pid,
        reason: admitted.reason,
      });
      throw new OsmoError('E_REFUSED', admitted.reason);
    }
    const guest = {
      home: request.home,
      pid: request.pid,
      ...(request.job === undefined ? {} : { job: request.job }),
    };
    const assigned =
      native === undefined
        ? await this.runners!.assign(request.moduleHash, guest)
        : await this.runners!.assignNative(
            guest,
            daemonUid === 0 ? { uid: native.uid, gid: native.gid } : undefined,
          );
    this.admissions.admitted++;
    this.log.info(native === undefined ? 'guest admitted' : 'native program admitted', {
      peer: request.home,
      pid: request.pid,
      port: assigned.port,
      ...(native === undefined
        ? { hasModule: assigned.hasModule }
        : { program: native.program, uid: native.uid }),
    });
    if (typeof homePriority === 'number')
      this.evictions.pushOut(homePriority, `a program of cluster ${homeCluster ?? '?'} moved in`);
    const result: PlaceResult = {
      node: this.config.name,
      host: this.advertised.host,
      ...assigned,
    };
    return result;
  }

  /**
   * Processes running here now, for a move's consent (../balance/consent.ts). Counting Osmosis
   * programs: exact, admitted guests included. Counting the kernel's run queue: the smoothed
   * value this node gossips, plus guests admitted and not yet running (counted once they run).
   */
  private runQueueNow(): number {
    if (this.config.loadSource === 'osmosis') return this.osmosisRunQueue();
    return (
      this.sampler.smoothedRunQueue +
      (this.runners?.guests ?? 0) -
      (this.runners?.runningGuests ?? 0)
    );
  }

  /**
   * Osmosis programs running here (several nodes on one host share its kernel run queue, config
   * loadSource osmosis): this home's programs here plus guests, admitted ones included.
   */
  private osmosisRunQueue(): number {
    return (this.balancer?.runningHere() ?? 0) + (this.runners?.guests ?? 0);
  }

  /** A live node of the view by name. */
  private nodeByName(name: string): { id: number; record: NodeRecord } | undefined {
    this.remember(this.clock.now());
    for (const [id, r] of this.known) {
      if (r.alive && nodeName(r.record) === name) return { id, record: r.record };
    }
    return undefined;
  }

  /**
   * Node administration (osmo ctl, MOSIX's mosctl): what the node hosts and how it ranks
   * clusters; block or unblock guests; expel the guests
   * (blocked first, so that no balancer sends them back; each home chooses where its program
   * goes); bring this home's programs back; reserve the node for other work, or release it.
   */
  private async admin(args: Record<string, unknown>): Promise<AdminResult> {
    const action = args.action;
    if (!(ADMIN_ACTIONS as readonly unknown[]).includes(action)) {
      throw new OsmoError(
        'E_USAGE',
        `admin needs an action (${ADMIN_ACTIONS.join(', ')}), got ${JSON.stringify(action)}`,
      );
    }
    const waitMs =
      typeof args.waitMs === 'number' && Number.isFinite(args.waitMs) && args.waitMs >= 0
        ? args.waitMs
        : 60_000;
    const node = this.config.name;
    const act = action as AdminAction;
    if (act === 'status') {
      return {
        node,
        action: act,
        blocked: this.sampler.blocked,
        reservations: this.reservations.list(),
        guests: this.runners?.guestList() ?? [],
        clusterPriorities: this.config.clusterPriorities,
        maxLocalProcesses: this.config.maxLocalProcesses,
      };
    }
    if (act === 'bring') {
      const brought = await this.balancer!.bringHome();
      return { node, action: act, blocked: this.sampler.blocked, brought };
    }
    if (act === 'reserve' || act === 'release') return this.reservation(act, args.id, waitMs);
    this.sampler.blocked = act !== 'unblock';
    this.log.info(act === 'unblock' ? 'guests unblocked' : 'guests blocked', {
      by: 'administrator',
      action: act,
    });
    if (act !== 'expel') return { node, action: act, blocked: this.sampler.blocked };
    return { node, action: act, blocked: true, ...(await this.expelGuests(waitMs)) };
  }

  /**
   * Holds the node for `id` (no guests; those here are asked to leave, as by expel) or releases
   * that hold (`id` "all": every hold); the node takes guests again once no hold is left.
   */
  private async reservation(
    act: 'reserve' | 'release',
    id: unknown,
    waitMs: number,
  ): Promise<AdminResult> {
    const problem = act === 'release' && id === RELEASE_ALL ? undefined : reservationIdProblem(id);
    if (problem !== undefined) throw new OsmoError('E_USAGE', problem);
    const node = this.config.name;
    const holder = id as string;
    if (act === 'release') {
      const released = this.reservations.remove(holder);
      if (released.length > 0)
        this.log.info('reservation released', { released, open: !this.reservations.reserved });
      return {
        node,
        action: act,
        blocked: this.sampler.blocked,
        reservations: this.reservations.list(),
        released,
      };
    }
    const opened = this.reservations.add(holder, Date.now());
    this.log.info('node reserved', { id: holder, first: opened });
    return {
      node,
      action: act,
      blocked: this.sampler.blocked,
      reservations: this.reservations.list(),
      ...(await this.expelGuests(waitMs)),
    };
  }

  /** Asks every guest's home to move it away, and waits up to `waitMs` for them to leave. */
  private async expelGuests(
    waitMs: number,
  ): Promise<Required<Pick<AdminResult, 'expelled' | 'remaining'>>> {
    const expelled = await this.evictions.expel(this.runners?.guestList() ?? [], 'expelled');
    if (expelled.length > 0) this.log.info('guests expelled', { guests: expelled.length });
    // Wait for the moves that are on their way; a guest whose home did not answer, or refused
    // (a native program never moves), stays, and is not waited for.
    const leaving = expelled.filter((g) => g.error === undefined);
    await this.runners!.untilGone(leaving, waitMs);
    return { expelled, remaining: this.runners!.guests };
  }

  /** A deputy here asks `node` to admit its program. */
  private async place(args: Record<string, unknown>): Promise<PlaceResult> {
    const node = typeof args.node === 'string' ? args.node : '';
    if (node === this.config.name)
      throw new OsmoError('E_USAGE', `${node} is this node: use "home" to run at home`);
    const request: AdmitRequest = {
      home: this.config.name,
      pid: typeof args.pid === 'number' ? args.pid : 0,
      memoryBytes: typeof args.memoryBytes === 'number' ? args.memoryBytes : 0,
      moduleHash: typeof args.moduleHash === 'string' ? args.moduleHash : '',
      ...(typeof args.expectedQueue === 'number' && { expectedQueue: args.expectedQueue }),
      // The node admitting it checks the label (admitRequestOf).
      ...(typeof args.job === 'string' && { job: args.job }),
      ...(args.native !== undefined && { native: this.nativeRequestOf(args.native) }),
    };
    return (await this.askNode(node, 'admit', request)) as PlaceResult;
  }

  /**
   * Native programs' tickets, their proof files beside the socket users reach (a root daemon's
   * /run/osmosis, not /tmp: a unit's PrivateTmp would hide those).
   */
  private get tickets(): NativeTickets {
    const socketDir = dirname(this.config.usersSocket ?? this.config.controlSocket);
    return (this.ticketBook ??= new NativeTickets(join(socketDir, 'native-proofs'), Date.now));
  }

  /** Mailbox messages between this home and others (ADR 0021). */
  private get mailboxes(): MailboxRelay {
    return (this.mailboxRelay ??= new MailboxRelay({
      node: this.config.name,
      tickets: this.tickets,
      programs: () => this.balancer?.programInfos() ?? [],
      // Messages come in streams: on links kept open (one request per link costs a handshake).
      links: new PeerLinks(this.linkKey, this.config.linkTls),
      address: (node) => ({ ...this.peerAddress(node), name: node }),
    }));
  }

  /** A deputy's native program for `place`, with the user its proof file proves. */
  private nativeRequestOf(native: unknown): NativeRequest {
    const { program, cwd, path, proof } = (native ?? {}) as Record<string, unknown>;
    if (typeof program !== 'string' || typeof cwd !== 'string' || typeof path !== 'string')
      throw new OsmoError('E_USAGE', 'place: native needs program, cwd and path');
    const user = this.tickets.redeem(proof);
    return { program, cwd, path, ...user };
  }

  /**
   * A deputy here gives up a place `node` admitted its program to (the move failed before the
   * program got there, or it ended meanwhile): the runner kept for it is freed at once.
   */
  private async withdraw(args: Record<string, unknown>): Promise<WithdrawResult> {
    const node = typeof args.node === 'string' ? args.node : '';
    const token = typeof args.token === 'string' ? args.token : '';
    return (await this.askNode(node, 'withdraw', { token })) as WithdrawResult;
  }

  /**
   * The deputy that asked for a place on another node was gone before the answer reached it
   * (its program ended meanwhile): nobody will come to that place, so it is given back at once
   * instead of counting as a guest there until the runner gives up waiting (10 s).
   */
  private undelivered(request: ControlRequest, result: unknown): void {
    if (request.op !== 'place') return;
    const { node, token } = result as PlaceResult;
    this.log.info('place given back', { node, reason: 'the deputy that asked is gone' });
    // Best effort, as a deputy's own withdraw: the runner there gives up by itself anyway.
    this.withdraw({ node, token }).catch(() => undefined);
  }

  /** Sends node request `op` over the authenticated node link of live node `node`. */
  private askNode(node: string, op: string, args: object): Promise<unknown> {
    const to = { ...this.peerAddress(node), name: node };
    return askPeer(to, this.linkKey, this.config.linkTls, op, { ...args });
  }

  /** Where the node link of live node `node` is. */
  private peerAddress(node: string): { host: string; port: number } {
    const target = this.nodeByName(node);
    if (target === undefined) {
      throw new OsmoError(
        'E_NO_NODE',
        `no live node named ${JSON.stringify(node)} in this node's view (osmo status lists them)`,
      );
    }
    const { hostPort } = splitGossipAddress(target.record.address);
    const hp = parseHostPort(hostPort);
    if (typeof hp === 'string') throw new OsmoError('E_NO_NODE', `node ${node}: ${hp}`);
    return hp;
  }

  /** This home's programs (osmo ps), of user `uid` if given. */
  private ownProcesses(uid: number | undefined): ProcessesResult {
    const programs = this.balancer?.programInfos() ?? [];
    return { node: this.config.name, processes: homeProcesses(programs, uid), unanswered: [] };
  }

  /** osmo ps: this home's programs, and with cluster: true every live node's home's as well. */
  private async processes(args: Record<string, unknown>): Promise<ProcessesResult> {
    const uid = uidArgument(args);
    const own = this.ownProcesses(uid);
    if (args.cluster !== true) return own;
    this.remember(this.clock.now());
    const peers: { name: string; ask: () => Promise<unknown> }[] = [];
    for (const [id, r] of this.known) {
      if (!r.alive || id === this.config.id) continue;
      const name = nodeName(r.record);
      peers.push({
        name,
        ask: () => this.askNode(name, 'processes', uid === undefined ? {} : { uid }),
      });
    }
    return gatherProcesses(own, peers);
  }

  /**
   * The node a new program should start on (osmo run -b): the balancer's choice, but for the
   * nodes that refused its start already (`refused`).
   */
  private best(args: Record<string, unknown>): BestResult {
    const memoryBytes = typeof args.memoryBytes === 'number' ? args.memoryBytes : 0;
    const refused = Array.isArray(args.refused)
      ? args.refused.filter((n): n is string => typeof n === 'string')
      : [];
    // A native program goes only where native programs run (or stays here, its home).
    if (args.native === true) refused.push(...this.nodesWithout(NodeFlags.native));
    const { node, expectedQueue } = this.balancer!.startNode(memoryBytes, refused);
    const free = this.policyView().find((v) => v.name === node)?.freeMemBytes ?? 0;
    return { node, self: node === this.config.name, roomy: free >= memoryBytes, expectedQueue };
  }

  /** Live nodes other than this one whose gossip lacks `flag`. */
  private nodesWithout(flag: number): string[] {
    this.remember(this.clock.now());
    const names: string[] = [];
    for (const [id, r] of this.known)
      if (r.alive && id !== this.config.id && (r.record.info.flags & flag) === 0)
        names.push(nodeName(r.record));
    return names;
  }

  /** Every live node, this one included, as the balancing policy sees it. */
  private policyView(): PolicyNodeView[] {
    this.remember(this.clock.now());
    const views: PolicyNodeView[] = [];
    for (const [id, r] of this.known) {
      if (!r.alive) continue;
      const self = id === this.config.id;
      views.push(nodeViewOf(nodeName(r.record), self ? this.sampler.info() : r.record.info));
    }
    return views;
  }

  status(): StatusResult {
    const now = this.clock.now();
    this.remember(now);
    const nodes: NodeView[] = [];
    for (const [id, r] of this.known) {
      const ageMs = id === this.config.id ? 0 : now - r.birth;
      const { name, hostPort } = {
        name: nodeName(r.record),
        hostPort: splitGossipAddress(r.record.address).hostPort,
      };
      const info = id === this.config.id ? this.sampler.info() : r.record.info;
      nodes.push({
        id,
        name,
        cluster: r.record.cluster,
        address: hostPort,
        ageMs: Math.round(ageMs),
        alive: ageMs <= this.config.maxAgeMs,
        self: id === this.config.id,
        ...info,
        status: statusWords(info.flags),
      });
    }
    nodes.sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
    return {
      node: this.config.name,
      cluster: this.config.cluster,
      maxAgeMs: this.config.maxAgeMs,
      gossipIntervalMs: this.config.gossipIntervalMs,
      uptimeMs: Math.round(now - this.startedAt),
      nodes,
      homeProcesses: this.balancer?.watched ?? 0,
      migrations: this.balancer?.latestMigrations() ?? [],
      linkBytesPerSec: this.balancer?.measuredLinks() ?? {},
      clusterLinkBytesPerSec: this.balancer?.measuredClusterLinks() ?? {},
    };
  }

  /** What Prometheus is told (metrics.ts), read at each scrape. */
  private metricsSource(): MetricsSource {
    return {
      status: () => this.status(),
      stats: () => this.stats(),
      guests: () => {
        const list = this.runners?.guestList() ?? [];
        return {
          all: list.length,
          running: list.filter((g) => g.running).length,
          native: list.filter((g) => g.native === true).length,
        };
      },
      moves: () => this.balancer?.movesCounted() ?? [],
      admissions: () => ({ ...this.admissions }),
      mailboxMessages: () =>
        this.mailboxRelay?.counts ?? { out: { ok: 0, failed: 0 }, in: { ok: 0, failed: 0 } },
    };
  }

  stats(): StatsResult {
    return {
      node: this.config.name,
      pid: process.pid,
      uptimeMs: Math.round(this.clock.now() - this.startedAt),
      gossip: this.gossip.stats,
      transport: this.transport.counters,
      malformed: { ...this.malformed },
      windowsCut: this.windowsCut,
    };
  }
}

function admitRequestOf(args: Record<string, unknown>): AdmitRequest {
  const { home, pid, memoryBytes, moduleHash, expectedQueue, job } = args;
  const native = nativeOf(args.native);
  if (
    typeof home !== 'string' ||
    typeof pid !== 'number' ||
    typeof memoryBytes !== 'number' ||
    typeof moduleHash !== 'string' ||
    !(native !== undefined ? moduleHash === '' : /^[0-9a-f]{64}$/.test(moduleHash)) ||
    (args.native !== undefined && native === undefined) ||
    (expectedQueue !== undefined && !isQueueLength(expectedQueue))
  ) {
    throw new OsmoError('E_PROTO_DECODE', 'malformed admit request');
  }
  return {
    home,
    pid,
    memoryBytes,
    moduleHash,
    ...(native !== undefined && { native }),
    ...(isQueueLength(expectedQueue) && { expectedQueue }),
    // A label only: one this node cannot show is left out, not a reason to refuse the guest.
    ...(labelProblem('a job', job) === undefined && { job: job as string }),
  };
}

/** The native part of an admit request, if it is well formed. */
function nativeOf(value: unknown): NativeRequest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { program, cwd, path, uid, gid } = value as Record<string, unknown>;
  const id = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
  if (typeof program !== 'string' || typeof cwd !== 'string' || typeof path !== 'string')
    return undefined;
  if (!id(uid) || !id(gid)) return undefined;
  return { program, cwd, path, uid, gid };
}

function nodeName(record: NodeRecord): string {
  return splitGossipAddress(record.address).name ?? `#${record.id}`;
}
