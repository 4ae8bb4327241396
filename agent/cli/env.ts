// toehold env set|unset|list [-g|NAME] — variables for apps (PORT is set by the agent) and for
// git (GIT_TOKEN / REV_TOKEN / GIT_USERNAME).
import type { Command } from 'commander'
import type { Client } from './client.ts'
import { CliError } from './client.ts'
import { appName, clientCommand, type Options, readStdin, run } from './command.ts'
import { table } from './output.ts'

/** `[NAME] KEY [VALUE]`: the scope is -g (global), the NAME given, or the current directory's app. */
async function scope(
  client: Client,
  options: Options,
  args: string[],
  wanted: number,
): Promise<{ app?: string; rest: string[] }> {
  if (args.length < wanted || args.length > wanted + 1)
    throw new CliError(
      `expected ${wanted === 2 ? '[NAME] KEY VALUE (or KEY --value-stdin)' : '[NAME] KEY'}`,
    )
  const named = args.length === wanted + 1
  if (options.global) {
    if (named) throw new CliError('-g and NAME exclude each other')
    return { rest: args }
  }
  return {
    app: await appName(client, named ? args[0] : undefined),
    rest: named ? args.slice(1) : args,
  }
}

export function registerEnv(program: Command): void {
  const env = program.command('env').description('environment variables for apps and git')

  clientCommand(
    env
      .command('set <args...>')
      .description('set KEY to VALUE for an app (or -g for all)')
      .option('-g, --global', 'for every app')
      .option('--host <host>', 'with -g GIT_TOKEN: the one git host the global token goes to')
      .option(
        '--value-stdin',
        'read VALUE from standard input (for tokens: never in argv or shell history)',
      ),
    'printf %s "$TOKEN" | toehold env set blog GIT_TOKEN --value-stdin',
  ).action((args: string[], options: Options) =>
    run(
      options,
      async (client) => {
        const fromStdin = options.valueStdin === true
        const { app, rest } = await scope(client, options, args, fromStdin ? 1 : 2)
        const host = options.host as string | undefined
        if (host !== undefined) {
          if (app !== undefined || rest[0] !== 'GIT_TOKEN')
            throw new CliError('--host is for the global GIT_TOKEN (env set -g GIT_TOKEN --host …)')
          await client.request('PUT', '/env', { key: 'GIT_TOKEN_HOST', value: host.toLowerCase() })
        }
        return client.request<{ app: string | null; key: string }>('PUT', '/env', {
          app,
          key: rest[0],
          value: fromStdin ? await readStdin('--value-stdin') : rest[1],
        })
      },
      (result) => `set ${result.key}${result.app ? ` for ${result.app}` : ' (global)'}`,
    ),
  )

  clientCommand(
    env
      .command('unset <args...>')
      .description('remove KEY')
      .option('-g, --global', 'the global value'),
    'toehold env unset -g GIT_TOKEN',
  ).action((args: string[], options: Options) =>
    run(
      options,
      async (client) => {
        const { app, rest } = await scope(client, options, args, 1)
        return client.request<{ key: string; removed: boolean }>('DELETE', '/env', {
          app,
          key: rest[0],
        })
      },
      (result) => (result.removed ? `removed ${result.key}` : `${result.key} was not set`),
    ),
  )

  clientCommand(
    env
      .command('list [name]')
      .description('list variables of an app (or -g, the global ones)')
      .option('-g, --global', 'the global ones'),
    'toehold env list blog',
  ).action((name: string | undefined, options: Options) =>
    run(
      options,
      async (client) => {
        const app = options.global ? undefined : await appName(client, name)
        return client.request<Record<string, string>>(
          'GET',
          `/env${app ? `?app=${encodeURIComponent(app)}` : ''}`,
        )
      },
      (vars) => (Object.keys(vars).length ? table(Object.entries(vars)) : 'no variables set'),
    ),
  )
}
