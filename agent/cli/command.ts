// Shared shape of every client command: --json, --api, --home, one-line errors, and the app
// NAME that defaults to the app whose repo is the current directory.
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { AppStatus } from '../api/contract.ts'
import { CliError, type Client, type ClientOptions, connect } from './client.ts'
import { printJson } from './output.ts'

export type Options = ClientOptions & Record<string, unknown>

/** Adds the client options and help example to a command. */
export function clientCommand(command: Command, example: string): Command {
  return command
    .option('--json', 'print JSON')
    .option(
      '--api <url>',
      'agent API URL (env TOEHOLD_API; default from TOEHOLD_HOME/agent/agent.json)',
    )
    .option('--home <dir>', 'agent home (env TOEHOLD_HOME, default ~/.toehold)')
    .addHelpText('after', `\nExample:\n  ${example}`)
}

/**
 * Runs a command body with a client; prints `result` as JSON with --json, else via `human`.
 * Errors become one line on stderr and exit code 1.
 */
export async function run<T>(
  options: Options,
  body: (client: Client) => Promise<T>,
  human: (result: T) => string | null,
): Promise<void> {
  try {
    const result = await body(connect(options))
    if (options.json) printJson(result)
    else {
      const text = human(result)
      if (text) process.stdout.write(`${text}\n`)
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    if (options.json) process.stdout.write(`${JSON.stringify({ error: error.message })}\n`)
    process.stderr.write(`toehold: ${error.message}\n`)
    process.exitCode = 1
  }
}

/** A secret piped in on standard input, minus one trailing newline (never from a TTY prompt). */
export async function readStdin(flag: string): Promise<string> {
  if (process.stdin.isTTY)
    throw new CliError(`${flag}: pipe it in, e.g. \`pbpaste | toehold … ${flag}\``)
  let text = ''
  for await (const chunk of process.stdin) text += chunk
  return text.replace(/\r?\n$/, '')
}

function normalizeRemote(url: string): string {
  return url
    .trim()
    .replace(/\.git$/, '')
    .replace(/^git@([^:]+):/, 'https://$1/')
    .replace(/^ssh:\/\/git@/, 'https://')
    .replace(/\/\/[^/@]+@/, '//')
    .toLowerCase()
}

/** The named app, else the app whose repo is the current directory (or its origin remote). */
export async function appName(client: Client, name: string | undefined): Promise<string> {
  if (name) return name
  const apps = await client.request<AppStatus[]>('GET', '/apps')
  const here = new Set([resolve('.')])
  try {
    here.add(
      resolve(
        execFileSync('git', ['rev-parse', '--show-toplevel'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim(),
      ),
    )
    here.add(
      normalizeRemote(
        execFileSync('git', ['remote', 'get-url', 'origin'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      ),
    )
  } catch {}
  const match = apps.filter(
    (app) => here.has(resolve(app.repo)) || here.has(normalizeRemote(app.repo)),
  )
  if (match.length === 1 && match[0]) return match[0].app
  if (match.length > 1) {
    throw new CliError(
      `several apps deploy this repository (${match.map((app) => app.app).join(', ')}): name one`,
    )
  }
  const names = apps.map((app) => app.app).join(', ') || 'none yet: add one with `toehold app add`'
  throw new CliError(
    `name an app (the current directory is not one of their repos); apps: ${names}`,
  )
}
