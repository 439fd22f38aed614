/**
 * The declarations of every `edge-ha` command (options and help). Implementations live in
 * `commands/` and are loaded only when their command runs.
 */

import { type CommandSpec, type OptionSpec, TOKEN_OPTIONS, WRITE_TOKEN_OPTIONS } from './args.js';
import { PEER_TLS_OPTIONS, SERVER_TLS_OPTIONS } from './tls-options.js';

const FORMAT: OptionSpec = {
  type: 'string',
  short: 'f',
  placeholder: 'table|json',
  description: 'Output format (default: table)',
};

const DOWN: OptionSpec = {
  type: 'string',
  multiple: true,
  placeholder: '<ip:port>',
  description: 'Treat this operator address as not responding (what-if)',
};

/** `edge-ha policy validate <file>`. */
export const POLICY_VALIDATE: CommandSpec = {
  name: 'policy validate',
  summary:
    'Validate a policy file (JSON, NDJSON or AnyLog Python-literal form): prints every issue ' +
    'with its code and attribute path. Exit 1 if there is an error; warnings alone exit 0.',
  args: '<file>',
  positionals: [1, 1],
  options: { format: FORMAT },
  examples: [
    'edge-ha policy validate policies.json',
    'edge-ha policy validate ledger.ndjson --format json',
  ],
};

/** `edge-ha policy id <file>`. */
export const POLICY_ID: CommandSpec = {
  name: 'policy id',
  summary:
    'Print the AnyLog policy id (MD5) of every policy in a file: the `id` it carries, or the ' +
    'one the network would compute for it.',
  args: '<file>',
  positionals: [1, 1],
  options: { format: FORMAT },
  examples: ['edge-ha policy id cluster.json'],
};

/** `edge-ha nodes <file>`. */
export const NODES: CommandSpec = {
  name: 'nodes',
  summary:
    'Print the data-nodes report of a policy file: for every table, the clusters holding it and ' +
    'their operators (member id, addresses, main, status).',
  args: '<file>',
  positionals: [1, 1],
  options: {
    dbms: { type: 'string', placeholder: '<name>', description: 'Only tables of this database' },
    table: { type: 'string', placeholder: '<name>', description: 'Only this table' },
    company: { type: 'string', placeholder: '<name>', description: 'Only this company' },
    down: DOWN,
    format: FORMAT,
  },
  examples: [
    'edge-ha nodes policies.json',
    'edge-ha nodes policies.json --dbms plant --table sensors --format json',
  ],
};

/** `edge-ha status <file>`. */
export const STATUS: CommandSpec = {
  name: 'status',
  summary:
    'Print the HA status of a policy file: per cluster, copies configured vs live, and the ' +
    'tables that are under-replicated or unavailable.',
  args: '<file>',
  positionals: [1, 1],
  options: { down: DOWN, format: FORMAT },
  details: [
    'A policy file carries no liveness, so every operator counts as live unless named with --down.',
  ],
  examples: ['edge-ha status policies.json', 'edge-ha status policies.json --down 10.0.0.5:32148'],
};

const DB: OptionSpec = {
  type: 'string',
  placeholder: '<file>',
  description: 'SQLite file of this instance (created if missing)',
};

const GOVERNOR_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'overlap-ms': {
    type: 'string',
    placeholder: '<ms>',
    description: 'Smallest merge margin on each side of a downtime (default: 60000)',
  },
  'max-clock-skew-ms': {
    type: 'string',
    placeholder: '<ms>',
    description: 'Largest clock difference to the peer accepted (default: 300000)',
  },
  'max-recovery-ms': {
    type: 'string',
    placeholder: '<ms>',
    description: 'Oldest data recovered; anything older is reported as unrecoverable',
  },
  'lookback-ms': {
    type: 'string',
    placeholder: '<ms>',
    description: 'On a file with no sync history, how far back to pull (default: 0, nothing)',
  },
  retries: {
    type: 'string',
    placeholder: '<n>',
    description:
      'How often a failed call to the peer is retried before the sync fails (default: 5)',
  },
};

