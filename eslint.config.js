// Type-aware lint. Layer rules keep dependencies pointing one way (see docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const layer = (target, from, message) => ({
  target: `./src/${target}`,
  from: from.map((f) => `./src/${f}`),
  message,
});

export default tseslint.config(
  {
    // bench/probes: standalone measurement programs (C, plain JS), no part of the build.
    ignores: [
      'dist/**',
      'node_modules/**',
      'bin/**',
      'scripts/**',
      'bench/probes/**',
      'eslint.config.js',
      '.ci/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // Resolving into binaryen's 14 MB generated module overflows the parser's stack; no rule needs it.
    // The TypeScript resolver maps `./x.js` imports to `./x.ts`: without it no layer rule fires.
    settings: {
      'import-x/ignore': ['node_modules'],
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            layer(
              'core',
              [
                'protocol',
                'gossip',
                'balance',
                'wasi',
                'deputy',
                'snapshot',
                'runtime',
                'daemon',
                'platform',
                'sim',
                'cli',
              ],
              'core depends on nothing',
            ),
            layer(
              'wasi',
              ['deputy', 'runtime', 'daemon', 'platform', 'sim', 'cli'],
              'wasi is a pure ABI layer',
            ),
            layer(
              'gossip',
              ['deputy', 'runtime', 'daemon', 'platform', 'cli', 'wasi'],
              'gossip is a sans-IO core',
            ),
            layer(
              'balance',
              ['deputy', 'runtime', 'daemon', 'platform', 'cli', 'wasi'],
              'balance is a pure policy',
            ),
            layer(
              'deputy',
              ['runtime', 'daemon', 'cli', 'sim'],
              'deputy serves syscalls; it does not run guests',
            ),
            layer(
              'runtime',
              ['daemon', 'cli', 'sim'],
              'runtime does not know the daemon or the CLI',
            ),
            layer(
              'sim',
              ['daemon', 'cli', 'platform', 'runtime', 'deputy'],
              'the simulator runs the pure cores only',
            ),
            layer(
              'snapshot',
              ['runtime', 'deputy', 'daemon', 'cli'],
              'snapshot is a pure format layer',
            ),
            layer(
              'instrument',
              ['runtime', 'deputy', 'daemon', 'cli', 'snapshot'],
              'instrument transforms modules only',
            ),
            layer(
              'process-control',
              ['runtime', 'deputy', 'daemon', 'cli'],
              'process control knows its interface, not the runtime',
            ),
            layer(
              'migration',
              ['daemon', 'cli', 'sim'],
              'migration moves guests; it does not know the daemon or the CLI',
            ),
            layer(
              'link',
              [
                'runtime',
                'deputy',
                'daemon',
                'cli',
                'sim',
                'snapshot',
                'instrument',
                'process-control',
                'migration',
              ],
              'link is transport only',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
