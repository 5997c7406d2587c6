import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {collectDecryptedLeaves} from '../../../src/lib/git/sops-adapter.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {encryptedLeafPaths, leafPathKey} from '../../../src/lib/sops/encrypted-leaves.js'

const EXAMPLE = resolve(process.cwd(), 'examples/gitops/clusters/prod')
const example = (path: string) => readFileSync(join(EXAMPLE, path))
const paths = (set: Set<string>) => [...set].map((key) => JSON.parse(key) as unknown[]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))

describe('encryptedLeafPaths: a known value is only a leaf sops encrypted', () => {
  test('a Secret manifest with encrypted_regex: only stringData, never kind, metadata.name or the namespace', () => {
    const found = encryptedLeafPaths('db-credentials.sops.yaml', example('payments/db-credentials.sops.yaml'), 'yaml')
    expect(paths(found)).toEqual([
      [0, 'stringData', 'password'],
      [0, 'stringData', 'username'],
    ])
  })

  test('dotenv: the encrypted keys, not the sops_ metadata', () => {
    expect(paths(encryptedLeafPaths('grafana.env', example('monitoring/grafana.env'), 'dotenv'))).toEqual([[0, 'GF_SECURITY_ADMIN_PASSWORD'], [0, 'GF_SECURITY_ADMIN_USER']])
  })

  test('JSON with nesting; a key matching unencrypted_suffix stays out', () => {
    const document = {
      api_key: 'ENC[AES256_GCM,data:TJGT3L0F,iv:10WuFF5hyBrel27gU7F/AOYy9ULcSmP7x27/R4CsmNw=,tag:CeKIc+uP/AEeH9E8NL3aOw==,type:str]',
      region_unencrypted: 'eu-west-payments',
      webhook: {url: 'ENC[AES256_GCM,data:f+5L,iv:WPg+udRVfZ+eiCFqRnlPjC3TaGMFmXvUR9eZDUWE5W4=,tag:bOOKf5oQBoswJiDwI4Gt2Q==,type:str]', hosts: ['plain.example.com', 'ENC[AES256_GCM,data:Ll3o,iv:XEykKLgMYxBravvWhJhWPRN+Gu6BPwxal6QAffpTUHc=,tag:mSuoFiqrTmjtvwOZiMgVQw==,type:str]']},
      sops: {age: [{recipient: 'age18j7jvp83e6gt3ztmvhd25npuujjx56xr6sm95rsl4d54um8zu3zsvcm8am', enc: '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n'}], lastmodified: '2026-11-24T21:19:15Z', mac: 'ENC[AES256_GCM,data:abcd,iv:SF2nbS+3pGX1noMqp+8tOYfzPleYWFdIhgrWfs6mMZs=,tag:htfCO5NVIgsGmuRJ5gEF/Q==,type:str]', unencrypted_suffix: '_unencrypted', version: '3.13.2'},
    }
    expect(paths(encryptedLeafPaths('x.json', Buffer.from(JSON.stringify(document)), 'json'))).toEqual([
      [0, 'api_key'],
      [0, 'webhook', 'hosts', 1],
      [0, 'webhook', 'url'],
    ])
  })

  test('multi-document YAML numbers its documents; a key holding a dot is not a nested path', () => {
    const text = [
      'kind: ConfigMap',
      'data:',
      '  a.b: ENC[AES256_GCM,data:Zm9v,iv:uHAVf6n5D0oBKawTBJWzyrfcoVi+B++SbRZTfzPECgk=,tag:E3T6/qYeyQ1fP9vsONstcg==,type:str]',
      'sops:',
      '  age:',
      '    - recipient: age18j7jvp83e6gt3ztmvhd25npuujjx56xr6sm95rsl4d54um8zu3zsvcm8am',
      '      enc: x',
      '  lastmodified: "2026-11-24T21:19:15Z"',
      '  mac: ENC[AES256_GCM,data:Zm9v,iv:uHAVf6n5D0oBKawTBJWzyrfcoVi+B++SbRZTfzPECgk=,tag:E3T6/qYeyQ1fP9vsONstcg==,type:str]',
      '  version: 3.13.2',
      '---',
      'kind: Secret',
      'namespace: payments',
      'list:',
      '  - ENC[AES256_GCM,data:Zm9v,iv:uHAVf6n5D0oBKawTBJWzyrfcoVi+B++SbRZTfzPECgk=,tag:E3T6/qYeyQ1fP9vsONstcg==,type:str]',
      'sops:',
      '  lastmodified: "2026-11-24T21:19:15Z"',
      '  mac: ENC[AES256_GCM,data:Zm9v,iv:uHAVf6n5D0oBKawTBJWzyrfcoVi+B++SbRZTfzPECgk=,tag:E3T6/qYeyQ1fP9vsONstcg==,type:str]',
      '  version: 3.13.2',
      '',
    ].join('\n')
    const found = encryptedLeafPaths('multi.yaml', Buffer.from(text), 'yaml')
    expect(paths(found)).toEqual([
      [0, 'data', 'a.b'],
      [1, 'list', 0],
    ])
    expect(found.has(leafPathKey(0, ['data', 'a', 'b']))).toBe(false)
  })

  test('decrypted leaves carry the same path keys, so the clear ones can be told apart', () => {
    const leaves = collectDecryptedLeaves([{kind: SecretValue.fromString('Secret'), stringData: {password: SecretValue.fromString('hunter2-long')}, list: [SecretValue.fromString('x')]}])
    expect(leaves.map((leaf) => [leaf.path, leaf.key]).sort()).toEqual([
      [leafPathKey(0, ['kind']), 'kind'],
      [leafPathKey(0, ['list', 0]), 'list[0]'],
      [leafPathKey(0, ['stringData', 'password']), 'stringData.password'],
    ])
  })
})