/** `edge-ha serve`. */
export const SERVE: CommandSpec = {
  name: 'serve',
  summary:
    'Run one node: serve its SQLite storage to peers over HTTP, catch up from the given peers ' +
    'at start-up, write heartbeats; stop cleanly on SIGINT/SIGTERM.',
  positionals: [0, 0],
  options: {
    db: DB,
    port: {
      type: 'string',
      short: 'p',
      placeholder: '<n>',
      description: 'TCP port (0 picks a free one)',
    },
    host: {
      type: 'string',
      placeholder: '<addr>',
      description: 'Interface to listen on (default: 127.0.0.1; 0.0.0.0 for every interface)',
    },
    peer: {
      type: 'string',
      multiple: true,
      placeholder: '<url>',
      description: 'Peer to catch up from at start-up, e.g. http://10.0.0.6:7070',
    },
    id: {
      type: 'string',
      placeholder: '<name>',
      description: 'Instance id sent to peers (default: <hostname>:<port>)',
    },
    ...TOKEN_OPTIONS,
    ...WRITE_TOKEN_OPTIONS,
    ...SERVER_TLS_OPTIONS,
    ...PEER_TLS_OPTIONS,
    'heartbeat-ms': {
      type: 'string',
      placeholder: '<ms>',
      description: 'Heartbeat period: how precisely the next start-up knows the downtime',
    },
    'follow-ms': {
      type: 'string',
      placeholder: '<ms>',
      description:
        'Follow mode: merge the last 2 × <ms> from the peers every <ms> while running (off by default)',
    },
    'all-items': {
      type: 'boolean',
      description:
        'Sync every item the peer trends too (default: only the items this node trends: written to it or registered)',
    },
    'integrity-check': {
      type: 'string',
      placeholder: '<quick|full|off>',
      description:
        'Check the SQLite file at start-up: quick_check (default), the full integrity_check, or off',
    },
    'log-format': {
      type: 'string',
      placeholder: '<text|json>',
      description:
        'Output: text lines (default), or one JSON object per line on stdout (time, level, msg, fields)',
    },
    'metrics-public': {
      type: 'boolean',
      description: 'Serve GET /metrics without the token (default: the read token is required)',
    },
    ...GOVERNOR_OPTIONS,
  },
  details: [
    'The token comes from --token, --token-file or the EDGE_HA_TOKEN environment variable ' +
      '(preferred: a token on the command line is visible in the process list). It grants ' +
      'reads only: what peers need to catch up from this node.',
    'Writes (POST /edge-ha/v1/write/points and /write/events) need a second, different secret: ' +
      '--write-token, --write-token-file or EDGE_HA_WRITE_TOKEN (preferred), in that order. ' +
      'Without one every write is refused with 403 PEER_FORBIDDEN; the read token never writes.',
    'With --peer, a catch-up that leaves the node behind is retried by itself (back-off from 5 s ' +
      'up to 5 min) until caught up; every attempt is printed. Stopped (SIGINT/SIGTERM) while not ' +
      'caught up, serve exits 1 and says which gaps are left; the next start resumes them.',
    'GET /metrics (and /edge-ha/v1/metrics) serves the Prometheus text format: the sync ' +
      'counters and gauges of the node (edge_ha_caught_up, edge_ha_gap_ledger_gaps, …) and the ' +
      'requests of its server;' +
      ' it needs the read token as a bearer token unless --metrics-public.',
    '--log-format json writes every line as one JSON object on stdout (time in ISO 8601, level, ' +
      'msg, and fields such as the deputy, the state codes and error codes with their causes); ' +
      'EDGE_HA_DEBUG=1 adds the debug entries. Usage errors before start-up stay plain text on ' +
      'stderr.',
    'TLS: --tls-cert and --tls-key serve HTTPS; with --tls-ca and --require-client-cert (mutual ' +
      'TLS) a client without a certificate signed by that CA is refused at the handshake. To ' +
      'reach https:// peers, --peer-ca names the CA of their certificates and, when they require ' +
      'client certificates, --peer-cert and --peer-key the one to present.',
  ],
  examples: [
    'EDGE_HA_TOKEN=s3cret edge-ha serve --db a.sqlite --port 7070 --peer http://10.0.0.6:7070',
    'EDGE_HA_TOKEN=s3cret EDGE_HA_WRITE_TOKEN=w-s3cret edge-ha serve --db a.sqlite --port 7070',
    'EDGE_HA_TOKEN=s3cret edge-ha serve --db a.sqlite --port 7070 --tls-cert a.pem --tls-key a.key ' +
      '--tls-ca ca.pem --require-client-cert --peer https://10.0.0.6:7070 --peer-ca ca.pem ' +
      '--peer-cert a.pem --peer-key a.key',
  ],
};

