// The systemd units, as text from this installation's paths: `toehold service install` writes
// them, and ops/systemd/ holds the same output for the documented default paths
// (scripts/units.ts), so there is one source for both.

export type Service = 'agent' | 'relay'

export type UnitPaths = {
  /** The Node binary that runs toehold (absolute). */
  node: string
  /** The `toehold` script that Node runs (the installed bin/toehold.js, or bin/toehold.ts). */
  entry: string
  /** The settings file systemd reads (EnvironmentFile). */
  envFile: string
  /** The PATH deploys see (git, bun): the agent only. */
  path?: string
  /** TOEHOLD_HOME when it is not the default: the agent only. */
  home?: string
}

export const unitName = (service: Service) => `toehold-${service}.service`

/**
 * Node flags the services run with (the Dockerfile's NODE_OPTIONS too). A 1 MB young generation
 * keeps an idle daemon ~13 MB smaller (bench/footprint.ts); a daemon allocates little per
 * webhook, so its scavenges stay short and rare.
 */
export const NODE_FLAGS = ['--max-semi-space-size=1']

const exec = (paths: UnitPaths, args: string) =>
  `ExecStart=${[paths.node, ...NODE_FLAGS, paths.entry].map(word).join(' ')} ${args}`

/** systemd splits Exec lines on spaces and expands `%` and `$`: quote each word. */
const word = (text: string) =>
  /^[\w@%+=:,./-]+$/.test(text)
    ? text
    : `"${text.replace(/["\\]/g, '\\$&').replace(/\$/g, '$$$$')}"`
const assignment = (name: string, value: string) => `Environment=${word(`${name}=${value}`)}`

const HEADER = (service: Service, where: string) =>
  `# ${where}${unitName(service)}, written by \`toehold service install ${service}\`.`

export function agentUnit(paths: UnitPaths, where = ''): string {
  return `${HEADER('agent', where)}
# Runs as your own user; \`loginctl enable-linger\` keeps it running while you are logged out.
# Settings (TOEHOLD_RELAY, TOEHOLD_REGISTRATION_TOKEN for the first connection): ${paths.envFile}
[Unit]
Description=toehold agent
After=network-online.target
Wants=network-online.target

[Service]
# Deploys run git and bun from this PATH (the one \`service install\` ran with).
${assignment('PATH', paths.path ?? '/usr/local/bin:/usr/bin:/bin')}
${paths.home ? `${assignment('TOEHOLD_HOME', paths.home)}\n` : ''}EnvironmentFile=-${paths.envFile}
${exec(paths, 'agent')}
Restart=always
RestartSec=2
# The agent stops its apps itself (SIGTERM to each app's group, SIGKILL after its grace period);
# systemd signals only the agent, and kills what is left after the timeout.
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=90

[Install]
WantedBy=default.target
`
}

export function relayUnit(paths: UnitPaths, where = ''): string {
  return `${HEADER('relay', where)}
# A system service behind Caddy for TLS (ops/Caddyfile), as a user systemd makes for it.
# Settings (RELAY_PUBLIC_URL, RELAY_REGISTRATION_TOKEN, RELAY_TRUST_PROXY=1): ${paths.envFile}
[Unit]
Description=toehold relay
After=network-online.target
Wants=network-online.target

[Service]
DynamicUser=yes
EnvironmentFile=-${paths.envFile}
Environment=RELAY_DATA_DIR=/var/lib/toehold-relay
StateDirectory=toehold-relay
StateDirectoryMode=0700
${exec(paths, 'relay --host 127.0.0.1 --port 8080')}
Restart=always
RestartSec=2
# SIGTERM: the relay answers in-flight requests and tells agents to reconnect (1012).
KillSignal=SIGTERM
TimeoutStopSec=30
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true

[Install]
WantedBy=multi-user.target
`
}

export const unitFor = (service: Service) => (service === 'agent' ? agentUnit : relayUnit)
