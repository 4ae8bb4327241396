// A worker thread with its own connection to the agent's state, moving the WAL into the
// database on a timer. A checkpoint syncs the disk, which can take tens of milliseconds after a
// burst of webhooks; here that never holds up the event loop that answers them.
import { DatabaseSync } from 'node:sqlite'
import { parentPort, workerData } from 'node:worker_threads'

const { path, everyMs } = workerData as { path: string; everyMs: number }
const db = new DatabaseSync(path)
db.exec('PRAGMA busy_timeout = 5000')

const checkpoint = () => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)')
  } catch (error) {
    parentPort?.postMessage({ error: (error as Error).message })
  }
}
const timer = setInterval(checkpoint, everyMs)

parentPort?.on('message', (message: string) => {
  if (message !== 'stop') return
  clearInterval(timer)
  db.close()
  parentPort?.close()
})
