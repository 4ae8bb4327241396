// The agent's identity: an Ed25519 signing key (its instance id is the key's thumbprint) and an
// X25519 key the relay seals queued deliveries to. Made on first start, kept 0600 in the home.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose'
import { nanoid } from 'nanoid'
import { instanceIdOf } from '../../shared/ids.ts'
import { audienceFor } from '../../shared/protocol.ts'
import { SEAL_ALG } from '../../shared/seal.ts'

export type Identity = {
  instanceId: string
  /** Opens sealed deliveries from the relay's queue. */
  sealingPrivateKey: CryptoKey
  /** A fresh connect token for the relay at `host` (audience-bound, 2 minutes, single use). */
  connectToken(host: string): Promise<string>
}

type KeyFile = { signing: JWK; sealing: JWK }

const publicPart = ({ kty, crv, x }: JWK): JWK => ({ kty, crv, x }) as JWK

async function createKeyFile(path: string): Promise<KeyFile> {
  const signing = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const sealing = await generateKeyPair(SEAL_ALG, { crv: 'X25519', extractable: true })
  const file: KeyFile = {
    signing: await exportJWK(signing.privateKey),
    sealing: await exportJWK(sealing.privateKey),
  }
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(file), { mode: 0o600, flag: 'wx' })
  renameSync(temp, path)
  return file
}

export async function loadIdentity(path: string): Promise<Identity> {
  let file: KeyFile
  try {
    file = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`cannot read the agent key ${path}: ${(error as Error).message}`)
    file = await createKeyFile(path)
  }
  const signingKey = (await importJWK(file.signing, 'EdDSA')) as CryptoKey
  const sealingPrivateKey = (await importJWK(file.sealing, SEAL_ALG)) as CryptoKey
  const signingPublic = publicPart(file.signing)
  const sealingPublic = publicPart(file.sealing)
  const instanceId = await instanceIdOf(signingPublic)
  return {
    instanceId,
    sealingPrivateKey,
    connectToken: (host) =>
      new SignJWT({ seal: sealingPublic })
        .setProtectedHeader({ alg: 'EdDSA', jwk: signingPublic })
        .setSubject(instanceId)
        .setAudience(audienceFor(host))
        .setIssuedAt()
        .setExpirationTime('2m')
        .setJti(nanoid())
        .sign(signingKey),
  }
}
