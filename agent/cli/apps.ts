// toehold app add|list|remove, toehold status.
import type { Command } from 'commander'
import { parseDuration } from '../../shared/units.ts'
import { type AppStatus, STRATEGIES, type Strategy } from '../api/contract.ts'
import { ago, short } from '../core/format.ts'
import { CliError } from './client.ts'
import { clientCommand, type Options, readStdin, run } from './command.ts'
import { paint, status, table } from './output.ts'

type Added = AppStatus & { warnings: string[]; deployment: number | null }

function describe(app: AppStatus): string {
  const last = app.lastDeployment
  const lines = [
    `${paint('bold', app.app)}  ${status(app.state)}${app.desired === 'stopped' ? ' (stopped by you)' : ''}`,
    `  repo      ${app.repo} (${app.track ? `${app.track}${app.tag ? `, live tag ${app.tag}` : ''}` : app.branch})`,
    `  release   ${app.release ?? '-'}  commit ${short(app.commit)}${app.pid ? `  pid ${app.pid}` : ''}`,
    `  port      ${app.port ?? '-'}${app.bind ? ` on ${app.bind}` : ''}  health ${app.health}  ${app.port === null ? 'restart' : app.strategy}${app.hostname ? `  host ${app.hostname}` : ''}`,
    `  webhook   ${app.webhook ? `${app.webhook.enabled ? 'enabled' : 'disabled'} (${app.webhook.provider}, ${app.webhook.mode}) ${app.webhook.url ?? ''}` : 'not set up'}`,
  ]
  if (app.webhook?.problem) lines.push(paint('yellow', `            ${app.webhook.problem}`))
  if (app.pin) {
    lines.push(
      `  pinned    ${paint('yellow', `rolled back to ${app.pin.release} ${ago(app.pin.since)}`)}: webhooks, polls and convergence do not deploy ${short(app.pin.commit)} or older\n            a new commit on ${app.branch}, or \`toehold deploy ${app.app}\`, lifts the pin`,
    )
  }
  if (last) {
    lines.push(
      `  last      #${last.id} ${status(last.status)}${last.stage && last.status !== 'live' ? ` at ${last.stage}` : ''} ${short(last.commit)} ${ago(last.finishedAt ?? last.startedAt)}${last.reason ? `\n            ${paint('red', last.reason)}` : ''}`,
    )
  }
  return lines.join('\n')
}

