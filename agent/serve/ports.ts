// Private ports for releases: the kernel picks a free one on 127.0.0.1, which is let go at once
// for the release to take (as PORT). Another program could take it in between; the release then
// fails its start and nothing else changes.
import { createServer } from 'node:net'

export function pickPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
