/** Unit specs live beside the code; integration and e2e suites under test/. All use real services. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  // Repository classes carry Nest's @Injectable; NestJS 12 is ES modules that jest cannot load
  // on Node 20, so tests that import them get a stub (docs/testing.md, "The repository tier").
  moduleNameMapper: { '^@nestjs/common$': '<rootDir>/test/support/nest-common-stub.ts' },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Covers beforeAll hooks that start the platform (see START_TIMEOUT_MS in spawned-app.ts).
  testTimeout: 180000,
  maxWorkers: 1,
  forceExit: true,
};
