// Lint config: typescript-eslint recommended rules over every workspace's TypeScript, the service layering
// of docs/CONVENTIONS.md as import rules (a router importing db/ fails lint), and Prettier's formatting.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.data/**',
      'frontend/dist/**',
      'frontend/src/api/schema.d.ts',
      'charts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.mocha } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
  // Layering (docs/CONVENTIONS.md): routes → use-cases → db/domain; domain is pure; no test kit in production.
  {
    files: ['services/*/src/**/*.ts'],
    ignores: ['services/platform/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@eventtickets/platform/testing', '@eventtickets/platform/testing/*', '**/testing/*'],
              message: 'The test kit is for tests only: production code never imports it.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['services/*/src/routes/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/db/*', '**/db'],
              message: 'Routers call use cases; only use-cases/ and events/ reach db/ (docs/CONVENTIONS.md).',
            },
            {
              group: ['@eventtickets/platform/testing', '@eventtickets/platform/testing/*'],
              message: 'The test kit is for tests only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['services/*/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/db/*', '**/db', '**/use-cases/*', '**/routes/*', '**/events/*', '**/deps.ts', '**/app.ts'],
              message: 'domain/ is pure: rules and types, no I/O layers (docs/CONVENTIONS.md).',
            },
            {
              group: ['@eventtickets/platform/testing', '@eventtickets/platform/testing/*'],
              message: 'The test kit is for tests only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['services/*/src/db/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/use-cases/*', '**/routes/*', '**/events/*'],
              message: 'db/ is the bottom layer: it imports domain/ types at most.',
            },
            {
              group: ['@eventtickets/platform/testing', '@eventtickets/platform/testing/*'],
              message: 'The test kit is for tests only.',
            },
          ],
        },
      ],
    },
  },
  prettier,
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
