// Addresses as URLs: a server bound to a wildcard is reached through loopback, and an IPv6
// literal needs brackets.

/** The http:// URL a local client uses to reach a server bound to `host`:`port`. */
export function localUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`
}
