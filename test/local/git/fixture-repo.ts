import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {cQuote} from '../../../src/lib/git/cquote.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'

/** Real SOPS files (produced by the real sops binary upstream); used only as blobs inside temporary repositories. */
export const FIXTURES = resolve(PROJECT_ROOT, '../shared/fixtures/sops-real')
export const fixture = (path: string): Buffer => readFileSync(join(FIXTURES, path))

export const SOPS = {
  fluxSecret: 'fluxcd__kustomize-controller/internal/controller/testdata/sops/algorithms/age.yaml',
  fluxSopsYaml: 'fluxcd__kustomize-controller/internal/controller/testdata/sops/.sops.yaml',
  getsopsYaml: 'getsops__sops/example.yaml',
  dotenv: 'getsops__sops/functional-tests/res/format.enc.env',
  humphdJson: 'humphd__sops-age/tests/data/secret.enc.json',
  humphdYaml: 'humphd__sops-age/tests/data/secret.enc.yaml',
  humphdKey: 'humphd__sops-age/key.txt',
}

/** A plaintext value of the humphd fixtures (`secret` and `complex.value`), leaked in plaintext later in history. */
export const LEAKED_VALUE = 'this is a secret'

export type Change = {path: string; content: Buffer | string} | {path: string; gitlink: string} | {delete: string}
export interface CommitSpec {
  mark: number
  ref: string
  message: Buffer | string
  parents?: number[]
  changes: Change[]
}

