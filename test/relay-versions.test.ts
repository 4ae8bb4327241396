// Versions on the tunnel: the agent's hello names its package version, and the relay names an
// agent that speaks an older protocol than its own in its log.
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { encodeFrame } from '../shared/frame.ts'
import { PROTOCOL_VERSION } from '../shared/protocol.ts'
import { VERSION } from '../shared/version.ts'
import { startAgent } from './helpers/agent.ts'
import { authHeaders, connectToken, makeKeys, rawConnect } from './helpers/connect.ts'
import { REGISTRATION_TOKEN, startRelay, stopAll } from './helpers/procs.ts'

after(stopAll)

it("the agent's hello carries the package version; an older protocol is logged by the relay", async () => {
  const relay = await startRelay()
  const agent = await startAgent({ relay })
  const hello = await relay.waitFor((line) => line.msg === 'agent hello', 'hello')
  assert.equal(hello.instance, agent.instance)
  assert.equal(hello.agent, `toehold-agent/${VERSION}`)

  const keys = await makeKeys()
  const opened = await rawConnect(
    relay.url,
    authHeaders(await connectToken(keys, relay.url), REGISTRATION_TOKEN),
  )
  assert.ok(opened.ok)
  opened.ws.send(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION - 1, agent: 'toehold-agent/0.0.9' }))
  const old = await relay.waitFor((line) => line.msg === 'agent on an older protocol', 'warning')
  assert.equal(old.agent, 'toehold-agent/0.0.9')
  assert.equal(old.protocol, PROTOCOL_VERSION - 1)
  assert.equal(old.level, 40)
  opened.ws.close()
})
