// Who may open the relay's /connect: hand-made tokens against a real relay process, the
// registration token's life cycle, and the agent's key material on disk.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { JWK } from 'jose'
import { instanceIdOf } from '../shared/ids.ts'
import { connected, startAgent } from './helpers/agent.ts'
import {
  authHeaders,
  connectToken,
  makeKeys,
  type Opened,
  type Refused,
  rawConnect,
  type TestKeys,
} from './helpers/connect.ts'
import { closePeers } from './helpers/peers.ts'
import {
  REGISTRATION_TOKEN,
  type RelayProc,
  spawnToehold,
  startRelay,
  stopAll,
  tempDir,
} from './helpers/procs.ts'
import { assertNoSecret } from './helpers/secrets.ts'

after(async () => {
  closePeers()
  await stopAll()
})

const T = { timeout: 30_000 }

/** 401 with a JSON `{"error": …}` matching `reason`, answered instead of the upgrade. */
function assertRefused(result: Opened | Refused, reason: RegExp) {
  if (result.ok) {
    result.ws.terminate()
    assert.fail(`expected 401 (${reason}), the relay accepted the connection`)
  }
  assert.equal(result.status, 401)
  assert.equal(result.contentType, 'application/json')
  const { error } = result.body as { error: string }
  assert.match(error, reason)
}

async function assertAccepted(result: Opened | Refused, keys: TestKeys): Promise<void> {
  assert.ok(result.ok, `refused: ${JSON.stringify(result)}`)
  assert.equal(result.welcome.instance, keys.instance)
  result.ws.close()
  await result.closed
}

const now = () => Math.floor(Date.now() / 1000)

describe('connect authentication', () => {
  let relay: RelayProc
  let known: TestKeys
  before(async () => {
    relay = await startRelay()
    known = await makeKeys()
    const first = await rawConnect(
      relay.url,
      authHeaders(await connectToken(known, relay.url), REGISTRATION_TOKEN),
    )
    await assertAccepted(first, known)
  })
  after(() => relay.kill())

  const connect = async (keys: TestKeys, claims = {}, registration?: string) =>
    rawConnect(relay.url, authHeaders(await connectToken(keys, relay.url, claims), registration))

  test('a new instance needs the right registration token', T, async () => {
    const keys = await makeKeys()
    assertRefused(await connect(keys), /registration token/)
    assertRefused(await connect(keys, {}, 'not-the-registration-token-at-all'), /registration/)
    assertRefused(await connect(keys, {}, REGISTRATION_TOKEN.slice(0, -1)), /registration/)
    assertRefused(await connect(keys, {}, `${REGISTRATION_TOKEN}x`), /registration/)
    await assertAccepted(await connect(keys, {}, REGISTRATION_TOKEN), keys)
    // Known now: its key alone is enough.
    await assertAccepted(await connect(keys), keys)
  })

  test('a token signed by another key is refused, registered or not', T, async () => {
    const intruder = await makeKeys()
    // Claims the known instance, signed by (and embedding) a different key.
    assertRefused(await connect(known, { signer: intruder }), /invalid token/)
    assertRefused(await connect(known, { signer: intruder }, REGISTRATION_TOKEN), /invalid token/)
    // Claims an unregistered id that is not its own key's thumbprint.
    const other = await makeKeys()
    assertRefused(
      await connect(other, { signer: intruder }, REGISTRATION_TOKEN),
      /does not match the key/,
    )
  })

  test('expired, too long-lived and too old tokens are refused', T, async () => {
    assertRefused(await connect(known, { iat: now() - 300, exp: now() - 120 }), /"exp"/)
    assertRefused(await connect(known, { exp: now() + 3600 }), /lifetime exceeds 5 minutes/)
    assertRefused(await connect(known, { iat: now() - 900, exp: now() + 60 }), /"iat"/)
  })

  test('a token opens one connection only (jti is never accepted twice)', T, async () => {
    const token = await connectToken(known, relay.url)
    await assertAccepted(await rawConnect(relay.url, authHeaders(token)), known)
    assertRefused(await rawConnect(relay.url, authHeaders(token)), /already used/)
    // Even a different token that reuses the jti.
    const jti = randomBytes(8).toString('hex')
    await assertAccepted(await connect(known, { jti }), known)
    assertRefused(await connect(known, { jti }), /already used/)
  })

  test('a token for another relay (audience) is refused', T, async () => {
    assertRefused(await connect(known, { aud: 'toehold-relay:relay.example.com' }), /"aud"/)
    assertRefused(await connect(known, { aud: 'someone-else' }), /"aud"/)
  })

  test('missing or malformed credentials are refused', T, async () => {
    assertRefused(await rawConnect(relay.url, {}), /missing bearer/)
    assertRefused(await rawConnect(relay.url, { authorization: 'Basic dXNlcjpwYXNz' }), /bearer/)
    assertRefused(await rawConnect(relay.url, authHeaders('not.a.jwt')), /malformed/)
    assertRefused(
      await rawConnect(relay.url, authHeaders('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')),
      /malformed/,
    )
  })
})

