// Sizes, durations and counts read from flags and the environment; the relay's defaults and
// limits as DESIGN.md states them; the token-bucket rate limiter.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { relayConfig } from '../relay/config.ts'
import { createRateLimiter } from '../relay/ratelimit.ts'
import { ConfigError, fromEnv, parseBytes, parseCount, parseDuration } from '../shared/units.ts'

describe('parseBytes', () => {
  test('reads plain numbers and binary units, case-insensitively', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['1048576', 1048576],
      ['100b', 100],
      ['512k', 512 * 1024],
      ['64KiB', 64 * 1024],
      ['64kb', 64 * 1024],
      ['25MiB', 25 * 1024 ** 2],
      ['25m', 25 * 1024 ** 2],
      ['1.5MB', 1.5 * 1024 ** 2],
      ['2g', 2 * 1024 ** 3],
      [' 8 GiB ', 8 * 1024 ** 3],
    ]
    for (const [text, bytes] of cases) assert.equal(parseBytes('RELAY_MAX_BODY', text), bytes, text)
  })

  test('refuses anything else with a ConfigError naming the setting', () => {
    for (const text of ['', 'big', '-1', '1e6', '10 parsecs', 'k', '1..5m', '0x10', '5 m b']) {
      assert.throws(
        () => parseBytes('RELAY_MAX_BODY', text),
        (error: Error) =>
          error instanceof ConfigError &&
          error.message.includes('RELAY_MAX_BODY') &&
          error.message.includes(`"${text}"`),
        text,
      )
    }
  })
})

describe('parseDuration', () => {
  test('reads ms, s, m, h, d; a bare number is seconds; result in milliseconds', () => {
    const cases: [string, number][] = [
      ['250ms', 250],
      ['90s', 90_000],
      ['90', 90_000],
      ['0.5s', 500],
      ['30m', 1_800_000],
      ['72h', 259_200_000],
      ['2d', 172_800_000],
      ['72H', 259_200_000],
    ]
    for (const [text, ms] of cases) assert.equal(parseDuration('RELAY_QUEUE_TTL', text), ms, text)
  })

  test('refuses anything else with a ConfigError naming the setting', () => {
    for (const text of ['', 'soon', '-5s', '5 weeks', '1w', 'h', '1h30m']) {
      assert.throws(
        () => parseDuration('RELAY_QUEUE_TTL', text),
        (error: Error) => error instanceof ConfigError && error.message.includes('RELAY_QUEUE_TTL'),
        text,
      )
    }
  })
})

describe('parseCount and fromEnv', () => {
  test('counts are whole non-negative numbers', () => {
    assert.equal(parseCount('RELAY_RATE_IP', '0'), 0)
    assert.equal(parseCount('RELAY_RATE_IP', '120'), 120)
    for (const text of ['', '1.5', '-3', 'ten', '1e3']) {
      assert.throws(() => parseCount('RELAY_RATE_IP', text), ConfigError, text)
    }
  })

  test('unset or empty falls back to the default; set values go through the parser', () => {
    assert.equal(fromEnv({}, 'X', parseBytes, 7), 7)
    assert.equal(fromEnv({ X: '' }, 'X', parseBytes, 7), 7)
    assert.equal(fromEnv({ X: '2k' }, 'X', parseBytes, 7), 2048)
    assert.throws(() => fromEnv({ X: 'lots' }, 'X', parseBytes, 7), ConfigError)
  })
})

describe('relay configuration', () => {
  test('defaults are the documented ones', () => {
    const config = relayConfig({}, {})
    assert.equal(config.maxBody, 25 * 1024 ** 2)
    assert.equal(config.rateIp, 120)
    assert.equal(config.rateInstance, 600)
    assert.equal(config.queueMax, 1000)
    assert.equal(config.queueTtlMs, 72 * 3_600_000)
    assert.equal(config.replyTimeoutMs, 8000)
    assert.equal(config.dataDir, './relay-data')
    assert.equal(config.metricsToken, null)
    assert.equal(config.registrationToken, null)
    assert.equal(config.publicUrl, null)
  })

  test('environment variables are read through the parsers; flags win', () => {
    const config = relayConfig(
      { port: '9000', data: '/flag/data' },
      {
        PORT: '8000',
        RELAY_DATA_DIR: '/env/data',
        RELAY_MAX_BODY: '64k',
        RELAY_RATE_IP: '0',
        RELAY_RATE_INSTANCE: '5',
        RELAY_QUEUE_MAX: '3',
        RELAY_QUEUE_TTL: '90m',
        RELAY_REPLY_TIMEOUT_MS: '300',
        RELAY_REGISTRATION_TOKEN: 'r'.repeat(24),
      },
    )
    assert.equal(config.port, 9000)
    assert.equal(config.dataDir, '/flag/data')
    assert.equal(config.maxBody, 65536)
    assert.equal(config.rateIp, 0)
    assert.equal(config.rateInstance, 5)
    assert.equal(config.queueMax, 3)
    assert.equal(config.queueTtlMs, 5_400_000)
    assert.equal(config.replyTimeoutMs, 300)
    assert.equal(config.registrationToken, 'r'.repeat(24))
    assert.equal(relayConfig({}, { FLY_APP_NAME: 'hooks' }).publicUrl, 'https://hooks.fly.dev')
  })

  test('a short registration token or an unreadable limit is refused', () => {
    assert.throws(() => relayConfig({}, { RELAY_REGISTRATION_TOKEN: 'r'.repeat(23) }), /24/)
    assert.throws(() => relayConfig({}, { RELAY_MAX_BODY: 'lots' }), ConfigError)
    assert.throws(() => relayConfig({}, { RELAY_RATE_IP: '-1' }), ConfigError)
  })
})

describe('rate limiter', () => {
  test('a burst of perMinute, then Retry-After until a token refills', () => {
    const limit = createRateLimiter(5)
    const t0 = 1_000_000
    for (let i = 0; i < 5; i++) assert.deepEqual(limit.take('ip', t0), { ok: true })
    assert.deepEqual(limit.take('ip', t0), { ok: false, retryAfterS: 12 })
    assert.deepEqual(limit.take('other', t0), { ok: true }, 'keys are independent')
    assert.deepEqual(limit.take('ip', t0 + 6_000), { ok: false, retryAfterS: 6 })
    assert.deepEqual(limit.take('ip', t0 + 12_000), { ok: true })
    assert.equal(limit.take('ip', t0 + 12_000).ok, false)
  })

  test('0 turns it off', () => {
    const limit = createRateLimiter(0)
    for (let i = 0; i < 10_000; i++) assert.deepEqual(limit.take('ip', 0), { ok: true })
  })
})
