// The de-duplication memory: verified delivery ids are kept at least 7 days, persisted in the
// real SQLite state, while unverified noise is capped.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { it } from 'node:test'
import { addApp } from '../agent/apps.ts'
import { openState } from '../agent/state.ts'
import { pruneDeliveries, recordDelivery, seenDelivery } from '../agent/webhooks.ts'
import { tempDir } from './helpers/procs.ts'

const DAY = 86_400_000

it('keeps verified ids for 7 days and more, drops them after 8, caps unverified rows', () => {
  const path = join(tempDir(), 'state.db')
  let db = openState(path)
  addApp(db, {
    name: 'site',
    repo: '/nowhere',
    branch: 'main',
    start: null,
    port: null,
    health: '/',
    pollMs: null,
  })
  const record = (relayId: string, providerId: string | null, verified: boolean) =>
    recordDelivery(db, {
      app: 'site',
      relayId,
      providerId,
      provider: 'github',
      event: 'push',
      verified,
      status: verified ? 202 : 401,
      result: 'queued',
      deployment: null,
    })
  record('dlv_1', 'gh-1', true)
  for (let i = 0; i < 1_100; i++) record(`dlv_noise_${i}`, `forged-${i}`, false)
  db.close()

  db = openState(path)
  assert.ok(seenDelivery(db, 'site', 'dlv_other', 'gh-1'), 'provider id remembered across reopen')
  assert.ok(seenDelivery(db, 'site', 'dlv_1', null), 'relay id remembered')
  assert.ok(
    !seenDelivery(db, 'site', 'dlv_noise_1', 'forged-1'),
    'unverified rows never de-duplicate',
  )

  pruneDeliveries(db, Date.now() + 7 * DAY)
  assert.ok(seenDelivery(db, 'site', 'dlv_x', 'gh-1'), 'still remembered after 7 days')
  const { n } = db.prepare('SELECT count(*) AS n FROM deliveries WHERE verified = 0').get() as {
    n: number
  }
  assert.equal(n, 1_000)

  pruneDeliveries(db, Date.now() + 8 * DAY + 1000)
  assert.ok(!seenDelivery(db, 'site', 'dlv_x', 'gh-1'), 'forgotten after 8 days')
  db.close()
})