describe('registration token', () => {
  /** The generated token, from the 0600 file the relay's log names (never the log itself). */
  async function writtenToken(relay: RelayProc): Promise<{ token: string; file: string }> {
    const line = await relay.waitFor(
      (l) => l.msg?.startsWith('new relay registration token') ?? false,
    )
    const file = String(line.file)
    assert.equal(file, join(relay.dataDir, 'registration-token'))
    assert.equal(statSync(file).mode & 0o777, 0o600)
    return { token: readFileSync(file, 'utf8').trim(), file }
  }

  test(
    'made on first start, written to a 0600 file (not the log), stored only as a hash, and it works',
    T,
    async () => {
      const relay = await startRelay({ env: { RELAY_REGISTRATION_TOKEN: '' } })
      const { token, file } = await writtenToken(relay)
      assert.match(token, /^[\w-]{43}$/, '32 random bytes, base64url')

      const refused = await startAgent({ relay }) // with the test suite's token, not this relay's
      const reason = await refused.waitFor((line) => line.msg === 'relay refused the connection')
      assert.match(String(reason.reason), /401.*registration token/)
      await refused.kill()

      const agent = await startAgent({ relay, registrationToken: token })
      await connected(agent)
      await agent.kill()
      assert.equal((await relay.kill()).code, 0)
      // Nowhere but its own file: not in the log, not on stderr, not in the database.
      assertNoSecret(
        { token },
        {
          texts: { log: JSON.stringify(relay.lines), stderr: relay.stderr },
          dirs: [relay.dataDir],
          skip: (path) => path === file,
        },
      )

      // Restarted on the same data: no new token, and the first one still registers agents.
      const again = await startRelay({
        dataDir: relay.dataDir,
        env: { RELAY_REGISTRATION_TOKEN: '' },
      })
      const second = await startAgent({ relay: again, registrationToken: token })
      await connected(second)
      assert.equal(
        again.lines.some((l) => l.msg?.startsWith('new relay registration token')),
        false,
      )
      await second.kill()
      await again.kill()
    },
  )

  test('a RELAY_REGISTRATION_TOKEN shorter than 24 characters stops the relay', T, async () => {
    const dataDir = join(tempDir(), 'data')
    const args = ['relay', '--host', '127.0.0.1', '--port', '0', '--data', dataDir]
    const short = spawnToehold(args, { RELAY_REGISTRATION_TOKEN: 'x'.repeat(23) })
    const { code } = await short.exited
    assert.notEqual(code, 0)
    assert.match(short.stderr, /RELAY_REGISTRATION_TOKEN must be at least 24 characters/)
    assert.equal(
      short.lines.some((line) => line.msg === 'relay listening'),
      false,
    )
    const enough = spawnToehold(args, { RELAY_REGISTRATION_TOKEN: 'x'.repeat(24) })
    await enough.waitFor((line) => line.msg === 'relay listening')
    await enough.kill()
  })
})

describe('agent identity', () => {
  test('key file 0600 in a 0700 home; instance id = 20 base32 chars, stable', T, async () => {
    const relay = await startRelay()
    const home = join(tempDir(), 'not', 'yet', 'there')
    const agent = await startAgent({ relay, home })
    await connected(agent)
    assert.equal(statSync(home).mode & 0o777, 0o700)
    const keyFile = join(home, 'agent', 'key.json')
    assert.equal(statSync(keyFile).mode & 0o777, 0o600)
    assert.match(agent.instance, /^[a-z2-7]{20}$/)
    // Derived from the signing key's public part (its thumbprint), nothing else.
    const { signing } = JSON.parse(readFileSync(keyFile, 'utf8')) as { signing: JWK }
    const { kty, crv, x } = signing
    assert.equal(await instanceIdOf({ kty, crv, x } as JWK), agent.instance)
    await agent.kill()

    // Same key, same instance; known to the relay, so no registration token is needed.
    const restarted = await startAgent({ relay, home, registrationToken: null })
    assert.equal(restarted.instance, agent.instance)
    await connected(restarted)
    assert.equal(statSync(keyFile).mode & 0o777, 0o600)
    await restarted.kill()
    await relay.kill()
  })
})
