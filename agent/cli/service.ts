// toehold service install|uninstall|status agent|relay: the systemd unit with this
// installation's paths (this Node, this toehold, the settings file), enabled the way each runs:
// the agent as a user unit with linger (it deploys as you), the relay as a system unit (root).
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, userInfo } from 'node:os'
import { dirname, join } from 'node:path'
import type { Command } from 'commander'
import { CliError } from './client.ts'
import { printJson } from './output.ts'
import { type Service, unitFor, unitName } from './units.ts'

type Options = { json?: boolean; unitDir?: string; settings?: string; home?: string }

type Layout = {
  service: Service
  unit: string
  envFile: string
  /** `systemctl` arguments before the verb: `--user` for the agent. */
  scope: string[]
}

const configHome = () => process.env.XDG_CONFIG_HOME || join(homedir(), '.config')

function layout(service: Service, options: Options): Layout {
  const user = service === 'agent'
  const unitDir =
    options.unitDir ?? (user ? join(configHome(), 'systemd', 'user') : '/etc/systemd/system')
  return {
    service,
    unit: join(unitDir, unitName(service)),
    envFile:
      options.settings ??
      (user ? join(configHome(), 'toehold', 'agent.env') : '/etc/toehold/relay.env'),
    scope: user ? ['--user'] : [],
  }
}

/** The settings file's first contents: what the service reads, commented until filled in. */
function envTemplate(service: Service): string {
  const set = (name: string, example: string) =>
    process.env[name] ? `${name}=${process.env[name]}` : `# ${name}=${example}`
  return service === 'agent'
    ? [
        '# toehold agent settings (read by its systemd unit).',
        set('TOEHOLD_RELAY', 'wss://relay.example.com'),
        set('TOEHOLD_REGISTRATION_TOKEN', "<the relay's token, needed for the first connection>"),
        '',
      ].join('\n')
    : [
        '# toehold relay settings (read by its systemd unit).',
        set('RELAY_PUBLIC_URL', 'https://relay.example.com'),
        set('RELAY_REGISTRATION_TOKEN', '<at least 24 random characters: openssl rand -base64 32>'),
        'RELAY_TRUST_PROXY=1',
        '',
      ].join('\n')
}

function systemctl(args: string[], done: string[]): void {
  const result = spawnSync('systemctl', args, { encoding: 'utf8' })
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? result.stderr.trim().split('\n')[0] ?? ''
    throw new CliError(`systemctl ${args.join(' ')} failed: ${why}`)
  }
  done.push(`ran systemctl ${args.join(' ')}`)
}

