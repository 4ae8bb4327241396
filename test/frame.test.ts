// The binary frame codec and the protocol parser: exact round trips, and malformed input of any
// shape fails with FrameError (which the tunnels turn into close 1002), never anything else.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { decodeFrame, encodeFrame, FrameError, MAX_FRAME_HEADER } from '../shared/frame.ts'
import { parseMessage } from '../shared/protocol.ts'

/** A tiny deterministic PRNG (mulberry32) so a failing fuzz case can be replayed. */
function prng(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const withLength = (length: number, rest: Buffer | string) => {
  const prefix = Buffer.alloc(4)
  prefix.writeUInt32BE(length)
  return Buffer.concat([prefix, Buffer.from(rest)])
}

/** Runs `fn` and requires that it either returns or throws a FrameError. */
function onlyFrameErrors(fn: () => unknown, input: Buffer) {
  try {
    fn()
  } catch (error) {
    if (!(error instanceof FrameError)) {
      assert.fail(
        `${(error as Error).name}: ${(error as Error).message} for ${input.toString('hex')}`,
      )
    }
  }
}

const validFrames = [
  encodeFrame(
    {
      t: 'delivery',
      id: 'dlv_1',
      app: 'web',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      query: 'a=1',
      receivedAt: 1,
      remote: '127.0.0.1',
    },
    Buffer.from('{"ref":"refs/heads/main"}'),
  ),
  encodeFrame({ t: 'sealed', id: 'dlv_2', receivedAt: 2 }, randomBytes(40)),
  encodeFrame({ t: 'result', id: 'dlv_3', status: 202, headers: {} }, Buffer.from('ok')),
  encodeFrame({ t: 'welcome', v: 1, instance: 'abc', publicUrl: 'https://r', queued: 3 }),
  encodeFrame({ t: 'hello', v: 1, agent: 'toehold-agent/0.1.0' }),
]

describe('frame codec', () => {
  test('round-trips header and body bytes exactly', () => {
    const bodies = [
      Buffer.alloc(0),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
      randomBytes(3 * 1024 ** 2),
    ]
    for (const body of bodies) {
      const header = { t: 'delivery', id: 'dlv_x', headers: { 'x-ü': 'ünïcode ✓' } }
      const decoded = decodeFrame(encodeFrame(header, body))
      assert.deepEqual(decoded.header, header)
      assert.ok(decoded.body.equals(body), `${body.length} bytes`)
    }
    const bare = decodeFrame(encodeFrame({ t: 'hello' }))
    assert.equal(bare.body.length, 0)
  })

  test('the layout is uint32 BE header length, JSON header, raw body', () => {
    const frame = encodeFrame({ t: 'x' }, Buffer.from([1, 2]))
    assert.equal(frame.readUInt32BE(0), 9)
    assert.equal(frame.subarray(4, 13).toString(), '{"t":"x"}')
    assert.deepEqual([...frame.subarray(13)], [1, 2])
  })

  test('malformed frames throw FrameError', () => {
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['shorter than the prefix', Buffer.from([0, 0, 1])],
      ['header longer than the frame', withLength(10, '{}')],
      ['header over the limit', withLength(MAX_FRAME_HEADER + 1, '{}')],
      ['largest length', Buffer.from([0xff, 0xff, 0xff, 0xff])],
      ['not JSON', withLength(4, 'nope')],
      ['invalid UTF-8', withLength(3, Buffer.from([0xff, 0xfe, 0xfd]))],
      ['JSON array', withLength(2, '[]')],
      ['JSON null', withLength(4, 'null')],
      ['JSON number', withLength(1, '7')],
      ['JSON string', withLength(4, '"hi"')],
      ['empty header', withLength(0, '')],
    ]
    for (const [what, frame] of cases) {
      assert.throws(() => decodeFrame(frame), FrameError, what)
    }
  })
})

describe('protocol messages', () => {
  test('every valid frame parses to its message and body', () => {
    for (const frame of validFrames) {
      const parsed = parseMessage(frame)
      assert.ok(parsed)
      assert.deepEqual(parsed.message, decodeFrame(frame).header)
    }
  })

  test('unknown frame types are ignored (null), including inherited property names', () => {
    for (const t of ['future', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      assert.equal(parseMessage(encodeFrame({ t })), null, t)
    }
    assert.equal(parseMessage(encodeFrame({ type: 'delivery' })), null)
    assert.equal(parseMessage(encodeFrame({ t: 5 })), null)
  })

  test('a known type with a bad shape throws FrameError', () => {
    const bad = [
      { t: 'result', id: 'dlv_1', status: 99, headers: {} },
      { t: 'result', id: 'dlv_1', status: 200.5, headers: {} },
      { t: 'result', id: '', status: 200, headers: {} },
      { t: 'result', id: 'dlv_1', status: 200, headers: { a: 1 } },
      { t: 'result', id: 'x'.repeat(65), status: 200, headers: {} },
      { t: 'delivery', id: 'dlv_1' },
      { t: 'sealed', id: 'dlv_1' },
      { t: 'welcome', v: 1, instance: 'x', publicUrl: 'u', queued: -1 },
      { t: 'hello', v: '1', agent: 'a' },
    ]
    for (const header of bad) {
      assert.throws(() => parseMessage(encodeFrame(header)), FrameError, JSON.stringify(header))
    }
  })

  test('fuzz: random and mutated frames only ever throw FrameError', () => {
    const random = prng(0x70e401d)
    const byte = () => Math.floor(random() * 256)
    for (let i = 0; i < 5000; i++) {
      const input = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, byte))
      if (random() < 0.5 && input.length >= 4) input.writeUInt32BE(Math.floor(random() * 80), 0)
      onlyFrameErrors(() => decodeFrame(input), input)
      onlyFrameErrors(() => parseMessage(input), input)
    }
    for (let i = 0; i < 5000; i++) {
      const base = validFrames[i % validFrames.length] as Buffer
      const input = Buffer.from(base)
      const edits = 1 + Math.floor(random() * 4)
      for (let e = 0; e < edits; e++) input[Math.floor(random() * input.length)] = byte()
      const cut = random() < 0.3 ? input.subarray(0, Math.floor(random() * input.length)) : input
      onlyFrameErrors(() => parseMessage(cut), cut)
    }
  })
})
