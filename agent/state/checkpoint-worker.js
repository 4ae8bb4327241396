// A worker thread with its own connection to the agent's state, moving the WAL into the
// database when the agent asks (db.ts: on a timer, while the WAL changes). A checkpoint syncs the
// disk, which can take tens of milliseconds after a burst of webhooks; here that never holds up
// the event loop that answers them.
// Plain JavaScript: a worker that loads TypeScript starts its own type stripper, twice the memory.
import { DatabaseSync } from 'node:sqlite'
import { parentPort, workerData } from 'node:worker_threads'

/** @type {{ path: string }} */
const { path } = workerData
const db = new DatabaseSync(path)
db.exec('PRAGMA busy_timeout = 5000')

const checkpoint = () => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)')
  } catch (error) {
    parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) })
  }
}
parentPort?.on('message', (message) => {
  if (message === 'checkpoint') return checkpoint()
  if (message !== 'stop') return
  db.close()
  parentPort?.close()
})