function install(where: Layout, options: Options): string[] {
  const { service } = where
  if (service === 'relay' && process.getuid?.() !== 0)
    throw new CliError(
      'the relay is a system service: run as root, e.g. `sudo "$(command -v toehold)" service install relay`',
    )
  const entry = realpathSync(process.argv[1] as string)
  const paths = { node: process.execPath, entry }
  if (service === 'relay' && [paths.node, entry].some((p) => /^\/(root|home)\//.test(p)))
    throw new CliError(
      `the relay's user cannot read ${entry} (under a home directory): install Node and toehold system-wide (npm install -g as root)`,
    )
  const done: string[] = []
  mkdirSync(dirname(where.unit), { recursive: true })
  const home = options.home ?? process.env.TOEHOLD_HOME
  writeFileSync(
    where.unit,
    unitFor(service)({
      ...paths,
      envFile: where.envFile,
      ...(service === 'agent'
        ? { path: process.env.PATH ?? '', ...(home ? { home: realpathOr(home) } : {}) }
        : {}),
    }),
  )
  done.push(`wrote ${where.unit}`)
  if (existsSync(where.envFile)) done.push(`kept ${where.envFile}`)
  else {
    mkdirSync(dirname(where.envFile), { recursive: true, mode: 0o700 })
    writeFileSync(where.envFile, envTemplate(service), { mode: 0o600 })
    chmodSync(where.envFile, 0o600)
    done.push(`wrote ${where.envFile} (0600): fill in its settings`)
  }
  systemctl([...where.scope, 'daemon-reload'], done)
  systemctl([...where.scope, 'enable', '--now', unitName(service)], done)
  if (service === 'agent') {
    const user = userInfo().username
    const linger = spawnSync('loginctl', ['enable-linger', user], { encoding: 'utf8' })
    done.push(
      linger.status === 0
        ? `ran loginctl enable-linger ${user} (the agent keeps running while you are logged out)`
        : `could not enable linger (${linger.error?.message ?? linger.stderr.trim()}): run \`sudo loginctl enable-linger ${user}\``,
    )
  }
  return done
}

const realpathOr = (path: string) => (existsSync(path) ? realpathSync(path) : path)

function uninstall(where: Layout): string[] {
  const done: string[] = []
  if (!existsSync(where.unit)) throw new CliError(`${where.unit} is not installed`)
  systemctl([...where.scope, 'disable', '--now', unitName(where.service)], done)
  rmSync(where.unit)
  done.push(`removed ${where.unit}`)
  systemctl([...where.scope, 'daemon-reload'], done)
  if (existsSync(where.envFile)) done.push(`kept ${where.envFile} (your settings)`)
  return done
}

/** `systemctl is-enabled` / `is-active` print one word and exit non-zero for "no": keep the word. */
function ask(where: Layout, verb: string): string {
  try {
    return execFileSync('systemctl', [...where.scope, verb, unitName(where.service)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? '').trim() || 'unknown'
  }
}

function status(where: Layout) {
  const installed = existsSync(where.unit)
  return {
    service: where.service,
    unit: where.unit,
    installed,
    enabled: installed ? ask(where, 'is-enabled') : 'not-installed',
    active: installed ? ask(where, 'is-active') : 'inactive',
  }
}

export function registerService(program: Command): void {
  const service = program
    .command('service')
    .description('install, remove or check the systemd unit of the agent or the relay')
  const withOptions = (command: Command) =>
    command
      .option('--json', 'print JSON')
      .option('--unit-dir <dir>', 'where the unit goes (default: systemd user or system units)')
      .option(
        '--settings <file>',
        'its settings file (default ~/.config/toehold/agent.env or /etc/toehold/relay.env)',
      )
  const which = (name: string): Service => {
    if (name !== 'agent' && name !== 'relay') throw new CliError(`say agent or relay, not ${name}`)
    return name
  }
  /** Runs a (synchronous) service action: --json prints its result, else `human(result)`. */
  const act =
    <T>(body: (name: string, options: Options) => T, human: (result: T) => string) =>
    (name: string, options: Options) => {
      try {
        const result = body(name, options)
        if (options.json) printJson(result)
        else process.stdout.write(`${human(result)}\n`)
      } catch (error) {
        if (!(error instanceof CliError)) throw error
        if (options.json) process.stdout.write(`${JSON.stringify({ error: error.message })}\n`)
        process.stderr.write(`toehold: ${error.message}\n`)
        process.exitCode = 1
      }
    }
  const steps = (result: { done: string[] }) => result.done.join('\n')

  withOptions(
    service
      .command('install <agent|relay>')
      .description("write the unit with this installation's paths and enable it")
      .option('--home <dir>', "the agent's TOEHOLD_HOME (default ~/.toehold)"),
  )
    .addHelpText('after', '\nExample:\n  toehold service install agent')
    .action(
      act((name, options) => ({ done: install(layout(which(name), options), options) }), steps),
    )
  withOptions(service.command('uninstall <agent|relay>').description('disable and remove the unit'))
    .addHelpText('after', '\nExample:\n  toehold service uninstall agent')
    .action(act((name, options) => ({ done: uninstall(layout(which(name), options)) }), steps))
  withOptions(
    service.command('status <agent|relay>').description('is the unit installed, enabled, running'),
  )
    .addHelpText('after', '\nExample:\n  toehold service status relay')
    .action(
      act(
        (name, options) => status(layout(which(name), options)),
        (r) => (r.installed ? `${r.unit}: ${r.enabled}, ${r.active}` : `${r.unit}: not installed`),
      ),
    )
}
