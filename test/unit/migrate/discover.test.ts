import {copyFileSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

import {discoverSopsFiles} from '../../../src/lib/migrate/discover.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'

const FIXTURES = resolve(PROJECT_ROOT, '..', 'shared', 'fixtures', 'sops-real')

describe('finding SOPS files', () => {
  const repo = mkdtempSync(join(tmpdir(), 'secrets-discover-'))
  const put = (path: string, content: string) => {
    mkdirSync(dirname(join(repo, path)), {recursive: true})
    writeFileSync(join(repo, path), content)
  }
  const copy = (fixture: string, path: string) => {
    mkdirSync(dirname(join(repo, path)), {recursive: true})
    copyFileSync(join(FIXTURES, fixture), join(repo, path))
  }
  mkdirSync(join(repo, '.git'))
  put('.git/config', 'sops: lastmodified ENC[AES256_GCM,')
  put('.gitignore', 'build/\n*.bak\n')
  copy('fluxcd__kustomize-controller/internal/controller/testdata/sops/algorithms/age.yaml', 'clusters/prod/secret.enc.yaml')
  copy('humphd__sops-age/tests/data/secret.enc.json', 'clusters/prod/values.sops.yml.j2')
  copy('fluxcd__kustomize-controller/internal/controller/testdata/sops/envs/env.env', 'clusters/prod/app.env')
  copy('getsops__sops/example.ini', 'clusters/prod/nested/deep/example.ini')
  copy('getsops__sops/example.txt', 'clusters/prod/blob.bin')
  copy('getsops__sops/example.yaml', 'build/ignored.yaml')
  copy('getsops__sops/example.yaml', 'clusters/prod/old.yaml.bak')
  copy('getsops__sops/example.yaml', 'clusters/prod/nested/skip-me.yaml')
  put('clusters/prod/nested/.gitignore', 'skip-me.yaml\n')
  put('clusters/prod/.sops.yaml', 'creation_rules: []\n')
  put('clusters/prod/plain.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sops}\n')
  put('clusters/prod/mentions-sops.md', 'We used sops with ENC[AES256_GCM, values.\n')

  test('by content, in every format, honouring nested .gitignore files and never entering .git', async () => {
    const found = await discoverSopsFiles(['.'], {cwd: repo})
    expect(found.sopsFiles.map((file) => [file.displayPath, file.format])).toEqual([
      ['clusters/prod/app.env', 'dotenv'],
      ['clusters/prod/blob.bin', 'binary'],
      ['clusters/prod/nested/deep/example.ini', 'ini'],
      ['clusters/prod/secret.enc.yaml', 'yaml'],
      ['clusters/prod/values.sops.yml.j2', 'json'],
    ])
    expect(found.configFiles).toEqual(['clusters/prod/.sops.yaml'])
  })

  test("the repository's .gitignore applies when the walk starts below it", async () => {
    const found = await discoverSopsFiles([join(repo, 'clusters')], {cwd: repo})
    expect(found.sopsFiles.map((file) => file.displayPath)).not.toContain('clusters/prod/old.yaml.bak')
    expect(found.sopsFiles).toHaveLength(5)
  })

  test('a file named explicitly is read even when ignored; a missing path is a clear error', async () => {
    const found = await discoverSopsFiles(['build/ignored.yaml'], {cwd: repo})
    expect(found.sopsFiles.map((file) => file.displayPath)).toEqual(['build/ignored.yaml'])
    await expect(discoverSopsFiles(['nope'], {cwd: repo})).rejects.toThrow('nope does not exist')
  })
})
