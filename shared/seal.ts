// Sealing queued deliveries to the agent's X25519 key, so the relay's disk never holds a
// readable body, header or token. Only the agent holds the private key that opens them.
//
// Envelope, told apart by its first byte:
//   0x01 | enc (32 bytes) | ciphertext | tag (16)  HPKE (RFC 9180) base mode, DHKEM(X25519,
//        HKDF-SHA256), HKDF-SHA256, AES-256-GCM, over the raw frame bytes.
//   'e'  (0x65)                                   JWE compact (ECDH-ES+A256KW / A256GCM): rows
//        sealed by 0.1, still opened after an upgrade, never made any more.
// HPKE's key schedule comes from @hpke/core; AES-GCM runs on node:crypto a slice at a time, so a
// 25 MiB frame is sealed in its own memory instead of being copied by WebCrypto and base64.
// @hpke/core is loaded at the first seal or open (hpke() below): a relay whose agents are
// connected, and an agent with nothing queued for it, never need it (~1-2 MiB of RSS).
import { createCipheriv, createDecipheriv } from 'node:crypto'
import type { AeadInterface } from '@hpke/core'
import { compactDecrypt, type JWK } from 'jose'

export const SEAL_HPKE = 0x01
const SEAL_JWE_FIRST_BYTE = 0x65
const ENC_LENGTH = 32
const TAG_LENGTH = 16
/** Bytes the HPKE envelope adds to the plaintext: what a quota must reserve before sealing. */
export const SEAL_OVERHEAD = 1 + ENC_LENGTH + TAG_LENGTH
/** AES-GCM is fed this much at a time: the only transient copy while sealing. */
const SLICE = 1024 * 1024

/** Old 0.1 JWE algorithms; also what the agent's X25519 key is imported for (same key type). */
export const SEAL_ALG = 'ECDH-ES+A256KW'
const SEAL_ENC = 'A256GCM'

type Bytes = ArrayBufferLike | ArrayBufferView

const view = (data: Bytes): Uint8Array =>
  ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data)

/** @hpke/core copies any view it is given; a Buffer that owns its whole ArrayBuffer goes as is. */
const ownBuffer = (data: Uint8Array): ArrayBuffer =>
  data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    ? (data.buffer as ArrayBuffer)
    : (new Uint8Array(data).buffer as ArrayBuffer) // a copy (Buffer#slice would be a view)

/** AES-GCM over `input` a slice at a time, each slice written to `out` (which may be `input`). */
function gcm(
  cipher: ReturnType<typeof createCipheriv> | ReturnType<typeof createDecipheriv>,
  input: Uint8Array,
  out: Uint8Array,
): void {
  let at = 0
  for (let i = 0; i < input.length; i += SLICE) {
    const chunk = cipher.update(input.subarray(i, i + SLICE))
    out.set(chunk, at)
    at += chunk.length
  }
  out.set(cipher.final(), at)
}

/** AES-256-GCM as RFC 9180 numbers it (AeadId.Aes256Gcm). */
const AES_256_GCM = { id: 0x0002, keySize: 32, nonceSize: 12, tagSize: TAG_LENGTH } as const

/**
 * Sealing side: encrypts the plaintext in place and returns only the tag. @hpke/core hands its
 * AEAD the very ArrayBuffer it was given and returns the AEAD's answer untouched, so `seal`
 * below gets its ciphertext in the frame's own memory: no second 25 MiB buffer.
 */
const inPlace: AeadInterface = {
  ...AES_256_GCM,
  createEncryptionContext: (key) => ({
    async seal(iv, data, aad) {
      const cipher = createCipheriv('aes-256-gcm', view(key), view(iv))
      cipher.setAAD(view(aad))
      const text = view(data)
      gcm(cipher, text, text)
      return new Uint8Array(cipher.getAuthTag()).buffer
    },
    open: () => Promise.reject(new Error('the in-place AEAD only seals')),
  }),
}

