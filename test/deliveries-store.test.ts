// The de-duplication memory: verified delivery ids are kept at least 7 days, persisted in the
// real SQLite state, while unverified noise is capped; and the recorder that writes no-op
// deliveries just after their answers without losing a duplicate in between.
import assert from 'node:assert/strict'
import { existsSync, statSync, watch } from 'node:fs'
import { join } from 'node:path'
import { it } from 'node:test'
import pino from 'pino'
import { createAgentMetrics } from '../agent/core/metrics.ts'
import { createDeliveryRecorder } from '../agent/intake/record.ts'
import { addApp } from '../agent/state/apps.ts'
import { type Db, openState, startCheckpoints } from '../agent/state/db.ts'
import {
  type DeliveryRecord,
  pruneDeliveries,
  recordDelivery,
  seenDelivery,
} from '../agent/state/deliveries.ts'
import { tempDir } from './helpers/procs.ts'

const DAY = 86_400_000

const row = (
  relayId: string,
  providerId: string | null,
  verified: boolean,
  result: string,
): DeliveryRecord => ({
  app: 'site',
  relayId,
  providerId,
  bodyDigest: null,
  provider: 'github',
  event: 'push',
  verified,
  status: verified ? (result === 'queued' ? 202 : 200) : 401,
  result,
  deployment: null,
})

/** What `seen` looks a delivery up by. */
const key = (
  app: string,
  relayId: string,
  providerId: string | null,
  bodyDigest: string | null = null,
) => ({
  app,
  relayId,
  providerId,
  bodyDigest,
})

function siteState(): Db {
  const db = openState(join(tempDir(), 'state.db'))
  addApp(db, {
    name: 'site',
    repo: '/nowhere',
    branch: 'main',
    start: null,
    port: null,
    health: '/',
    pollMs: null,
  })
  return db
}

const rows = (db: Db) =>
  db.prepare('SELECT relay_id, result FROM deliveries ORDER BY id').all() as {
    relay_id: string
    result: string
  }[]

