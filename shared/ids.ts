// Identifiers and the names that end up in URLs and paths.
import { calculateJwkThumbprint, type JWK } from 'jose'
import { nanoid } from 'nanoid'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/** 20 base32 characters = 100 bits of the key's RFC 7638 thumbprint: short, URL- and DNS-safe. */
export const INSTANCE_ID = /^[a-z2-7]{20}$/

export async function instanceIdOf(publicJwk: JWK): Promise<string> {
  const thumbprint = await calculateJwkThumbprint(publicJwk, 'sha256')
  return base32(Buffer.from(thumbprint, 'base64url')).slice(0, 20)
}

/** App names appear in URLs, directory names and process titles: keep them boring. */
export const APP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/

export function appNameProblem(name: string): string | null {
  return APP_NAME.test(name)
    ? null
    : 'app names are 1-63 characters of a-z, 0-9, "-" and "_", starting with a letter or digit'
}

export function newDeliveryId(): string {
  return `dlv_${nanoid()}`
}