export function registerApps(program: Command): void {
  const app = program.command('app').description('add, list and remove apps')

  clientCommand(
    app
      .command('add <name>')
      .description('register an app (without deploying it unless --deploy)')
      .requiredOption('--repo <url>', 'git remote URL or path')
      .option('--branch <branch>', 'branch to track', 'main')
      .option('--start <cmd>', 'start command when package.json has no "toes" or "start" script')
      .option('--port <port>', "the app's public port: the agent listens there and proxies to it")
      .option('--bind <addr>', 'address of that port (default: all interfaces)')
      .option(
        '--strategy <strategy>',
        'blue-green (start beside the old release, switch) or restart (stop, then start)',
        'blue-green',
      )
      .option('--hostname <name>', "serve the app on the agent's --http-port under this Host")
      .option('--health <path>', 'health check path', '/')
      .option('--poll <interval>', 'poll the branch on an interval (e.g. 5m) instead of webhooks')
      .option('--track <tags:PATTERN>', 'deploy the newest tag matching a glob (e.g. tags:v*)')
      .option('--prereleases', 'with --track: pre-release versions and releases count too')
      .option('--deploy', 'deploy the branch head (or newest tag) at once')
      .option('--token-stdin', "read the app's GIT_TOKEN (private remotes) from standard input"),
    'toehold app add blog --repo https://github.com/me/blog --port 3000 --deploy',
  ).action((name: string, options: Options) =>
    run(
      options,
      async (client) => {
        const port = options.port === undefined ? null : Number(options.port)
        if (port !== null && !(Number.isInteger(port) && port > 0 && port < 65536)) {
          throw new CliError('--port must be a number from 1 to 65535')
        }
        if (!STRATEGIES.includes(options.strategy as Strategy))
          throw new CliError(`--strategy must be one of: ${STRATEGIES.join(', ')}`)
        let pollMs: number | null = null
        try {
          pollMs =
            options.poll === undefined ? null : parseDuration('--poll', options.poll as string)
        } catch (error) {
          throw new CliError((error as Error).message)
        }
        if (options.prereleases && options.track === undefined)
          throw new CliError('--prereleases goes with --track tags:PATTERN')
        const gitToken = options.tokenStdin ? await readStdin('--token-stdin') : undefined
        return client.request<Added>('POST', '/apps', {
          gitToken,
          name,
          repo: options.repo,
          branch: options.branch,
          start: options.start ?? null,
          port,
          bind: options.bind ?? null,
          strategy: options.strategy,
          hostname: (options.hostname as string | undefined)?.toLowerCase() ?? null,
          health: options.health,
          pollMs,
          track: options.track ?? null,
          prereleases: Boolean(options.prereleases),
          deploy: Boolean(options.deploy),
        })
      },
      (added) =>
        [
          `added ${added.app} (${added.repo}, ${added.track ?? `branch ${added.branch}`})`,
          ...added.warnings.map((w) => paint('yellow', `warning: ${w}`)),
          added.deployment
            ? `deploying: #${added.deployment} (toehold logs ${added.app} ${added.deployment} --follow)`
            : `next: toehold webhook enable ${added.app}`,
        ].join('\n'),
    ),
  )

  clientCommand(app.command('list').description('list apps'), 'toehold app list --json').action(
    (options: Options) =>
      run(
        options,
        (client) => client.request<AppStatus[]>('GET', '/apps'),
        (apps) =>
          apps.length === 0
            ? 'no apps yet: toehold app add NAME --repo URL'
            : table(
                apps.map((a) => [
                  a.app,
                  status(a.state),
                  short(a.commit),
                  a.track ?? a.branch,
                  a.port ? String(a.port) : '-',
                  a.repo,
                ]),
                ['APP', 'STATE', 'COMMIT', 'TRACKS', 'PORT', 'REPO'],
              ),
      ),
  )

  clientCommand(
    app.command('remove <name>').description('stop an app and forget it'),
    'toehold app remove blog',
  ).action((name: string, options: Options) =>
    run(
      options,
      (client) =>
        client.request<{ removed: string; notes: string[] }>(
          'DELETE',
          `/apps/${encodeURIComponent(name)}`,
        ),
      (result) =>
        [
          `removed ${result.removed}`,
          ...result.notes.map((note) => paint('yellow', `note: ${note}`)),
        ].join('\n'),
    ),
  )

  clientCommand(
    program.command('status [name]').description('the agent, its relay connection and its apps'),
    'toehold status blog',
  ).action((name: string | undefined, options: Options) =>
    run(
      options,
      async (client) =>
        name
          ? client.request<AppStatus>('GET', `/apps/${encodeURIComponent(name)}`)
          : client.request<{
              instance: string
              relay: { url: string; connected: boolean; since: string; error: string | null } | null
              apps: AppStatus[]
              sandbox: 'bubblewrap' | 'none'
            }>('GET', '/status'),
      (result) => {
        if ('app' in result) return describe(result)
        const relay = result.relay
        const head = [
          `instance  ${result.instance}`,
          `relay     ${relay ? `${relay.url} ${relay.connected ? paint('green', 'connected') : paint('red', 'disconnected')} ${ago(relay.since)}${relay.error ? ` (${relay.error})` : ''}` : 'none (--relay not set)'}`,
          `sandbox   ${result.sandbox === 'bubblewrap' ? 'bubblewrap' : paint('red', "none: apps can read the agent's secrets (install bubblewrap)")}`,
        ]
        return [
          ...head,
          '',
          ...(result.apps.length
            ? result.apps.map(describe)
            : ['no apps yet: toehold app add NAME --repo URL']),
        ].join('\n')
      },
    ),
  )
}
