// The rate limiter under a sweep of made-up keys, and the settings that shape client addresses.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { clientAddress, limitKey, parseTrustProxy } from '../relay/address.ts'
import { relayConfig } from '../relay/config.ts'
import { createRateLimiter } from '../relay/ratelimit.ts'
import { ConfigError } from '../shared/units.ts'

describe('rate limiter keys', () => {
  test('a sweep of new keys evicts the least recently used, never a busy limited key', () => {
    const limit = createRateLimiter(5, 100)
    const t0 = 1_000_000
    for (let i = 0; i < 5; i++) assert.equal(limit.take('me', t0).ok, true)
    for (let i = 0; i < 10_000; i++) {
      limit.take(`forged-${i}`, t0)
      if (i % 50 === 0) assert.equal(limit.take('me', t0).ok, false, `after ${i} forged keys`)
    }
  })

  test('peek does not spend', () => {
    const limit = createRateLimiter(1)
    assert.equal(limit.peek('k', 0).ok, true)
    assert.equal(limit.peek('k', 0).ok, true)
    assert.equal(limit.take('k', 0).ok, true)
    assert.equal(limit.peek('k', 0).ok, false)
  })
})

describe('client addresses', () => {
  const headers = {
    'fly-client-ip': '203.0.113.1',
    'x-forwarded-for': '192.0.2.9, 198.51.100.2, 10.0.0.1',
  }
  test('each mode reads one header; garbage or a missing hop falls back to the socket', () => {
    assert.equal(clientAddress({ mode: 'none' }, headers, '127.0.0.1'), '127.0.0.1')
    assert.equal(clientAddress({ mode: 'fly' }, headers, '127.0.0.1'), '203.0.113.1')
    assert.equal(clientAddress({ mode: 'xff', hops: 1 }, headers, '127.0.0.1'), '10.0.0.1')
    assert.equal(clientAddress({ mode: 'xff', hops: 2 }, headers, '127.0.0.1'), '198.51.100.2')
    assert.equal(clientAddress({ mode: 'xff', hops: 4 }, headers, '127.0.0.1'), '127.0.0.1')
    assert.equal(
      clientAddress({ mode: 'fly' }, { 'fly-client-ip': 'not an ip' }, '::ffff:10.1.2.3'),
      '10.1.2.3',
    )
  })

  test('IPv6 is keyed by its /64, IPv4 as is', () => {
    assert.equal(limitKey('2001:db8:1:2::1'), '2001:db8:1:2::/64')
    assert.equal(limitKey('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64')
    assert.equal(limitKey('::1'), '0:0:0:0::/64')
    assert.equal(limitKey('203.0.113.1'), '203.0.113.1')
  })

  test('RELAY_TRUST_PROXY: fly, xff, a hop count, 0; anything else is refused', () => {
    assert.deepEqual(parseTrustProxy('X', 'fly'), { mode: 'fly' })
    assert.deepEqual(parseTrustProxy('X', 'xff'), { mode: 'xff', hops: 1 })
    assert.deepEqual(parseTrustProxy('X', '2'), { mode: 'xff', hops: 2 })
    assert.deepEqual(parseTrustProxy('X', '0'), { mode: 'none' })
    assert.throws(() => parseTrustProxy('RELAY_TRUST_PROXY', 'true'), ConfigError)
    assert.deepEqual(relayConfig({}, { FLY_APP_NAME: 'x' }).trustProxy, { mode: 'fly' })
    assert.deepEqual(relayConfig({}, {}).trustProxy, { mode: 'none' })
  })

  test('RELAY_METRICS_ADDR and the budgets are read through their parsers', () => {
    const config = relayConfig(
      {},
      {
        RELAY_METRICS_ADDR: '[::]:9091',
        RELAY_INFLIGHT_BYTES: '32MiB',
        RELAY_DATA_MAX_BYTES: '1g',
        RELAY_MAX_CONNECTIONS: '7',
        RELAY_HEADERS_TIMEOUT: '3s',
      },
    )
    assert.deepEqual(config.metricsAddr, { host: '::', port: 9091 })
    assert.equal(config.inflightBytes, 32 * 1024 ** 2)
    assert.equal(config.dataMaxBytes, 1024 ** 3)
    assert.equal(config.maxConnections, 7)
    assert.equal(config.headersTimeoutMs, 3000)
    assert.throws(() => relayConfig({}, { RELAY_METRICS_ADDR: '9091' }), ConfigError)
    const defaults = relayConfig({}, {})
    assert.equal(defaults.metricsAddr, null)
    assert.equal(defaults.inflightBytes, 48 * 1024 ** 2)
  })
})