export function git(repo: string, args: string[], options: {input?: Buffer | string; env?: NodeJS.ProcessEnv} = {}): string {
  return execFileSync('git', ['-C', repo, ...args], {input: options.input, env: {...process.env, ...options.env}, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe']})
}

function data(content: Buffer | string): Buffer[] {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content)
  return [Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n')]
}

/** Builds a fast-import stream for the commits (and annotated tags) and imports it into a new repository. */
export function importRepo(dir: string, commits: CommitSpec[], tags: {name: string; mark: number; message: string}[] = []): void {
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', dir])
  const parts: Buffer[] = []
  let time = 1_700_000_000
  for (const commit of commits) {
    time += 60
    parts.push(Buffer.from(`commit ${commit.ref}\nmark :${commit.mark}\ncommitter Test <test@example.com> ${time} +0000\n`), ...data(commit.message))
    const [first, ...merges] = commit.parents ?? []
    if (first !== undefined) parts.push(Buffer.from(`from :${first}\n`))
    for (const merge of merges) parts.push(Buffer.from(`merge :${merge}\n`))
    for (const change of commit.changes) {
      if ('delete' in change) parts.push(Buffer.from('D '), cQuote(Buffer.from(change.delete)), Buffer.from('\n'))
      else if ('gitlink' in change) parts.push(Buffer.from(`M 160000 ${change.gitlink} `), cQuote(Buffer.from(change.path)), Buffer.from('\n'))
      else parts.push(Buffer.from('M 100644 inline '), cQuote(Buffer.from(change.path)), Buffer.from('\n'), ...data(change.content))
    }
    parts.push(Buffer.from('\n'))
  }
  for (const tag of tags) {
    time += 60
    parts.push(Buffer.from(`tag ${tag.name}\nfrom :${tag.mark}\ntagger Test <test@example.com> ${time} +0000\n`), ...data(tag.message))
  }
  parts.push(Buffer.from('done\n'))
  execFileSync('git', ['-C', dir, 'fast-import', '--quiet', '--done'], {input: Buffer.concat(parts)})
  git(dir, ['checkout', '--quiet', 'main'])
}

/** A throwaway GnuPG home with one signing key; returns the env to use and a cleanup. */
export function throwawayGpg(): {env: NodeJS.ProcessEnv; keyId: string; cleanup: () => void} {
  const home = mkdtempSync(join(tmpdir(), 'gnupg-'))
  const env = {...process.env, GNUPGHOME: home}
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Scrub Test <scrub-test@example.com>', 'ed25519', 'sign', 'never'], {env, stdio: 'ignore'})
  const listing = execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys'], {env, encoding: 'utf8'})
  const keyId = listing.split('\n').find((line) => line.startsWith('fpr:'))!.split(':')[9]
  return {
    env,
    keyId,
    cleanup: () => {
      try {
        execFileSync('gpgconf', ['--kill', 'gpg-agent'], {env, stdio: 'ignore'})
      } catch {
        // the agent may not have started
      }
      rmSync(home, {recursive: true, force: true})
    },
  }
}

export interface HistoryRepo {
  dir: string
  /** Every path a SOPS file or .sops.yaml ever had. */
  sopsPaths: string[]
  /** Blob ids of every SOPS file and .sops.yaml version. */
  sopsBlobs: string[]
}

export function blobId(content: Buffer | string): string {
  return execFileSync('git', ['hash-object', '--stdin'], {input: content, encoding: 'utf8'}).trim()
}

/**
 * The history these tests need: SOPS files added, renamed, moved across
 * directories (to a name with a space and non-ASCII), re-encrypted, deleted and
 * re-added; a side branch with a dotenv SOPS file merged back; a gitlink; a
 * plaintext value leaked later (raw, base64, URL-encoded) and in a commit
 * message; annotated tags before and after the leak, and a signed tag.
 */
export function buildHistoryRepo(dir: string, gpg?: {env: NodeJS.ProcessEnv; keyId: string}): HistoryRepo {
  const flux = fixture(SOPS.fluxSecret)
  const getsops = fixture(SOPS.getsopsYaml)
  const dotenv = fixture(SOPS.dotenv)
  const json = fixture(SOPS.humphdJson)
  const yaml = fixture(SOPS.humphdYaml)
  const sopsYaml = fixture(SOPS.fluxSopsYaml)
  const moved = 'overlays/prod dir/sécret.yaml'
  const commits: CommitSpec[] = [
    {
      mark: 1,
      ref: 'refs/heads/main',
      message: 'initial layout',
      changes: [
        {path: 'README.md', content: '# app\n'},
        {path: '.sops.yaml', content: sopsYaml},
        {path: 'deploy/app/secret.enc.yaml', content: flux},
        {path: 'config/db.enc.json', content: json},
        {path: 'vendor/lib', gitlink: '1111111111111111111111111111111111111111'},
        {path: 'docs/naïve notes.md', content: 'plain notes, nothing secret\n'},
      ],
    },
    {mark: 2, ref: 'refs/heads/main', message: 'rename secret', parents: [1], changes: [{delete: 'deploy/app/secret.enc.yaml'}, {path: 'deploy/app/secret.yaml', content: flux}]},
    {mark: 3, ref: 'refs/heads/main', message: 'move secret to overlay', parents: [2], changes: [{delete: 'deploy/app/secret.yaml'}, {path: moved, content: flux}, {path: 'deploy/app/app.yaml', content: 'kind: Deployment\n'}]},
    {mark: 4, ref: 'refs/heads/feature', message: 'feature env', parents: [3], changes: [{path: 'feature/.env.enc', content: dotenv}, {path: 'feature/code.txt', content: 'feature code\n'}]},
    {mark: 5, ref: 'refs/heads/main', message: 're-encrypt secret', parents: [3], changes: [{path: moved, content: getsops}]},
    {mark: 6, ref: 'refs/heads/main', message: 'drop db secret', parents: [5], changes: [{delete: 'config/db.enc.json'}]},
    {mark: 7, ref: 'refs/heads/main', message: 'bring db secret back', parents: [6], changes: [{path: 'config/db.enc.json', content: yaml}]},
    {mark: 8, ref: 'refs/heads/main', message: 'Merge branch feature', parents: [7, 4], changes: [{path: 'feature/.env.enc', content: dotenv}, {path: 'feature/code.txt', content: 'feature code\n'}]},
    {
      mark: 9,
      ref: 'refs/heads/main',
      message: `debug db connection (password ${LEAKED_VALUE})\n`,
      parents: [8],
      changes: [
        {path: 'app/config.txt', content: `db_user=app\ndb_password=${LEAKED_VALUE}\n`},
        {path: 'k8s/leak.yaml', content: `kind: Secret\ndata:\n  password: ${Buffer.from(LEAKED_VALUE).toString('base64')}\n`},
        {path: 'app/url.txt', content: `postgres://app:${encodeURIComponent(LEAKED_VALUE)}@db:5432/app\n`},
      ],
    },
    {mark: 10, ref: 'refs/heads/main', message: 'later work', parents: [9], changes: [{path: 'README.md', content: '# app\n\nmore docs\n'}]},
  ]
  importRepo(dir, commits, [
    {name: 'v1', mark: 3, message: 'release v1\n'},
    {name: 'v2', mark: 9, message: `release v2, contains ${LEAKED_VALUE}\n`},
  ])
  git(dir, ['tag', 'light', 'main~1'])
  if (gpg) {
    git(dir, ['-c', `user.signingkey=${gpg.keyId}`, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'tag', '-s', 'v3-signed', '-m', 'signed release', 'main'], {env: gpg.env})
  }
  const sopsContents = [flux, getsops, dotenv, json, yaml, sopsYaml]
  return {
    dir,
    sopsPaths: ['.sops.yaml', 'deploy/app/secret.enc.yaml', 'deploy/app/secret.yaml', moved, 'config/db.enc.json', 'feature/.env.enc'],
    sopsBlobs: sopsContents.map(blobId),
  }
}

/** A fresh clone as git-filter-repo expects one (`--no-local`: a real pack, one reflog entry per ref). */
export function freshClone(source: string, dir: string): string {
  execFileSync('git', ['clone', '--quiet', '--no-local', source, dir], {stdio: 'ignore'})
  return dir
}
