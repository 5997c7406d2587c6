// unit:        pure logic, imports TypeScript sources.
// local:       real local binaries (sops, git, git-filter-repo), no servers.
// integration: real servers (two Vault-API regions, kube-apiserver + etcd, ESO)
//              started once by the global setup; drives the built CLI too.
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {'^.+\\.ts$': ['ts-jest', {useESM: true, tsconfig: 'tsconfig.json'}]},
  testEnvironment: 'node',
  // Test runs leave servers' data and scratch copies here; they are not sources.
  modulePathIgnorePatterns: ['<rootDir>/test-output/', '<rootDir>/dist/'],
}
export default {
  projects: [
    {...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts']},
    {
      ...common,
      displayName: 'local',
      testMatch: ['<rootDir>/test/local/**/*.test.ts'],
      globalSetup: '<rootDir>/test/env/local-setup.mjs',
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/env/global-setup.mjs',
      globalTeardown: '<rootDir>/test/env/global-teardown.mjs',
      // 120 s per test unless it says otherwise: Jest's 5 s default would make tests of real servers depend on speed.
      setupFilesAfterEnv: ['<rootDir>/test/env/test-timeout.ts'],
    },
  ],
}
