// toehold apply FILE [--dry-run] [--prune], toehold export: the apps as one TOML file.
import type { Command } from 'commander'
import type { ApplyRefusal, ApplyResult, ApplyStep } from '../api/contract.ts'
import type { AppsFile } from './apps-file.ts'
import { CliError, type Client } from './client.ts'
import { clientCommand, type Options, run } from './command.ts'
import { paint, table } from './output.ts'
import { showSecret } from './webhooks.ts'

/** The lazy boundary of TOML (smol-toml): only `apply` and `export` read or write it. */
const appsFile = () => import('./apps-file.ts')

async function send(client: Client, file: AppsFile, options: Options): Promise<ApplyResult> {
  const response = await client.fetch('/apply', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      file: file.doc,
      dryRun: Boolean(options.dryRun),
      prune: Boolean(options.prune),
    }),
  })
  const body: unknown = await response.json().catch(() => null)
  if (response.ok) return body as ApplyResult
  const refused = body as Partial<ApplyRefusal> | null
  if (refused?.error && refused.path)
    throw (await appsFile()).fileError(file, refused.path, refused.error)
  throw new CliError(refused?.error ?? `HTTP ${response.status}`)
}

const ACTION_STYLE = {
  create: 'green',
  update: 'yellow',
  remove: 'red',
  unchanged: 'gray',
} as const

function describeStep(step: ApplyStep): string {
  const head = `${paint(ACTION_STYLE[step.action], step.action)} ${paint('bold', step.app)}${step.deploy ? ' (deploys)' : step.restart ? ' (restarts)' : ''}`
  const rows = step.changes.map((change) => [
    `    ${change.field}`,
    change.from === null
      ? (change.to ?? '')
      : `${change.from} → ${change.to ?? paint('red', 'removed')}`,
  ])
  return [
    head,
    ...(rows.length ? [table(rows)] : []),
    ...step.notes.map((note) => paint('yellow', `    note: ${note}`)),
  ].join('\n')
}

function describe(result: ApplyResult): string {
  const changing = result.steps.filter((step) => step.action !== 'unchanged')
  const same = result.steps.filter((step) => step.action === 'unchanged').map((step) => step.app)
  const lines = changing.map(describeStep)
  if (same.length) lines.push(paint('gray', `unchanged: ${same.join(', ')}`))
  if (result.unlisted.length)
    lines.push(`not in the file (kept; --prune removes them): ${result.unlisted.join(', ')}`)
  if (changing.length === 0) lines.push('nothing to change')
  else if (result.dryRun) lines.push(paint('dim', 'dry run: nothing changed'))
  for (const hook of result.webhooks) lines.push('', showSecret(hook))
  for (const { app, deployment } of result.deployments)
    lines.push(`deploying ${app}: #${deployment} (toehold logs ${app} ${deployment} --follow)`)
  return lines.join('\n')
}

const HEADER = `# toehold apps: \`toehold apply FILE\` makes the agent's apps match this file.
# Secrets are not exported: each env value is a reference to a variable of the environment
# \`toehold apply\` runs in ("\${NAME}"), or write { file = "~/path/to/secret" }.
`

export function registerApply(program: Command): void {
  clientCommand(
    program
      .command('apply <file>')
      .description('make the apps match a TOML file (create, update; remove with --prune)')
      .option('--dry-run', 'print the plan and change nothing')
      .option('--prune', 'remove apps the file does not name'),
    'toehold apply toehold.toml --dry-run',
  ).action((path: string, options: Options) =>
    run(
      options,
      async (client) => {
        const { loadFile } = await appsFile()
        let file: AppsFile
        try {
          file = loadFile(path)
        } catch (error) {
          if (error instanceof CliError) throw error
          throw new CliError(`${path}: ${(error as Error).message}`)
        }
        return send(client, file, options)
      },
      describe,
    ),
  )

  clientCommand(
    program.command('export').description("print the agent's apps as a toehold.toml (no secrets)"),
    'toehold export > toehold.toml',
  ).action(async (options: Options) => {
    const { toToml } = await appsFile()
    return run(
      options,
      (client) => client.request<{ apps: Record<string, unknown>[] }>('GET', '/export'),
      (file) => `${HEADER}\n${toToml(file)}`,
    )
  })
}
