import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runCli} from '../../helpers/cli.js'
import {newAgeKey, sopsEncrypt} from '../../helpers/sops-files.js'

// A SOPS file whose top-level key is written "sops":
// is found; a runbook and a README that show a SOPS example are not
// findings. Built CLI (`npm run build` first), real git and sops.
const CANARY = 'canaryscan5b0e9c2d'

test('git scan finds a quoted "sops": file and reports no page that only shows an example', async () => {
  const key = await newAgeKey()
  const repo = mkdtempSync(join(tmpdir(), 'sops-detection-scan-'))
  try {
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], {stdio: 'pipe'})
    execFileSync('git', ['init', '--quiet', '--initial-branch=main', repo])
    const encrypted = sopsEncrypt(`password: ${CANARY}\n`, {recipient: key.recipient, type: 'yaml'}).toString('utf8')
    writeFileSync(join(repo, 'quoted.yaml'), encrypted.replace(/^sops:/m, '"sops":'))
    writeFileSync(join(repo, 'runbook.md'), `# Rotate the password\n\nThe encrypted file looks like this:\n\n\`\`\`yaml\n${encrypted}\`\`\`\n`)
    writeFileSync(join(repo, 'example.yaml'), `kind: Documentation\nexample: |\n  ${encrypted.replaceAll('\n', '\n  ')}\n`)
    git('add', '-A')
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'files')
    const result = await runCli(['git', 'scan', repo, '--json'], {env: {SOPS_AGE_KEY: key.identity}})
    expect(result.stdout + result.stderr).not.toContain(CANARY)
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as {sopsBlobs: {paths: string[]}[]}
    expect(report.sopsBlobs.flatMap((blob) => blob.paths)).toEqual(['quoted.yaml'])
  } finally {
    rmSync(repo, {recursive: true, force: true})
  }
}, 120_000)
