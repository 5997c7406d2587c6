import {dirname, resolve} from 'node:path'

import {gitText, runGit} from '../git-client/exec.js'

export interface RemovedSources {
  files: string[]
}

/** `git rm` of the verified sources, each in its own repository (a GitOps tree may span several). */
export async function removeSources(paths: string[], cwd: string): Promise<RemovedSources> {
  const byRepo = new Map<string, string[]>()
  for (const path of paths) {
    const absolute = resolve(cwd, path)
    const root = await gitText(dirname(absolute), ['rev-parse', '--show-toplevel'])
    byRepo.set(root, [...(byRepo.get(root) ?? []), absolute])
  }
  const files: string[] = []
  for (const [root, members] of byRepo) {
    await runGit(root, ['rm', '--quiet', '--', ...members])
    files.push(...members)
  }
  return {files}
}
