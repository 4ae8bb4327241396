// toehold webhook enable|disable|status|rotate [NAME].
import type { Command } from 'commander'
import { PROVIDERS } from '../api/contract.ts'
import { ago } from '../core/format.ts'
import { CliError } from './client.ts'
import { appName, clientCommand, type Options, readStdin, run } from './command.ts'
import { paint, status } from './output.ts'

type Enabled = {
  app: string
  url: string | null
  secret: string
  triggerToken: string
  provider: string
  enabled: boolean
  notes: string[]
}
type Status = {
  app: string
  enabled: boolean
  provider: string | null
  url: string | null
  lastDelivery: {
    at: string
    event: string | null
    status: number
    result: string
    deployment: number | null
  } | null
}

function where(provider: string): string {
  const places: Record<string, string> = {
    github:
      'GitHub: Settings → Webhooks → Add webhook; content type application/json; secret above; "Just the push event".',
    gitlab:
      'GitLab: Settings → Webhooks; URL above; "Secret token" = the secret (or paste GitLab\'s signing token with --secret-stdin); trigger: Push events.',
    bitbucket:
      'Bitbucket: Repository settings → Webhooks → Add webhook; URL and Secret above; trigger: Repository push.',
    rev: 'rev.host: repository settings → Webhooks; URL and signing secret above.',
    standard: 'Any Standard Webhooks sender: URL and whsec_ secret above.',
  }
  return places[provider] ?? ''
}

const showSecret = (hook: Enabled) =>
  [
    `webhook ${paint('green', 'enabled')} for ${hook.app} (${hook.provider})`,
    `  URL     ${hook.url ?? '(relay not known yet: start the agent with --relay)'}`,
    `  secret  ${hook.secret}`,
    `  CI trigger token  ${hook.triggerToken}  (curl -X POST -H "Authorization: Bearer <token>" URL)`,
    '',
    where(hook.provider),
    ...hook.notes.map((note) => paint('yellow', `note: ${note}`)),
    paint(
      'dim',
      'The secret and token are shown only by enable and rotate; `toehold webhook rotate` makes new ones.',
    ),
  ].join('\n')

const providerOption = (options: Options) => {
  const provider = options.provider as string | undefined
  if (provider !== undefined && !(PROVIDERS as readonly string[]).includes(provider)) {
    throw new CliError(`--provider must be one of ${PROVIDERS.join(', ')}`)
  }
  return provider
}

export function registerWebhooks(program: Command): void {
  const webhook = program.command('webhook').description("manage an app's webhook")
  const path = (name: string, action = '') => `/apps/${encodeURIComponent(name)}/webhook${action}`

  clientCommand(
    webhook
      .command('enable [name]')
      .description('enable the webhook; prints the URL and secret to paste into your git host')
      .option('--provider <provider>', PROVIDERS.join('|'))
      .option('--secret-stdin', 'use a secret your git host generated, read from standard input'),
    'toehold webhook enable blog --provider github',
  ).action((name: string | undefined, options: Options) =>
    run(
      options,
      async (client) => {
        const provider = providerOption(options)
        const secret = options.secretStdin ? await readStdin('--secret-stdin') : undefined
        return client.request<Enabled>('POST', path(await appName(client, name), '/enable'), {
          provider,
          secret,
        })
      },
      showSecret,
    ),
  )

  clientCommand(
    webhook.command('disable [name]').description('refuse deliveries (404) until enabled again'),
    'toehold webhook disable blog',
  ).action((name: string | undefined, options: Options) =>
    run(
      options,
      async (client) =>
        client.request<Status>('POST', path(await appName(client, name), '/disable')),
      (hook) => `webhook disabled for ${hook.app}`,
    ),
  )

  clientCommand(
    webhook
      .command('rotate [name]')
      .description('issue a new secret (optionally for another provider)')
      .option('--provider <provider>', PROVIDERS.join('|')),
    'toehold webhook rotate blog --provider gitlab',
  ).action((name: string | undefined, options: Options) =>
    run(
      options,
      async (client) =>
        client.request<Enabled>('POST', path(await appName(client, name), '/rotate'), {
          provider: providerOption(options),
        }),
      showSecret,
    ),
  )

  clientCommand(
    webhook
      .command('status [name]')
      .description('URL, provider and the last delivery (never the secret)'),
    'toehold webhook status blog',
  ).action((name: string | undefined, options: Options) =>
    run(
      options,
      async (client) => client.request<Status>('GET', path(await appName(client, name))),
      (hook) => {
        const last = hook.lastDelivery
        return [
          `${hook.app}  ${hook.provider ? (hook.enabled ? paint('green', 'enabled') : paint('gray', 'disabled')) : 'not set up'}${hook.provider ? ` (${hook.provider})` : ''}`,
          `  URL            ${hook.url ?? '-'}`,
          `  last delivery  ${last ? `${ago(last.at)}: ${last.event ?? '-'} → ${last.status} ${status(last.result)}${last.deployment ? ` (deployment #${last.deployment})` : ''}` : 'none yet'}`,
        ].join('\n')
      },
    ),
  )
}
