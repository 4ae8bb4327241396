// Webhook signature checks, over the exact bytes received, in constant time. Each returns
// false (never throws) for a missing, malformed or wrong signature.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { sameSecret } from '../../shared/secrets.ts'
import type { Provider } from '../api/contract.ts'

export type Headers = Record<string, string>
export type Scheme = 'hub-sha256' | 'standard' | 'gitlab-token' | 'bearer'

/** Standard Webhooks: timestamps more than 5 minutes off either way are refused (replays). */
const TOLERANCE_S = 5 * 60

const equal = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)
const hmac = (key: string | Buffer, ...parts: (string | Buffer)[]) => {
  const mac = createHmac('sha256', key)
  for (const part of parts) mac.update(part)
  return mac.digest()
}

/** `sha256=<hex>`: GitHub/Gitea/Forgejo (X-Hub-Signature-256) and Bitbucket Cloud (X-Hub-Signature). */
function hubSignature(header: string | undefined, secret: string, body: Buffer): boolean {
  const hex = /^sha256=([0-9a-f]{64})$/i.exec(header ?? '')?.[1]
  return hex !== undefined && equal(Buffer.from(hex, 'hex'), hmac(secret, body))
}

/** The Standard Webhooks key: base64 after an optional `whsec_` prefix (as its reference libraries read it). */
const standardKey = (secret: string) =>
  Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64')

function standardSignature(headers: Headers, secret: string, body: Buffer, now: number): boolean {
  const id = headers['webhook-id']
  const timestamp = headers['webhook-timestamp']
  const signatures = headers['webhook-signature']
  if (!id || !timestamp || !signatures || !/^\d{1,12}$/.test(timestamp)) return false
  if (Math.abs(now / 1000 - Number(timestamp)) > TOLERANCE_S) return false
  const expected = hmac(standardKey(secret), `${id}.${timestamp}.`, body)
  // Several space-separated signatures may be sent while the sender rotates secrets.
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2)
    return version === 'v1' && value !== undefined && equal(Buffer.from(value, 'base64'), expected)
  })
}

function plainToken(given: string | undefined, secret: string): boolean {
  return given !== undefined && sameSecret(given, secret)
}

/** What a delivery is checked against: the app's provider, signing secret and trigger token. */
export type Keys = { provider: Provider; secret: string; triggerToken: string }

/**
 * Which scheme authenticated this delivery for an app, or null. Every provider also takes
 * `Authorization: Bearer <trigger token>`, the manual trigger from a CI: a token of its own, so a
 * relay that sees one learns nothing that signs; the signing secret is never a bearer token.
 */
export function verify(
  keys: Keys,
  headers: Headers,
  body: Buffer,
  now = Date.now(),
): Scheme | null {
  const { provider, secret } = keys
  const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1]
  if (bearer !== undefined) return plainToken(bearer, keys.triggerToken) ? 'bearer' : null
  switch (provider) {
    case 'github':
      return hubSignature(headers['x-hub-signature-256'], secret, body) ? 'hub-sha256' : null
    case 'bitbucket':
      return hubSignature(headers['x-hub-signature'], secret, body) ? 'hub-sha256' : null
    case 'gitlab':
      if (headers['webhook-signature'] !== undefined)
        return standardSignature(headers, secret, body, now) ? 'standard' : null
      return plainToken(headers['x-gitlab-token'], secret) ? 'gitlab-token' : null
    case 'rev':
    case 'standard':
      return standardSignature(headers, secret, body, now) ? 'standard' : null
  }
}

/** Where each provider puts its own delivery id (kept across its redeliveries), first found wins. */
const ID_HEADERS: Record<Provider, string[]> = {
  github: ['x-github-delivery', 'x-gitea-delivery', 'x-forgejo-delivery'],
  gitlab: ['idempotency-key', 'x-gitlab-webhook-uuid'],
  bitbucket: ['x-request-uuid'],
  rev: ['webhook-id'],
  standard: ['webhook-id'],
}

/**
 * The sender's delivery id: only the app's own provider's header counts (any other is just a
 * header the relay could add), and a signed `webhook-id` wins over every unsigned one. A CI
 * trigger has none: the relay's delivery id (and the rollback pin) are what stop its replays.
 */
export function providerDeliveryId(
  provider: Provider,
  scheme: Scheme | null,
  headers: Headers,
): string | null {
  if (scheme === 'standard') return headers['webhook-id'] ?? null
  if (scheme === 'bearer') return null
  for (const name of ID_HEADERS[provider]) {
    const id = headers[name]
    if (id) return id
  }
  return null
}

/**
 * Schemes whose delivery id the signature does not cover (GitHub's and Bitbucket's HMAC is over
 * the body only; GitLab's plain token covers nothing): the relay could put a fresh id on a body
 * it saw, so the body's digest is remembered too. A bearer trigger has no signed body at all.
 */
export const idUnsigned = (scheme: Scheme) => scheme === 'hub-sha256' || scheme === 'gitlab-token'
