import type {SopsDetector} from '../../../src/lib/git/scan.js'

/**
 * Stand-in until src/lib/sops/detect.ts lands: recognizes the SOPS metadata
 * block of each format. Replaced by the real detector (see sops-detector.ts).
 */
export const testDetector: SopsDetector = {
  detect(content: Buffer) {
    const text = content.toString('utf8')
    if (/^sops:\s*$/m.test(text) && /^\s+mac:/m.test(text)) return {format: 'yaml'}
    if (/"sops"\s*:\s*\{/.test(text) && /"mac"\s*:/.test(text)) return {format: /^\{\s*"data"/.test(text) ? 'binary' : 'json'}
    if (/^sops_mac=/m.test(text)) return {format: 'dotenv'}
    if (/^\[sops\]/m.test(text)) return {format: 'ini'}
    return undefined
  },
  isConfigPath: (path: string) => path === '.sops.yaml' || path.endsWith('/.sops.yaml'),
}