/** Opening side (the agent): ciphertext ‖ tag in, plaintext out, as RFC 9180 defines it. */
const aes256Gcm: AeadInterface = {
  ...AES_256_GCM,
  createEncryptionContext: (key) => ({
    seal: () => Promise.reject(new Error('the agent only opens')),
    async open(iv, data, aad) {
      const input = view(data)
      if (input.length < TAG_LENGTH) throw new SealError('ciphertext shorter than its tag')
      const decipher = createDecipheriv('aes-256-gcm', view(key), view(iv))
      decipher.setAAD(view(aad))
      decipher.setAuthTag(input.subarray(input.length - TAG_LENGTH))
      const out = new Uint8Array(input.length - TAG_LENGTH)
      gcm(decipher, input.subarray(0, input.length - TAG_LENGTH), out)
      return out.buffer
    },
  }),
}

let suites: ReturnType<typeof loadSuites> | null = null
/** The lazy boundary: @hpke/core and the two suites, made at the first use. */
const hpke = () => (suites ??= loadSuites())
async function loadSuites() {
  const { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } = await import('@hpke/core')
  const suite = (aead: AeadInterface) =>
    new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead })
  return { sealing: suite(inPlace), opening: suite(aes256Gcm) }
}

export class SealError extends Error {
  override name = 'SealError'
}

/** The recipient's X25519 public key, from the JWK the agent registered. */
export async function sealingKey(jwk: JWK): Promise<CryptoKey> {
  const { sealing } = await hpke()
  return sealing.kem.deserializePublicKey(ownBuffer(Buffer.from(jwk.x ?? '', 'base64url')))
}

/**
 * Seals `plaintext` to `recipient` IN PLACE: afterwards `plaintext` holds the ciphertext. The
 * envelope is `head`, then `plaintext`, then `tag`: three parts, never concatenated, so sealing
 * a 25 MiB frame costs no memory beyond the frame. `plaintext` must own its whole ArrayBuffer
 * (as `allocFrame` makes them); anything else is refused rather than silently copied.
 */
export async function sealInPlace(
  plaintext: Uint8Array,
  recipient: CryptoKey,
): Promise<{ head: Buffer; tag: Buffer }> {
  if (plaintext.byteOffset !== 0 || plaintext.byteLength !== plaintext.buffer.byteLength) {
    throw new SealError('sealInPlace needs a buffer that owns its memory')
  }
  const { sealing } = await hpke()
  const sender = await sealing.createSenderContext({ recipientPublicKey: recipient })
  const tag = Buffer.from(await sender.seal(plaintext.buffer as ArrayBuffer))
  const head = Buffer.alloc(1 + ENC_LENGTH)
  head[0] = SEAL_HPKE
  head.set(new Uint8Array(sender.enc), 1)
  return { head, tag }
}

/** Opens an envelope of either version with the agent's X25519 private key. */
export async function unseal(sealed: Uint8Array, privateKey: CryptoKey): Promise<Uint8Array> {
  if (sealed[0] === SEAL_HPKE) {
    if (sealed.length < SEAL_OVERHEAD) throw new SealError('sealed envelope too short')
    const { opening } = await hpke()
    const recipient = await opening.createRecipientContext({
      recipientKey: privateKey,
      enc: ownBuffer(sealed.subarray(1, 1 + ENC_LENGTH)),
    })
    return new Uint8Array(await recipient.open(ownBuffer(sealed.subarray(1 + ENC_LENGTH))))
  }
  if (sealed[0] === SEAL_JWE_FIRST_BYTE) {
    const { plaintext } = await compactDecrypt(Buffer.from(sealed).toString('latin1'), privateKey, {
      keyManagementAlgorithms: [SEAL_ALG],
      contentEncryptionAlgorithms: [SEAL_ENC],
    })
    return plaintext
  }
  throw new SealError(`unknown sealed envelope version ${sealed[0]}`)
}
