// Sealing queued deliveries to the agent's X25519 key, so the relay's disk never holds a
// readable body, header or token. Only the agent holds the private key that opens them.
import { CompactEncrypt, type CryptoKey, compactDecrypt, type KeyObject } from 'jose'

export const SEAL_ALG = 'ECDH-ES+A256KW'
export const SEAL_ENC = 'A256GCM'

export async function seal(
  plaintext: Uint8Array,
  publicKey: CryptoKey | KeyObject,
): Promise<Buffer> {
  const jwe = await new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: SEAL_ALG, enc: SEAL_ENC })
    .encrypt(publicKey)
  return Buffer.from(jwe, 'latin1')
}

export async function unseal(
  sealed: Uint8Array,
  privateKey: CryptoKey | KeyObject,
): Promise<Uint8Array> {
  const { plaintext } = await compactDecrypt(Buffer.from(sealed).toString('latin1'), privateKey, {
    keyManagementAlgorithms: [SEAL_ALG],
    contentEncryptionAlgorithms: [SEAL_ENC],
  })
  return plaintext
}
