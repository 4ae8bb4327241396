// The sample app toehold's demo deploys: one page on $PORT saying which version is live.
import { readFileSync } from 'node:fs'

const message = readFileSync('message.txt', 'utf8').trim()
const built = readFileSync('build.txt', 'utf8').trim()

Bun.serve({
  port: Number(process.env.PORT),
  fetch: () => new Response(`${message} (built ${built})\n`),
})
console.log(`sample app listening on ${process.env.PORT}`)
