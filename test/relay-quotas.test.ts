// Queue quotas on a real relay process: concurrent uploads never overshoot them, a full data
// directory refuses new deliveries but lets agents in to drain, and a data dir made by 0.1
// (JWE-sealed rows) opens after the upgrade and is delivered.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, test } from 'node:test'
import { CompactEncrypt, importJWK, type JWK } from 'jose'
import { loadIdentity } from '../agent/core/identity.ts'
import { encodeFrame } from '../shared/frame.ts'
import { type EchoAgent, sha256, startEchoAgent } from './helpers/echo-agent.ts'
import { post, storedQueue } from './helpers/hostile.ts'
import { postJson } from './helpers/http.ts'
import { closePeers } from './helpers/peers.ts'
import { BIN, type RelayProc, startRelay, stopAll, tempDir } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'

after(async () => {
  closePeers()
  await stopAll()
})

const MiB = 1024 ** 2
const T = { timeout: 60_000 }

async function awayAgent(relay: RelayProc, home?: string): Promise<EchoAgent> {
  const agent = await startEchoAgent(relay, home ? { home } : {})
  await agent.welcomes.count(1)
  agent.close()
  await relay.waitFor(
    (l) => l.msg === 'agent disconnected' && l.instance === agent.instance,
    'agent disconnected',
  )
  return agent
}

describe('quotas', () => {
  test(
    '20 concurrent 4 MiB webhooks against 3 deliveries / 10 MiB: never over, by stored bytes',
    T,
    async () => {
      const relay = await startRelay({
        env: {
          RELAY_QUEUE_MAX: '3',
          RELAY_QUEUE_MAX_BYTES: '10MiB',
          RELAY_INFLIGHT_BYTES: '200MiB',
          RELAY_RATE_IP: '0',
        },
      })
      const away = await awayAgent(relay)
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => post(away.webhookUrl('app'), randomBytes(4 * MiB))),
      )
      const stored = storedQueue(relay.dataDir)
      const total = stored.reduce((sum, row) => sum + row.bytes, 0)
      assert.ok(total <= 10 * MiB, `${total} bytes stored`)
      assert.equal(
        stored.length,
        2,
        'two 4 MiB deliveries (sealed) fit in 10 MiB, a third does not',
      )
      assert.deepEqual(answers.map((a) => a.status).sort(), [
        ...Array(2).fill(202),
        ...Array(18).fill(503),
      ])
      for (const refused of answers.filter((a) => a.status === 503)) {
        assert.deepEqual(JSON.parse(refused.body), { error: 'queue full' })
        assert.match(refused.headers['retry-after'] ?? '', /^[1-9]\d*$/)
      }
      await relay.kill()
    },
  )

  test(
    'RELAY_DATA_MAX_BYTES: a full data dir answers 503; agents still connect and drain',
    T,
    async () => {
      const relay = await startRelay({ env: { RELAY_DATA_MAX_BYTES: '1MiB' } })
      const a = await awayAgent(relay)
      const b = await awayAgent(relay)
      const first = randomBytes(600 * 1024)
      assert.equal((await post(a.webhookUrl('app'), first)).status, 202)
      const full = await post(b.webhookUrl('app'), randomBytes(600 * 1024))
      assert.equal(full.status, 503)
      assert.deepEqual(JSON.parse(full.body), { error: 'relay storage full' })
      assert.match(full.headers['retry-after'] ?? '', /^[1-9]\d*$/)

      // Both agents get in (their tokens' ids are still recorded), and A drains its queue.
      const bBack = await startEchoAgent(relay, { home: b.home })
      await bBack.welcomes.count(1)
      const aBack = await startEchoAgent(relay, { home: a.home })
      const [drained] = await aBack.received.count(1)
      assert.equal(sha256(drained?.body ?? Buffer.alloc(0)), sha256(first))
      // Its result went out before the close frame: the relay has the acknowledgement.
      let seen = 0
      aBack.close()
      await relay.waitFor(
        (l) => l.msg === 'agent disconnected' && l.instance === a.instance && ++seen === 2,
      )
      // Room again once the drained delivery was acknowledged.
      assert.equal(storedQueue(relay.dataDir).length, 0)
      assert.equal((await post(a.webhookUrl('app'), randomBytes(600 * 1024))).status, 202)
      bBack.close()
      await relay.kill()
    },
  )
})

