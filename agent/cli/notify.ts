// toehold notify add|list|remove|test: where deployment outcomes are posted.
import type { Command } from 'commander'
import { NOTIFY_FORMATS, NOTIFY_ON, type NotifyAdded, type NotifyTarget } from '../api/contract.ts'
import { ago } from '../core/format.ts'
import { CliError } from './client.ts'
import { clientCommand, type Options, run } from './command.ts'
import { paint, table } from './output.ts'

const oneOf = (flag: string, value: unknown, allowed: readonly string[]) => {
  if (value !== undefined && !allowed.includes(String(value))) {
    throw new CliError(`${flag} must be one of ${allowed.join(', ')}`)
  }
  return value as string | undefined
}

const targetId = (text: string) => {
  if (!/^\d+$/.test(text))
    throw new CliError(`"${text}" is not a target id (see \`toehold notify list\`)`)
  return text
}

export function registerNotify(program: Command): void {
  const notify = program
    .command('notify')
    .description('deploy notifications (json, Slack, Discord, ntfy)')

  clientCommand(
    notify
      .command('add <url>')
      .description('post deployment outcomes to URL')
      .option('--app <name>', 'only this app (default: every app)')
      .option('--on <when>', NOTIFY_ON.join('|'), 'failed')
      .option('--format <format>', NOTIFY_FORMATS.join('|'), 'json'),
    'toehold notify add https://ntfy.sh/my-topic --format ntfy --on all',
  ).action((url: string, options: Options) =>
    run(
      options,
      (client) =>
        client.request<NotifyAdded>('POST', '/notify', {
          url,
          app: (options.app as string | undefined) ?? null,
          on: oneOf('--on', options.on, NOTIFY_ON),
          format: oneOf('--format', options.format, NOTIFY_FORMATS),
        }),
      (added) =>
        [
          `notification target ${added.id} added: ${added.format} to ${added.url} on ${added.on}${added.app ? ` for ${added.app}` : ''}`,
          ...(added.secret
            ? [
                `  signing secret  ${added.secret}`,
                paint(
                  'dim',
                  'Verify with any Standard Webhooks library; the secret is shown only now.',
                ),
              ]
            : []),
        ].join('\n'),
    ),
  )

  clientCommand(
    notify.command('list').description('the notification targets'),
    'toehold notify list',
  ).action((options: Options) =>
    run(
      options,
      (client) => client.request<NotifyTarget[]>('GET', '/notify'),
      (targets) =>
        targets.length === 0
          ? 'no notification targets (add one with `toehold notify add URL`)'
          : table(
              targets.map((t) => [
                String(t.id),
                t.format,
                t.on,
                t.app ?? '(all)',
                t.url,
                ago(t.createdAt),
              ]),
              ['ID', 'FORMAT', 'ON', 'APP', 'URL', 'ADDED'],
            ),
    ),
  )

  clientCommand(
    notify.command('remove <id>').description('stop notifying a target'),
    'toehold notify remove 2',
  ).action((id: string, options: Options) =>
    run(
      options,
      (client) => client.request<{ removed: number }>('DELETE', `/notify/${targetId(id)}`),
      (result) => `notification target ${result.removed} removed`,
    ),
  )

  clientCommand(
    notify.command('test <id>').description('send a test notification now'),
    'toehold notify test 2',
  ).action((id: string, options: Options) =>
    run(
      options,
      async (client) => {
        const result = await client.request<{
          id: number
          delivered: boolean
          reason: string | null
        }>('POST', `/notify/${targetId(id)}/test`)
        if (!result.delivered)
          throw new CliError(`target ${result.id} did not take the test: ${result.reason}`)
        return result
      },
      (result) => `target ${result.id} took the test notification`,
    ),
  )
}
