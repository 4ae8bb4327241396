// Who is asking: the client address as the one trusted proxy in front reports it, else the
// socket's, and the key rate limits count it under (IPv6 per /64, which one host usually owns).
import type { IncomingHttpHeaders } from 'node:http'
import { isIP } from 'node:net'
import { ConfigError } from '../shared/units.ts'

/**
 * RELAY_TRUST_PROXY: which single header names the client. `fly`: Fly-Client-IP (fly-proxy
 * sets it); a number N: the N-th X-Forwarded-For hop from the right (1 = what the proxy right in
 * front appended; Caddy's default). Anything else a client sends is ignored.
 */
export type TrustProxy = { mode: 'none' } | { mode: 'fly' } | { mode: 'xff'; hops: number }

export function parseTrustProxy(name: string, text: string): TrustProxy {
  const value = text.trim().toLowerCase()
  if (value === '0' || value === 'none') return { mode: 'none' }
  if (value === 'fly') return { mode: 'fly' }
  if (value === 'xff') return { mode: 'xff', hops: 1 }
  if (/^[1-9]\d?$/.test(value)) return { mode: 'xff', hops: Number(value) }
  throw new ConfigError(`${name}: expected fly, xff, a hop count (1-99) or 0, got "${text}"`)
}

const unmapped = (address: string) =>
  address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address

export function clientAddress(
  trust: TrustProxy,
  headers: IncomingHttpHeaders,
  socketAddress: string | undefined,
): string {
  let claimed: string | undefined
  if (trust.mode === 'fly') {
    const value = headers['fly-client-ip']
    claimed = typeof value === 'string' ? value.trim() : undefined
  } else if (trust.mode === 'xff') {
    // Node joins repeated X-Forwarded-For lines with ", ": one list, counted from the right.
    const hops = String(headers['x-forwarded-for'] ?? '')
      .split(',')
      .map((hop) => hop.trim())
    claimed = hops.length >= trust.hops ? hops[hops.length - trust.hops] : undefined
  }
  // A proxy that did not set the header (or set garbage) is not an address: use the socket's.
  if (claimed && isIP(claimed)) return unmapped(claimed)
  return unmapped(socketAddress ?? 'unknown')
}

/** The rate-limit key of an address: IPv4 as is, IPv6 by its /64. */
export function limitKey(address: string): string {
  if (isIP(address) !== 6) return address
  const [head = '', tail = ''] = address.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`
}
