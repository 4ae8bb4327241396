// GitHub's deliveries as the tests send them to a webhook URL: signed with the hook's secret
// (X-Hub-Signature-256), each on a connection of its own.
import { createHmac, randomUUID } from 'node:crypto'
import { send } from './http.ts'

export type Hook = { url: string; secret: string }

export const hubSignature = (secret: string, body: string) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`

/** A GitHub `event` delivery of `payload`; the answer's status and its JSON body (or null). */
export async function github(hook: Hook, event: string, payload: unknown) {
  const body = JSON.stringify(payload)
  const response = await send(hook.url, {
    body: Buffer.from(body),
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': hubSignature(hook.secret, body),
    },
  })
  const text = response.body.toString('utf8')
  // biome-ignore lint/suspicious/noExplicitAny: tests read the answer field by field
  return { status: response.status, body: (text ? JSON.parse(text) : null) as any }
}

/** A push of `sha` to main. */
export const push = (hook: Hook, sha: string) =>
  github(hook, 'push', { ref: 'refs/heads/main', after: sha, repository: { name: 'app' } })
