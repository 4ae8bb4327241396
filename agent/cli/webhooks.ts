// toehold webhook enable|disable|status|rotate [NAME].
import type { Command } from 'commander'
import {
  PROVIDERS,
  type RegisterOutcome,
  type WebhookIssued,
  type WebhookStatus,
} from '../api/contract.ts'
import { ago } from '../core/format.ts'
import { CliError } from './client.ts'
import { appName, clientCommand, type Options, readStdin, run } from './command.ts'
import { paint, status } from './output.ts'

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

const HOSTS: Record<string, string> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  gitea: 'Gitea',
  bitbucket: 'Bitbucket',
}

/** What registration did, ending with whether the host's test delivery came through. */
export function describeRegistration(outcome: RegisterOutcome): string[] {
  const host = HOSTS[outcome.host ?? ''] ?? 'the git host'
  if (outcome.mode !== 'auto') {
    return [
      paint('yellow', `not registered on ${host}: ${outcome.reason ?? 'unknown reason'}`),
      outcome.mode === 'polling'
        ? 'The app polls its branch instead.'
        : 'Paste the URL and secret by hand (or give a token with the scope, then --register again):',
    ]
  }
  const did = outcome.created ? 'created' : 'updated'
  const pruned = outcome.pruned ? `, ${outcome.pruned} duplicate(s) deleted` : ''
  const lines = [
    `${paint('green', `registered on ${host}`)}: hook ${outcome.hookId} ${did}${pruned}`,
  ]
  const { event, arrived } = outcome.test
  if (event === null) lines.push(`${host} sends no test delivery: the first push proves the path.`)
  else if (!arrived) {
    lines.push(
      paint(
        'yellow',
        `${host}'s ${event} did not arrive through the relay yet: check \`toehold webhook status\` in a moment.`,
      ),
    )
  } else if (arrived.status < 300) {
    lines.push(paint('green', `${host}'s ${event} arrived through the relay: the path works.`))
  } else {
    lines.push(
      paint(
        'red',
        `${host}'s ${event} arrived but was answered ${arrived.status} (${arrived.result}).`,
      ),
    )
  }
  return lines
}

export const showSecret = (hook: WebhookIssued) => {
  const registered = hook.registration?.mode === 'auto'
  return [
    `webhook ${paint('green', 'enabled')} for ${hook.app} (${hook.provider})`,
    ...(hook.registration ? describeRegistration(hook.registration) : []),
    `  URL     ${hook.url ?? '(relay not known yet: start the agent with --relay)'}`,
    `  secret  ${hook.secret}`,
    `  CI trigger token  ${hook.triggerToken}  (curl -X POST -H "Authorization: Bearer <token>" URL)`,
    '',
    ...(registered ? [] : [where(hook.provider)]),
    ...hook.notes.map((note) => paint('yellow', `note: ${note}`)),
    paint(
      'dim',
      'The secret and token are shown only by enable and rotate; `toehold webhook rotate` makes new ones.',
    ),
  ].join('\n')
}

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
      .option('--secret-stdin', 'use a secret your git host generated, read from standard input')
      .option(
        '--register',
        "create or update the hook through the git host's API (the app's GIT_TOKEN)",
      )
      .option(
        '--poll',
        'with --register: poll the branch when the token may not register the hook',
      ),
    'toehold webhook enable blog --provider github --register',
  ).action((name: string | undefined, options: Options) =>
    run(
      options,
      async (client) => {
        const provider = providerOption(options)
        const secret = options.secretStdin ? await readStdin('--secret-stdin') : undefined
        return client.request<WebhookIssued>('POST', path(await appName(client, name), '/enable'), {
          provider,
          secret,
          register: Boolean(options.register),
          poll: Boolean(options.poll),
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
        client.request<{ app: string; notes: string[] }>(
          'POST',
          path(await appName(client, name), '/disable'),
        ),
      (hook) =>
        [
          `webhook disabled for ${hook.app}`,
          ...hook.notes.map((note) => paint('yellow', `note: ${note}`)),
        ].join('\n'),
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
        client.request<WebhookIssued>('POST', path(await appName(client, name), '/rotate'), {
          provider: providerOption(options),
        }),
      showSecret,
    ),
  )

  clientCommand(
    webhook
      .command('status [name]')
      .description(
        'URL, provider, mode, the hook on the git host and the last delivery (never the secret)',
      ),
    'toehold webhook status blog',
  ).action((name: string | undefined, options: Options) =>
    run(
      options,
      async (client) =>
        client.request<WebhookStatus>('GET', `${path(await appName(client, name))}?check=1`),
      (hook) => {
        const last = hook.lastDelivery
        const reg = hook.registration
        const mode = reg
          ? `${reg.mode}${reg.hookId && reg.mode === 'auto' ? ` (${HOSTS[reg.host ?? ''] ?? reg.host} hook ${reg.hookId})` : ''}${reg.reason ? `: ${reg.reason}` : ''}`
          : 'manual'
        return [
          `${hook.app}  ${hook.provider ? (hook.enabled ? paint('green', 'enabled') : paint('gray', 'disabled')) : 'not set up'}${hook.provider ? ` (${hook.provider})` : ''}`,
          `  URL            ${hook.url ?? '-'}`,
          `  mode           ${mode}`,
          ...(reg?.problem ? [paint('yellow', `  problem        ${reg.problem}`)] : []),
          `  last delivery  ${last ? `${ago(last.at)}: ${last.event ?? '-'} → ${last.status} ${status(last.result)}${last.deployment ? ` (deployment #${last.deployment})` : ''}` : 'none yet'}`,
        ].join('\n')
      },
    ),
  )

  clientCommand(
    webhook
      .command('register')
      .description("re-register every hook the agent manages (after the relay's URL changed)")
      .option('--all', 'every app whose hook is in auto mode'),
    'toehold webhook register --all',
  ).action((options: Options) =>
    run(
      options,
      async (client) => {
        if (!options.all)
          throw new CliError('name what to register: --all (or `webhook enable NAME --register`)')
        return client.request<RegisterOutcome[]>('POST', '/webhooks/register-all')
      },
      (outcomes) =>
        outcomes.length === 0
          ? 'no hooks are registered through a git host (use `webhook enable NAME --register`)'
          : outcomes
              .map((outcome) =>
                [
                  `${outcome.app}:`,
                  ...describeRegistration(outcome).map((line) => `  ${line}`),
                ].join('\n'),
              )
              .join('\n'),
    ),
  )
}
