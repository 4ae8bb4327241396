// The agent's webhook intake, in the contract's order (docs/ARCHITECTURE.md, "One delivery"):
// app → signature → duplicate → payload → route.
import { createHash } from 'node:crypto'
import type { Delivery } from '../../shared/protocol.ts'
import { tracking } from '../core/tags.ts'
import type { Deployer } from '../deploy/types.ts'
import type { Db } from '../state/db.ts'
import { webhookTarget } from '../state/webhooks.ts'
import type { Answer, DeliveryHandler } from '../tunnel/client.ts'
import { gitEvent, PayloadError, parseBody } from './payload.ts'
import type { DeliveryRecorder } from './record.ts'
import { isRefEvent, tagHint } from './tags.ts'
import { idUnsigned, providerDeliveryId, verify } from './verify.ts'

const digest = (body: Buffer) => createHash('sha256').update(body).digest('hex')

const json = (status: number, value: unknown): Answer => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(value)),
})

export function createIntake(deps: {
  db: Db
  deployer: Deployer
  deliveries: DeliveryRecorder
}): DeliveryHandler {
  const { db, deployer, deliveries } = deps

  return async (delivery: Delivery, body: Buffer) => {
    const hook = webhookTarget(db, delivery.app)
    if (!hook) return json(404, { error: 'unknown app' })

    const scheme = verify(hook, delivery.headers, body)
    const record = {
      app: hook.app,
      relayId: delivery.id,
      providerId: providerDeliveryId(hook.provider, scheme, delivery.headers),
      bodyDigest: scheme && idUnsigned(scheme) ? digest(body) : null,
      provider: hook.provider,
      event: null as string | null,
      deployment: null as number | null,
    }
    const finish = (verified: boolean, result: string, answer: Answer) => {
      deliveries.record({ ...record, verified, status: answer.status, result }, result === 'queued')
      return answer
    }

    if (!scheme) return finish(false, 'unauthorized', { status: 401 })
    if (deliveries.seen(record))
      return finish(true, 'duplicate', json(200, { status: 'duplicate' }))

    let event: ReturnType<typeof gitEvent>
    try {
      event = gitEvent(
        hook.provider,
        scheme,
        delivery.headers,
        parseBody(delivery.headers, body, scheme === 'bearer'),
        hook.branch,
      )
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error
      return finish(true, 'invalid_payload', json(400, { error: 'invalid payload' }))
    }
    record.event = event.kind === 'other' ? event.name : event.kind
    const ignored = (reason: string) =>
      finish(true, 'ignored', json(200, { status: 'ignored', reason }))

    const tags = tracking(hook)
    const tagged = tags && isRefEvent(event) ? tagHint(hook.app, tags, event) : null
    if (typeof tagged === 'string') return ignored(tagged)

    switch (event.kind) {
      case 'ping':
        return finish(true, 'ping', json(200, { status: 'ping' }))
      case 'other':
        return ignored(`event "${event.name}" does not deploy`)
      case 'tag':
        if (!tagged) return ignored(`tag ${event.tag}: only pushes to ${hook.branch} deploy`)
        break
      case 'release':
        if (!tagged) return ignored('event "release" does not deploy')
        break
      case 'push':
        if (event.branch !== hook.branch)
          return ignored(`push to ${event.branch}; ${hook.app} tracks ${hook.branch}`)
        if (event.commit === null) return ignored(`branch ${event.branch} was deleted`)
        break
      case 'trigger':
        break
    }
    const hint =
      tagged ?? ('commit' in event && event.commit !== null ? { commit: event.commit } : {})
    const deployment = deployer.request(hook.app, { trigger: 'webhook', ...hint })
    record.deployment = deployment.id
    return finish(
      true,
      'queued',
      json(202, {
        status: 'queued',
        deployment: deployment.id,
        commit: hint.commit ?? deployment.commit,
        ...(tagged ? { tag: tagged.tag } : {}),
      }),
    )
  }
}
