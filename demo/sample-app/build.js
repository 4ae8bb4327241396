// The sample app's build step (`bun run predeploy`): stamps the page with the build time.
import { writeFileSync } from 'node:fs'

writeFileSync('build.txt', new Date().toISOString())
console.log('built the sample app')
