// One mocha run for the whole repository: shared Postgres + Redis fixtures, suites in parallel workers.
// A file named on the command line runs alone (mocha would otherwise add it to the default spec).
const namedFiles = process.argv.slice(2).some((a) => !a.startsWith('-') && /\.test\.ts$|\*/.test(a));

module.exports = {
  spec: namedFiles
    ? []
    : [
        'services/*/test/**/*.test.ts',
        'e2e/**/*.test.ts',
        'scripts/test/**/*.test.ts',
        'k8s-tests/**/*.test.ts',
        'frontend/test/**/*.test.ts',
      ],
  extension: ['ts'],
  require: ['scripts/infra/mocha-global-fixtures.ts'],
  reporter: 'services/platform/src/testing/reporter.cjs',
  parallel: true,
  jobs: Number(process.env.MOCHA_JOBS || 3),
  timeout: 60000,
  slow: 2000,
  exit: true,
};
