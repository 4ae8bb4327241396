// Hand-made agents for relay tests: keys, connect tokens with any claim overridden, and raw
// WebSocket clients that see the welcome or the HTTP refusal before the upgrade.
import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import WebSocket, { type ClientOptions } from 'ws'
import { instanceIdOf } from '../../shared/ids.ts'
import {
  audienceFor,
  parseMessage,
  REGISTRATION_HEADER,
  type Welcome,
} from '../../shared/protocol.ts'
import { closeWithPeers } from './peers.ts'
import { Waitable } from './wait.ts'

export type TestKeys = {
  instance: string
  signing: CryptoKey
  signingPublic: JWK
  sealingPublic: JWK
}

export async function makeKeys(): Promise<TestKeys> {
  const signing = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const sealing = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519', extractable: true })
  const signingPublic = await exportJWK(signing.publicKey)
  return {
    instance: await instanceIdOf(signingPublic),
    signing: signing.privateKey,
    signingPublic,
    sealingPublic: await exportJWK(sealing.publicKey),
  }
}

/** A connect token like the agent's, with any claim overridden. Times are epoch seconds. */
export async function connectToken(
  keys: TestKeys,
  relayUrl: string,
  claims: {
    sub?: string
    aud?: string
    iat?: number
    exp?: number
    jti?: string
    /** Sign with these keys instead (and embed their public key). */
    signer?: TestKeys
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const signer = claims.signer ?? keys
  return new SignJWT({ seal: keys.sealingPublic })
    .setProtectedHeader({ alg: 'EdDSA', jwk: signer.signingPublic })
    .setSubject(claims.sub ?? keys.instance)
    .setAudience(claims.aud ?? audienceFor(new URL(relayUrl).host))
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 120)
    .setJti(claims.jti ?? randomBytes(12).toString('base64url'))
    .sign(signer.signing)
}

export type Refused = { ok: false; status: number; contentType: string; body: unknown }
export type Opened = {
  ok: true
  ws: WebSocket
  welcome: Welcome
  /** Binary frames after the welcome. */
  frames: Waitable<Buffer>
  closed: Promise<{ code: number; reason: string }>
}

/** Authorization (+ registration) headers for a hand-made connection. */
export function authHeaders(token: string, registration?: string): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    ...(registration ? { [REGISTRATION_HEADER]: registration } : {}),
  }
}

/** Opens /connect with exactly these headers: the welcome, or the HTTP refusal before the upgrade. */
export function rawConnect(
  relayUrl: string,
  headers: Record<string, string>,
  options: ClientOptions = {},
): Promise<Opened | Refused> {
  const url = `${relayUrl.replace(/^http/, 'ws')}/connect`
  const ws = new WebSocket(url, { headers, perMessageDeflate: false, ...options })
  const frames = new Waitable<Buffer>()
  const forget = closeWithPeers(() => ws.terminate())
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      forget()
      resolve({ code, reason: reason.toString() })
    }),
  )
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {}
        resolve({
          ok: false,
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type']),
          body,
        })
        ws.terminate()
      })
    })
    ws.once('error', reject)
    let welcome: Welcome | null = null
    ws.on('message', (data: Buffer) => {
      if (welcome) return frames.push(data)
      const parsed = parseMessage(data)
      if (parsed?.message.t !== 'welcome') return reject(new Error('first frame is not welcome'))
      welcome = parsed.message
      resolve({ ok: true, ws, welcome, frames, closed })
    })
  })
}
