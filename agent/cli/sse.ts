// Reads the agent's live stream (Server-Sent Events, as GET /events sends it) from a response body.
export type SseEvent = { event: string; data: string }

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n')
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        // Lines starting with ':' are comments (keep-alives).
        const [, field, value = ''] = /^([^:]+):? ?(.*)$/.exec(line) ?? []
        if (field === 'event') event = value
        else if (field === 'data') data.push(value)
      }
      if (data.length > 0) yield { event, data: data.join('\n') }
    }
  }
}
