// Who may open /connect: known instances prove their key with a short-lived EdDSA JWT;
// an unknown key is admitted only together with the relay's registration token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { decodeJwt, decodeProtectedHeader, EmbeddedJWK, importJWK, type JWK, jwtVerify } from 'jose'
import { INSTANCE_ID, instanceIdOf } from '../shared/ids.ts'
import { REGISTRATION_HEADER } from '../shared/protocol.ts'
import type { Instance, Store } from './store.ts'

/** Longest lifetime a connect token may claim. */
const MAX_TOKEN_LIFETIME_S = 300
const CLOCK_TOLERANCE_S = 30

export class AuthError extends Error {
  override name = 'AuthError'
}

const sha256 = (text: string) => createHash('sha256').update(text).digest()

/**
 * The registration token's hash, from RELAY_REGISTRATION_TOKEN or made on first start.
 * `created` carries the new token so the caller can print it once; it is never stored in clear.
 */
export function registrationToken(
  store: Store,
  configured: string | null,
): { hash: Buffer; created?: string } {
  if (configured) return { hash: sha256(configured) }
  const stored = store.meta('registration_token_sha256')
  if (stored) return { hash: Buffer.from(stored, 'hex') }
  const created = randomBytes(32).toString('base64url')
  const hash = sha256(created)
  store.setMeta('registration_token_sha256', hash.toString('hex'))
  return { hash, created }
}

function isX25519Public(jwk: unknown): jwk is JWK {
  const key = jwk as JWK | null
  return (
    typeof key === 'object' &&
    key !== null &&
    key.kty === 'OKP' &&
    key.crv === 'X25519' &&
    typeof key.x === 'string' &&
    key.d === undefined
  )
}

/** The instance a connect token names, unverified: only to key the failed-attempts limit. */
export function claimedInstance(req: IncomingMessage): string {
  const bearer = /^Bearer ([\w.-]+)$/.exec(req.headers.authorization ?? '')?.[1]
  try {
    const sub = bearer ? decodeJwt(bearer).sub : undefined
    return typeof sub === 'string' && INSTANCE_ID.test(sub) ? sub : '-'
  } catch {
    return '-'
  }
}

/**
 * `audience` is the one a token must name: the relay's own public host, whatever `Host` the
 * request carries. `onJtiSpill` hears of a JWT id kept in memory because the disk refused it.
 */
export function createAuthenticator(
  store: Store,
  registrationHash: Buffer,
  audience: () => string,
  onJtiSpill: (error: Error) => void,
) {
  const keys = new Map<string, Awaited<ReturnType<typeof importJWK>>>()
  const signingKey = async (instance: Instance) => {
    const cached = keys.get(instance.id)
    if (cached) return cached
    const key = await importJWK(instance.signingJwk, 'EdDSA')
    keys.set(instance.id, key)
    return key
  }

  return async function authenticate(req: IncomingMessage): Promise<Instance> {
    const bearer = /^Bearer ([\w.-]+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (!bearer) throw new AuthError('missing bearer token')
    let header: ReturnType<typeof decodeProtectedHeader>
    let unverified: ReturnType<typeof decodeJwt>
    try {
      header = decodeProtectedHeader(bearer)
      unverified = decodeJwt(bearer)
    } catch {
      throw new AuthError('malformed token')
    }
    const instanceId = unverified.sub
    if (header.alg !== 'EdDSA' || typeof instanceId !== 'string' || !INSTANCE_ID.test(instanceId)) {
      throw new AuthError('malformed token')
    }

    const options = {
      algorithms: ['EdDSA'],
      audience: audience(),
      subject: instanceId,
      maxTokenAge: MAX_TOKEN_LIFETIME_S,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'iat', 'jti'],
    }
    const known = store.instance(instanceId)
    if (!known) {
      const given = req.headers[REGISTRATION_HEADER]
      if (typeof given !== 'string' || !timingSafeEqual(sha256(given), registrationHash)) {
        throw new AuthError('unknown instance: the relay registration token is required')
      }
      if ((await instanceIdOf(header.jwk as JWK).catch(() => null)) !== instanceId) {
        throw new AuthError('instance id does not match the key')
      }
    }
    const payload = await jwtVerify(
      bearer,
      known ? await signingKey(known) : EmbeddedJWK,
      options,
    ).then(
      (verified) => verified.payload,
      (error: Error) => {
        throw new AuthError(`invalid token: ${error.message}`)
      },
    )

    const now = Math.floor(Date.now() / 1000)
    if ((payload.exp as number) - now > MAX_TOKEN_LIFETIME_S + CLOCK_TOLERANCE_S) {
      throw new AuthError('token lifetime exceeds 5 minutes')
    }
    if (!isX25519Public(payload.seal)) throw new AuthError('token lacks the X25519 sealing key')
    const expiresAt = (payload.exp as number) + CLOCK_TOLERANCE_S
    if (!store.useJti(`${instanceId}:${payload.jti}`, expiresAt, onJtiSpill)) {
      throw new AuthError('token already used')
    }

    const { x, kty, crv } = payload.seal
    const instance: Instance = {
      id: instanceId,
      signingJwk: known?.signingJwk ?? pickPublic(header.jwk as JWK),
      sealingJwk: { kty, crv, x } as JWK,
      createdAt: known?.createdAt ?? Date.now(),
    }
    if (!known || known.sealingJwk.x !== x) store.putInstance(instance)
    return instance
  }
}

function pickPublic({ kty, crv, x }: JWK): JWK {
  return { kty, crv, x } as JWK
}