/** `edge-ha sync`. */
export const SYNC: CommandSpec = {
  name: 'sync',
  summary:
    'Run one catch-up of a SQLite file from a peer: live progress, the deputy transitions and a ' +
    'summary. Exit 0 when every deputy finished_ok, 1 otherwise.',
  positionals: [0, 0],
  options: {
    db: DB,
    peer: {
      type: 'string',
      multiple: true,
      placeholder: '<url>',
      description: 'Peer to pull from (the first that answers serves), e.g. http://10.0.0.6:7070',
    },
    ...TOKEN_OPTIONS,
    ...PEER_TLS_OPTIONS,
    from: {
      type: 'string',
      placeholder: '<time>',
      description: 'Sync this window instead of the downtime (ISO 8601 or epoch ms; needs --to)',
    },
    to: { type: 'string', placeholder: '<time>', description: 'End of the window (exclusive)' },
    mode: {
      type: 'string',
      placeholder: '<merge|overwrite>',
      description: 'How --from/--to is applied: merge (default, local points stay) or overwrite',
    },
    'all-items': {
      type: 'boolean',
      description: 'Register every item the peer trends locally first (default: only local items)',
    },
    ...GOVERNOR_OPTIONS,
    format: FORMAT,
  },
  details: [
    'The file keeps a gap ledger: what this node is missing. Without --from/--to the sync adds ' +
      'the downtime since the last heartbeat and syncs every gap of the ledger: the peer wins ' +
      'only where this node was down; around it (clock-skew margins) and for --from/--to it ' +
      'merges, so no local point is changed. --mode overwrite lets the peer win in --from/--to.',
    'A --from/--to window is recovered in full, however old: --max-recovery-ms then defaults to ' +
      'reach back to --from.',
    'sync is for a file no process is serving (use serve --peer for a running node): afterwards ' +
      'the file counts as stopped at the start of the sync, so the next start syncs from there.',
    'Time series are synced for the items trended locally; use --all-items to adopt every item ' +
      'of the peer.',
  ],
  examples: [
    'EDGE_HA_TOKEN=s3cret edge-ha sync --db a.sqlite --peer http://10.0.0.6:7070',
    'edge-ha sync --db a.sqlite --peer http://b:7070 --from 2025-01-01T00:00:00Z --to 2025-01-02T00:00:00Z',
    'edge-ha sync --db a.sqlite --peer https://b:7070 --peer-ca ca.pem --peer-cert a.pem --peer-key a.key',
  ],
};

/** `edge-ha check`. */
export const CHECK: CommandSpec = {
  name: 'check',
  summary:
    'Check a SQLite file for damage (PRAGMA quick_check, or integrity_check with --full) without ' +
    'changing it. Exit 0 when it is sound, 1 when it is damaged.',
  positionals: [0, 0],
  options: {
    db: { type: 'string', placeholder: '<file>', description: 'SQLite file to check' },
    full: {
      type: 'boolean',
      description:
        'Run the full integrity_check (also checks every index against its table; slower)',
    },
    format: FORMAT,
  },
  details: [
    '`serve` and `sync` run the quick check each time they open their file and refuse a damaged ' +
      'one with STORAGE_CORRUPT. Run the full check when a node reports STORAGE_CORRUPT, or after ' +
      'the machine crashed; it is safe while a node uses the file. At most 100 problems are listed.',
  ],
  examples: ['edge-ha check --db a.sqlite', 'edge-ha check --db a.sqlite --full --format json'],
};

/** `edge-ha demo`. */
export const DEMO: CommandSpec = {
  name: 'demo',
  summary:
    'The end-to-end demo: two operators on loopback, one goes down, queries fail over, it comes ' +
    'back and catches up; exits 0 only if both hold identical data.',
  positionals: [0, 0],
  options: {
    'downtime-ms': {
      type: 'string',
      placeholder: '<ms>',
      description: 'How long operator A stays down (default: 3000)',
    },
    keep: {
      type: 'boolean',
      description: 'Keep the SQLite files (their directory is printed) instead of deleting them',
    },
  },
  examples: ['npm run demo', 'npx edge-ha demo --downtime-ms 5000'],
};