test(
  'a really full disk (a 4 MiB tmpfs): 503 for new deliveries; agents still connect and drain',
  T,
  async () => {
    const dataDir = join(tempDir('toehold-relay-'), 'data')
    const relay = await startRelay({
      dataDir,
      command: [
        'bwrap',
        '--dev-bind',
        '/',
        '/',
        '--size',
        String(4 * MiB),
        '--tmpfs',
        dataDir,
        '--die-with-parent',
        '--',
        process.execPath,
        BIN,
      ],
    })
    const away = await awayAgent(relay)
    const accepted: string[] = []
    let full: Awaited<ReturnType<typeof post>> | null = null
    for (let i = 0; i < 40 && !full; i++) {
      const answer = await post(away.webhookUrl('app'), randomBytes(256 * 1024))
      if (answer.status === 202) accepted.push(JSON.parse(answer.body).delivery)
      else full = answer
    }
    assert.ok(full, 'the disk filled up')
    assert.equal(full.status, 503, full.body)
    assert.deepEqual(JSON.parse(full.body), { error: 'relay storage full' })
    assert.ok(accepted.length > 0)

    // The agent gets in (its token's id kept in memory when the disk refuses it) and drains.
    const back = await startEchoAgent(relay, { home: away.home })
    const got = await back.received.count(accepted.length)
    assert.deepEqual(
      got.map((r) => r.delivery.id),
      accepted,
    )
    back.close()
    await relay.kill()
  },
)

/** The relay's SQLite schema as 0.1 made it (relay/store.ts at 0.1.0), verbatim. */
const SCHEMA_0_1 = `
  CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, signing_jwk TEXT NOT NULL, sealing_jwk TEXT NOT NULL, created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, instance TEXT NOT NULL,
    received_at INTEGER NOT NULL, sealed BLOB NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS queue_instance ON queue (instance, seq);
  CREATE TABLE IF NOT EXISTS jtis (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
`

const publicPart = ({ kty, crv, x }: JWK): JWK => ({ kty, crv, x }) as JWK

describe('upgrade', () => {
  test('a data dir made by 0.1, with JWE-sealed rows, opens and is delivered', T, async () => {
    const home = tempDir('toehold-echo-')
    const identity = await loadIdentity(join(home, 'key.json'))
    const keys = JSON.parse(readFileSync(join(home, 'key.json'), 'utf8')) as {
      signing: JWK
      sealing: JWK
    }
    const dataDir = join(tempDir('toehold-relay-'), 'data')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(dataDir, { recursive: true })
    const old = new DatabaseSync(join(dataDir, 'relay.db'))
    old.exec('PRAGMA journal_mode = WAL')
    old.exec(SCHEMA_0_1)
    old
      .prepare('INSERT INTO instances VALUES (?, ?, ?, ?)')
      .run(
        identity.instanceId,
        JSON.stringify(publicPart(keys.signing)),
        JSON.stringify(publicPart(keys.sealing)),
        Date.now(),
      )
    // A delivery queued by 0.1: the whole frame as JWE compact (ECDH-ES+A256KW / A256GCM).
    const body = Buffer.from(JSON.stringify({ queued: 'by 0.1' }))
    const delivery = {
      t: 'delivery',
      id: 'dlv_from_0_1',
      app: 'app',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      query: '',
      receivedAt: Date.now(),
      remote: '127.0.0.1',
    }
    const jwe = await new CompactEncrypt(encodeFrame(delivery, body))
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' })
      .encrypt(await importJWK(publicPart(keys.sealing), 'ECDH-ES+A256KW'))
    old
      .prepare('INSERT INTO queue (id, instance, received_at, sealed) VALUES (?, ?, ?, ?)')
      .run(delivery.id, identity.instanceId, delivery.receivedAt, Buffer.from(jwe, 'latin1'))
    old.close()

    const relay = await startRelay({ dataDir })
    // Known to the upgraded relay: it connects without the registration token.
    const agent = await startEchoAgent(relay, { home, registrationToken: null })
    const [welcome] = await agent.welcomes.count(1)
    assert.equal(welcome?.queued, 1)
    const [got] = await agent.received.count(1)
    assert.equal(got?.delivery.id, delivery.id)
    assert.deepEqual(got?.body, body)
    // And new deliveries, sealed the new way, flow as before.
    assert.equal((await postJson(agent.webhookUrl('app'))).status, 200)
    agent.close()
    await relay.kill()

    const upgraded = new DatabaseSync(join(dataDir, 'relay.db'), { readOnly: true })
    const version = upgraded.prepare('PRAGMA user_version').get() as { user_version: number }
    upgraded.close()
    assert.equal(version.user_version, 2)
  })
})

test(
  'senders gone mid-body give back the bytes they held: the budget is whole again',
  T,
  async () => {
    const relay = await startRelay({ env: { RELAY_INFLIGHT_BYTES: '8MiB', RELAY_RATE_IP: '0' } })
    const away = await awayAgent(relay)
    const url = new URL(away.webhookUrl('app'))
    // Each declares 6 MiB, sends 1 MiB and hangs up: more than the budget if any kept its share.
    for (let i = 0; i < 3; i++) {
      const socket = connect(Number(url.port), url.hostname)
      socket.on('error', () => {})
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: ${6 * MiB}\r\n\r\n`,
      )
      await new Promise<void>((resolve) => socket.write(randomBytes(MiB), () => resolve()))
      socket.destroy()
    }
    await until(
      async () => (await post(away.webhookUrl('app'), randomBytes(6 * MiB))).status === 202,
      'a 6 MiB webhook queued after the three hang-ups',
    )
    await relay.kill()
  },
)
