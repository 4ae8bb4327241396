// Signature checks in-process, over bodies signed by the senders' own code (@octokit/webhooks-
// methods for GitHub, standardwebhooks for rev.host and GitLab's signing token) or their documented
// HMAC (Bitbucket): every scheme accepts its own signature and refuses a changed byte, a wrong
// secret, a missing header and another scheme's signature.
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { sign } from '@octokit/webhooks-methods'
import { Webhook } from 'standardwebhooks'
import type { Provider } from '../agent/api/contract.ts'
import { verify } from '../agent/intake/verify.ts'

const TRIGGER = 'tht_test-trigger-token-0123456789'
const keys = (provider: Provider, secret: string) => ({ provider, secret, triggerToken: TRIGGER })

import { newSecret } from '../agent/state/webhooks.ts'

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/webhooks/${name}.json`, import.meta.url))

const flip = (body: Buffer) => {
  const changed = Buffer.from(body)
  const at = changed.length - 2
  changed[at] = (changed[at] as number) ^ 1
  return changed
}

function standard(
  secret: string,
  body: Buffer,
  at = new Date(),
  id = `msg_${randomBytes(6).toString('hex')}`,
) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body.toString('utf8')),
  }
}

describe('GitHub (X-Hub-Signature-256)', () => {
  const secret = newSecret('github')
  const body = fixture('rev-save')

  test('accepts its signature; refuses a changed byte, another secret, no header', async () => {
    const headers = { 'x-hub-signature-256': await sign(secret, body.toString('utf8')) }
    assert.equal(verify(keys('github', secret), headers, body), 'hub-sha256')
    assert.equal(verify(keys('github', secret), headers, flip(body)), null)
    assert.equal(verify(keys('github', newSecret('github')), headers, body), null)
    assert.equal(verify(keys('github', secret), {}, body), null)
  })

  test('refuses Bitbucket’s header and a Standard Webhooks signature made with the same secret', () => {
    const mac = createHmac('sha256', secret).update(body).digest('hex')
    assert.equal(verify(keys('github', secret), { 'x-hub-signature': `sha256=${mac}` }, body), null)
    const whsec = `whsec_${Buffer.from(secret).toString('base64')}`
    assert.equal(verify(keys('github', secret), standard(whsec, body), body), null)
  })
})

describe('Bitbucket Cloud (X-Hub-Signature)', () => {
  const secret = newSecret('bitbucket')
  const body = fixture('bitbucket-push')
  const mac = (key: string, bytes: Buffer) =>
    `sha256=${createHmac('sha256', key).update(bytes).digest('hex')}`

  test('accepts its documented HMAC; refuses a changed byte, another secret, GitHub’s header', () => {
    assert.equal(
      verify(keys('bitbucket', secret), { 'x-hub-signature': mac(secret, body) }, body),
      'hub-sha256',
    )
    assert.equal(
      verify(keys('bitbucket', secret), { 'x-hub-signature': mac(secret, body) }, flip(body)),
      null,
    )
    assert.equal(
      verify(
        keys('bitbucket', secret),
        { 'x-hub-signature': mac('another-secret-1234', body) },
        body,
      ),
      null,
    )
    assert.equal(
      verify(keys('bitbucket', secret), { 'x-hub-signature-256': mac(secret, body) }, body),
      null,
    )
  })
})

describe('Standard Webhooks (rev.host, standard, GitLab’s signing token)', () => {
  const providers: Provider[] = ['rev', 'standard', 'gitlab']
  const body = fixture('rev-save')

  test('accepts its signature for every provider that speaks it; refuses a changed byte and another key', () => {
    for (const provider of providers) {
      const secret = newSecret(provider === 'gitlab' ? 'rev' : provider)
      const headers = standard(secret, body)
      assert.equal(verify(keys(provider, secret), headers, body), 'standard', provider)
      assert.equal(verify(keys(provider, secret), headers, flip(body)), null, provider)
      assert.equal(verify(keys(provider, newSecret('rev')), headers, body), null, provider)
    }
  })

  test('refuses timestamps more than 5 minutes off, either way', () => {
    const secret = newSecret('rev')
    const now = Date.now()
    const at = (offset: number) => standard(secret, body, new Date(now + offset))
    assert.equal(verify(keys('rev', secret), at(-4 * 60_000), body, now), 'standard')
    assert.equal(verify(keys('rev', secret), at(-6 * 60_000), body, now), null)
    assert.equal(verify(keys('rev', secret), at(6 * 60_000), body, now), null)
  })

  test('takes any one valid signature among several (the sender rotates its secret)', () => {
    const secret = newSecret('rev')
    const headers = standard(secret, body)
    const other = standard(newSecret('rev'), body, new Date(), headers['webhook-id'])
    const both = {
      ...headers,
      'webhook-signature': `${other['webhook-signature']} ${headers['webhook-signature']}`,
    }
    assert.equal(verify(keys('rev', secret), both, body), 'standard')
    assert.equal(
      verify(
        keys('rev', secret),
        { ...both, 'webhook-signature': other['webhook-signature'] },
        body,
      ),
      null,
    )
  })
})

describe('GitLab’s plain X-Gitlab-Token and the CI bearer trigger', () => {
  const secret = newSecret('gitlab')
  const body = fixture('gitlab-push')

  test('the token must match exactly; a Standard Webhooks header is judged as such, not as a token', () => {
    assert.equal(verify(keys('gitlab', secret), { 'x-gitlab-token': secret }, body), 'gitlab-token')
    assert.equal(verify(keys('gitlab', secret), { 'x-gitlab-token': `${secret}x` }, body), null)
    assert.equal(verify(keys('gitlab', secret), { 'x-gitlab-token': secret.slice(1) }, body), null)
    const forged = { 'x-gitlab-token': secret, 'webhook-signature': 'v1,AAAA' }
    assert.equal(verify(keys('gitlab', secret), forged, body), null)
  })

  test('a bearer header is the CI trigger: judged alone, never falling through to the signature', async () => {
    const headers = { 'x-hub-signature-256': await sign(secret, body.toString('utf8')) }
    assert.equal(
      verify(keys('github', secret), { ...headers, authorization: 'Bearer wrong' }, body),
      null,
    )
  })
})
