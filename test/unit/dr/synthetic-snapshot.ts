// Builds Raft snapshot archives in memory the way hashicorp/raft-snapshot
// writes them (gzip'd tar: meta.json, state.bin, SHA256SUMS[, .sealed]), and
// damaged variants of them, for the integrity checker's unit tests.
import {createHash} from 'node:crypto'
import {gzipSync} from 'node:zlib'

import tar from 'tar-stream'

export interface Member {
  name: string
  content: Buffer
  type?: 'file' | 'directory' | 'symlink'
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

export function metaJson(overrides: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({Version: 1, ID: '2-1234-1700000000000', Index: 1234, Term: 2, Peers: null, Configuration: {Servers: []}, ConfigurationIndex: 1, Size: 0, ...overrides}))
}

/** Deterministic pseudo-random bytes: incompressible like Vault's barrier-encrypted state. */
export function stateBin(size: number, seed = 7): Buffer {
  const out = Buffer.alloc(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export function sums(members: Member[]): Buffer {
  return Buffer.from(members.map((m) => `${sha256(m.content)}  ${m.name}\n`).join(''))
}

export function validMembers(options: {stateSize?: number; sealed?: boolean; meta?: Record<string, unknown>} = {}): Member[] {
  const state = stateBin(options.stateSize ?? 200_000)
  const meta = metaJson({Size: state.length, ...options.meta})
  const data: Member[] = [
    {name: 'meta.json', content: meta},
    {name: 'state.bin', content: state},
  ]
  const list = sums(data)
  return [...data, {name: 'SHA256SUMS', content: list}, ...(options.sealed ? [{name: 'SHA256SUMS.sealed', content: Buffer.from('sealed-bytes')}] : [])]
}

export async function tarOf(members: Member[]): Promise<Buffer> {
  const pack = tar.pack()
  for (const member of members) {
    if (member.type === 'directory') pack.entry({name: member.name, type: 'directory'})
    else pack.entry({name: member.name, size: member.content.length, mode: 0o600}, member.content)
  }
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

export async function archiveOf(members: Member[]): Promise<Buffer> {
  return gzipSync(await tarOf(members))
}
