// toehold deploy|rollback|start|stop|restart|logs: deployments and the app's process.
import type { Command } from 'commander'
import { type AgentEvent, type AppRuntime, type Deployment, isFinal } from '../api/contract.ts'
import { short } from '../core/format.ts'
import { CliError, type Client } from './client.ts'
import { appName, clientCommand, type Options, run } from './command.ts'
import { paint, status } from './output.ts'
import { readSse } from './sse.ts'

type DeploymentEvent = Extract<AgentEvent, { type: 'deployment' }>

const path = (app: string) => `/apps/${encodeURIComponent(app)}`
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

/**
 * Runs `begin` (which asks for a deployment) and follows that deployment through the live
 * stream to its end, printing each stage with the time since it was requested. The stream is
 * opened first, so not even the first stage can be missed.
 */
async function follow(
  client: Client,
  app: string,
  quiet: boolean,
  begin: () => Promise<Deployment>,
): Promise<Deployment> {
  const abort = new AbortController()
  const response = await client.fetch(`/events?app=${encodeURIComponent(app)}`, {
    signal: abort.signal,
  })
  if (!response.ok || !response.body)
    throw new CliError(`cannot open the live stream: HTTP ${response.status}`)
  const stream = readSse(response.body)
  try {
    for (;;) {
      const next = await stream.next()
      if (next.done) throw new CliError('the agent closed the live stream')
      if (next.value.event === 'ready') break
    }
    const deployment = await begin()
    const since = Date.parse(deployment.createdAt)
    const say = (text: string) => quiet || process.stdout.write(`${text}\n`)
    say(`${paint('bold', `${app} #${deployment.id}`)} (${deployment.trigger})`)
    for await (const { event, data } of stream) {
      if (event !== 'deployment') continue
      const change = JSON.parse(data) as DeploymentEvent
      if (change.deployment !== deployment.id) continue
      const label = change.status === 'running' ? (change.stage ?? '') : status(change.status)
      say(`  ${seconds(Date.parse(change.at) - since).padStart(7)}  ${label}`)
      if (isFinal(change.status)) {
        return await client.request<Deployment>('GET', `${path(app)}/deployments/${deployment.id}`)
      }
    }
    throw new CliError(`the live stream ended before #${deployment.id} did (is the agent running?)`)
  } finally {
    abort.abort()
  }
}

/** The outcome of a followed deployment; a failure also shows the end of its build log. */
async function outcome(client: Client, d: Deployment): Promise<string> {
  const total = d.timings.total === undefined ? '' : ` in ${seconds(d.timings.total)}`
  const what = `${short(d.commit)}${d.message ? ` ${d.message}` : ''}`
  if (d.status === 'live')
    return `${paint('green', 'live')}: ${what}${total}${d.reason ? `\n${d.reason}` : ''}`
  if (d.status === 'unchanged') return `${status('unchanged')}: ${what} is already live`
  if (d.status === 'superseded')
    return `${status('superseded')}: ${d.reason ?? 'a newer request replaced it'}`
  let tail = ''
  if (d.stage === 'installing' || d.stage === 'building') {
    const { lines } = await client.request<{ lines: string[] }>(
      'GET',
      `/logs/${encodeURIComponent(d.app)}/${d.id}?tail=15&format=json`,
    )
    tail = `\n${paint('gray', lines.map((line) => `  | ${line}`).join('\n'))}`
  }
  return `${paint('red', 'failed')} at ${d.stage}: ${d.reason}${tail}`
}

/** deploy and rollback: queue it, or with --follow, watch it to the end (exit 1 if it failed). */
function deployment(
  options: Options,
  name: string | undefined,
  ask: (client: Client, app: string) => Promise<Deployment>,
) {
  let text = ''
  return run(
    options,
    async (client) => {
      const app = await appName(client, name)
      if (!options.follow) {
        const queued = await ask(client, app)
        text = `queued ${app} #${queued.id} (toehold logs ${app} ${queued.id} --follow)`
        return queued
      }
      const result = await follow(client, app, Boolean(options.json), () => ask(client, app))
      if (result.status === 'failed') process.exitCode = 1
      if (!options.json) text = await outcome(client, result)
      return result
    },
    () => text,
  )
}

export function registerDeploys(program: Command): void {
  clientCommand(
    program
      .command('deploy [name]')
      .description("deploy the tracked branch's head (or --ref) now")
      .option('--ref <ref>', 'deploy exactly this branch, tag or commit')
      .option('--force', 'redeploy even if the commit is already live')
      .option('--follow', 'show the stages live; exit 1 if the deployment fails'),
    'toehold deploy blog --follow',
  ).action((name: string | undefined, options: Options) =>
    deployment(options, name, (client, app) =>
      client.request<Deployment>('POST', `${path(app)}/deploy`, {
        ...(options.ref ? { ref: options.ref } : {}),
        ...(options.force ? { force: true } : {}),
      }),
    ),
  )

  clientCommand(
    program
      .command('rollback [name]')
      .description('switch back to a kept release (default: the one before the live one)')
      .option('--to <release>', 'release name, its number, or a commit prefix')
      .option('--follow', 'show the stages live; exit 1 if it fails'),
    'toehold rollback blog --to 006 --follow',
  ).action((name: string | undefined, options: Options) =>
    deployment(options, name, (client, app) =>
      client.request<Deployment>(
        'POST',
        `${path(app)}/rollback`,
        options.to ? { to: options.to } : {},
      ),
    ),
  )

  const actions = {
    start: 'start the current release (and keep it running)',
    stop: 'stop the app; it stays stopped (deploys only prepare releases) until start',
    restart: 'stop and start the current release',
  }
  for (const [action, description] of Object.entries(actions)) {
    clientCommand(
      program.command(`${action} [name]`).description(description),
      `toehold ${action} blog`,
    ).action((name: string | undefined, options: Options) =>
      run(
        options,
        async (client) =>
          client.request<AppRuntime & { app: string }>(
            'POST',
            `${path(await appName(client, name))}/${action}`,
          ),
        (result) =>
          `${result.app} ${status(result.state)}${result.pid ? ` (pid ${result.pid})` : ''}`,
      ),
    )
  }

  clientCommand(
    program
      .command('logs [name] [deployment]')
      .description("a deployment's build log (default: the latest), or the app's output with --app")
      .option('--tail <n>', 'only the last N lines')
      .option('--follow', 'keep printing new lines (until the deployment ends)')
      .option('--app', "the app's own stdout and stderr"),
    'toehold logs blog 7 --tail 50   (also: 007, a commit prefix, or --app --follow)',
  ).action((name: string | undefined, which: string | undefined, options: Options) => {
    const follow = Boolean(options.follow)
    return run(
      // A followed log streams straight to stdout (NDJSON with --json).
      follow ? { ...options, json: false } : options,
      async (client) => {
        if (options.app && which) throw new CliError('--app and DEPLOYMENT exclude each other')
        if (options.tail !== undefined && !/^\d+$/.test(String(options.tail)))
          throw new CliError('--tail must be a number of lines')
        const app = await appName(client, name)
        const query = new URLSearchParams()
        if (options.tail) query.set('tail', String(options.tail))
        if (options.json || !follow) query.set('format', 'json')
        if (follow) query.set('follow', '1')
        const url = `/logs/${encodeURIComponent(app)}/${options.app ? 'app' : encodeURIComponent(which ?? 'latest')}?${query}`
        if (!follow) return client.request<{ lines: string[] }>('GET', url)
        const response = await client.fetch(url)
        if (!response.ok || !response.body) {
          const body = (await response.json().catch(() => ({}))) as { error?: string }
          throw new CliError(body.error ?? `HTTP ${response.status}`)
        }
        for await (const chunk of response.body) process.stdout.write(chunk)
        return null
      },
      (log) => (log?.lines.length ? log.lines.join('\n') : null),
    )
  })
}
