// Binary frame codec shared by relay and agent:
//   uint32 BE header length | JSON header | raw body bytes
// The body is carried untouched so webhook signatures stay valid over the exact bytes sent.

export const MAX_FRAME_HEADER = 256 * 1024

export class FrameError extends Error {
  override name = 'FrameError'
}

export type Frame = { header: Record<string, unknown>; body: Buffer }

export function encodeFrame(header: object, body?: Uint8Array): Buffer {
  const { frame, bodyAt } = allocFrame(header, body?.length ?? 0)
  if (body) frame.set(body, bodyAt)
  return frame
}

/**
 * A frame with room for `bodyLength` body bytes at `bodyAt`, for a body written in place (read
 * from a request, or copied from storage) instead of being built apart and copied once more.
 * The frame owns its whole ArrayBuffer, so it can be handed on (sealed, sent) without a copy.
 */
export function allocFrame(header: object, bodyLength: number): { frame: Buffer; bodyAt: number } {
  const json = Buffer.from(JSON.stringify(header))
  const frame = Buffer.allocUnsafeSlow(4 + json.length + bodyLength)
  frame.writeUInt32BE(json.length, 0)
  json.copy(frame, 4)
  return { frame, bodyAt: 4 + json.length }
}

export function decodeFrame(data: Buffer): Frame {
  if (data.length < 4) throw new FrameError('frame shorter than its length prefix')
  const length = data.readUInt32BE(0)
  if (length > MAX_FRAME_HEADER) throw new FrameError('frame header too large')
  if (4 + length > data.length) throw new FrameError('frame header runs past the frame')
  let header: unknown
  try {
    header = JSON.parse(data.toString('utf8', 4, 4 + length))
  } catch {
    throw new FrameError('frame header is not JSON')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new FrameError('frame header is not an object')
  }
  return { header: header as Record<string, unknown>, body: data.subarray(4 + length) }
}