/** A recorder whose log lines land in `lines`. */
function recorder(db: Db) {
  const lines: Record<string, unknown>[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  const metrics = createAgentMetrics()
  return { deliveries: createDeliveryRecorder({ db, metrics, log }), lines, metrics }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

it('keeps verified ids for 7 days and more, drops them after 8, caps unverified rows', () => {
  let db = siteState()
  const path = db.location() as string
  const record = (relayId: string, providerId: string | null, verified: boolean) =>
    recordDelivery(db, row(relayId, providerId, verified, 'queued'))
  record('dlv_1', 'gh-1', true)
  for (let i = 0; i < 1_100; i++) record(`dlv_noise_${i}`, `forged-${i}`, false)
  db.close()

  db = openState(path)
  assert.ok(
    seenDelivery(db, key('site', 'dlv_other', 'gh-1')),
    'provider id remembered across reopen',
  )
  assert.ok(seenDelivery(db, key('site', 'dlv_1', null)), 'relay id remembered')
  assert.ok(
    !seenDelivery(db, key('site', 'dlv_noise_1', 'forged-1')),
    'unverified rows never de-duplicate',
  )

  pruneDeliveries(db, Date.now() + 7 * DAY)
  assert.ok(seenDelivery(db, key('site', 'dlv_x', 'gh-1')), 'still remembered after 7 days')
  const { n } = db.prepare('SELECT count(*) AS n FROM deliveries WHERE verified = 0').get() as {
    n: number
  }
  assert.equal(n, 1_000)

  pruneDeliveries(db, Date.now() + 8 * DAY + 1000)
  assert.ok(!seenDelivery(db, key('site', 'dlv_x', 'gh-1')), 'forgotten after 8 days')
  db.close()
})

it('remembers the digest of a body whose id is unsigned, per app, verified only', async () => {
  const db = siteState()
  recordDelivery(db, { ...row('dlv_1', 'gh-1', true, 'queued'), bodyDigest: 'd1' })
  recordDelivery(db, { ...row('dlv_2', 'gh-2', false, 'unauthorized'), bodyDigest: 'd2' })
  assert.ok(seenDelivery(db, key('site', 'dlv_new', 'gh-new', 'd1')), 'same body, fresh ids')
  assert.ok(!seenDelivery(db, key('site', 'dlv_new', 'gh-new', 'd2')), 'unverified never counts')
  assert.ok(!seenDelivery(db, key('other', 'dlv_new', 'gh-new', 'd1')), 'digests are per app')
  const { deliveries } = recorder(db)
  deliveries.record({ ...row('dlv_3', 'gh-3', true, 'ignored'), bodyDigest: 'd3' }, false)
  assert.ok(deliveries.seen(key('site', 'dlv_new', null, 'd3')), 'a pending body already counts')
  await nextTurn()
  assert.ok(seenDelivery(db, key('site', 'dlv_new', null, 'd3')), 'and once written')
  db.close()
})

it('writes a delivery that deploys before returning, and no-op ones just after, in one batch', async () => {
  const db = siteState()
  const { deliveries, lines, metrics } = recorder(db)

  deliveries.record(row('dlv_a', 'gh-a', true, 'ignored'), false)
  deliveries.record(row('dlv_b', 'gh-b', false, 'unauthorized'), false)
  assert.deepEqual(rows(db), [], 'no-op deliveries wait for the answer to go out')
  assert.ok(
    deliveries.seen(key('site', 'dlv_other', 'gh-a')),
    'a pending verified id already counts',
  )
  assert.ok(deliveries.seen(key('site', 'dlv_a', null)), 'and so does its relay id')
  assert.ok(
    !deliveries.seen(key('site', 'dlv_other', 'gh-b')),
    'unverified rows never de-duplicate',
  )
  assert.ok(!deliveries.seen(key('other-app', 'dlv_other', 'gh-a')), 'provider ids are per app')

  deliveries.record(row('dlv_c', 'gh-c', true, 'queued'), true)
  assert.deepEqual(
    rows(db).map((r) => r.relay_id),
    ['dlv_a', 'dlv_b', 'dlv_c'],
    'a deploying delivery is written at once, after those before it',
  )
  assert.deepEqual(
    lines.filter((line) => line.msg === 'webhook').map((line) => line.delivery),
    ['dlv_a', 'dlv_b', 'dlv_c'],
  )

  deliveries.record(row('dlv_d', 'gh-d', true, 'ping'), false)
  await nextTurn()
  assert.equal(rows(db).at(-1)?.relay_id, 'dlv_d')
  assert.ok(deliveries.seen(key('site', 'dlv_other', 'gh-d')), 'remembered once written')
  const counted = (await metrics.webhooks.get()).values.reduce((sum, v) => sum + v.value, 0)
  assert.equal(counted, 4)
  db.close()
})

it('reports a no-op delivery it could not write and keeps going', async () => {
  const db = siteState()
  const { deliveries, lines } = recorder(db)
  db.exec('DROP TABLE deliveries')
  deliveries.record(row('dlv_lost', 'gh-lost', true, 'ignored'), false)
  await nextTurn()
  assert.ok(lines.some((line) => line.msg === 'could not record deliveries'))
  assert.ok(lines.some((line) => line.msg === 'webhook' && line.delivery === 'dlv_lost'))
  db.close()
})

it('moves the WAL into the database from a worker thread, and stops before the state closes', async () => {
  const db = siteState()
  const path = db.location() as string
  for (let i = 0; i < 500; i++) recordDelivery(db, row(`dlv_${i}`, `gh-${i}`, true, 'ignored'))
  const before = statSync(path).size
  assert.ok(statSync(`${path}-wal`).size > 0, 'the rows wait in the WAL')

  const errors: string[] = []
  const grown = new Promise<void>((resolve) => {
    const watcher = watch(path, () => {
      if (statSync(path).size <= before) return
      watcher.close()
      resolve()
    })
  })
  const checkpoints = startCheckpoints(path, 20, (error) => errors.push(error))
  // The worker comes up for a WAL that changed since the checkpoints started.
  recordDelivery(db, row('dlv_x2', 'gh-500', true, 'ignored'))
  await grown
  await checkpoints.stop()
  db.close()
  assert.deepEqual(errors, [])
  assert.ok(!existsSync(`${path}-wal`), 'the agent held the last connection: the WAL is gone')
  const reopened = openState(path)
  assert.ok(seenDelivery(reopened, key('site', 'dlv_x', 'gh-499')))
  reopened.close()
})
