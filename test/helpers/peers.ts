// What relay tests open in-process (echo agents, raw WebSocket clients), closed together.

const open = new Set<() => void>()

/** Registers how to close a peer; returns the function that forgets it (once it closed). */
export function closeWithPeers(close: () => void): () => void {
  open.add(close)
  return () => open.delete(close)
}

/**
 * Closes every echo agent and raw client still open. For an `after` hook: after a failed test
 * their sockets and reconnect timers would keep the test file from ever exiting.
 */
export function closePeers(): void {
  for (const close of open) close()
  open.clear()
}
