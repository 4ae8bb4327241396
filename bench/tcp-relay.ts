// The ceiling of any user-space proxy on this machine: each connection piped byte for byte to a
// connection of its own to the target, no HTTP parsed. Its own process, like the agent's proxy.
// Usage: node bench/tcp-relay.ts LISTEN_PORT TARGET_PORT
import { connect, createServer } from 'node:net'

const [listenPort, targetPort] = process.argv.slice(2).map(Number)
createServer((client) => {
  const target = connect(targetPort as number, '127.0.0.1')
  client.setNoDelay(true)
  target.setNoDelay(true)
  client.on('error', () => target.destroy())
  target.on('error', () => client.destroy())
  client.pipe(target).pipe(client)
}).listen(listenPort, '127.0.0.1')
