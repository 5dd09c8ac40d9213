import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Which library a project may import, by tag. Enforced at severity error (STYLE.md).
const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'scope:contracts', onlyDependOnLibsWithTags: [] },
  {
    sourceTag: 'scope:detectors',
    onlyDependOnLibsWithTags: ['scope:contracts', 'scope:baselines'],
  },
  { sourceTag: 'scope:baselines', onlyDependOnLibsWithTags: ['scope:contracts'] },
  { sourceTag: 'scope:config', onlyDependOnLibsWithTags: [] },
  // The mirror SDK runs inside users' apps: it depends on nothing of Moat's.
  { sourceTag: 'scope:sdk', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:observability', onlyDependOnLibsWithTags: [] },
  {
    sourceTag: 'scope:stream-kit',
    onlyDependOnLibsWithTags: ['scope:contracts', 'scope:config', 'scope:observability'],
  },
  {
    sourceTag: 'scope:service',
    onlyDependOnLibsWithTags: [
      'scope:contracts',
      'scope:config',
      'scope:observability',
      'scope:stream-kit',
      'scope:detectors',
      'scope:baselines',
    ],
  },
  {
    // In-process enforcement for Node apps (libs/node-agent-middleware): builds on the node
    // agent's service library.
    sourceTag: 'scope:edge-middleware',
    onlyDependOnLibsWithTags: [
      'scope:contracts',
      'scope:config',
      'scope:observability',
      'scope:stream-kit',
      'scope:service',
    ],
  },
  {
    sourceTag: 'scope:simulator',
    onlyDependOnLibsWithTags: [
      'scope:contracts',
      'scope:service',
      'scope:config',
      'scope:observability',
      'scope:stream-kit',
    ],
  },
];

const boundaries = (constraints) => ({
  enforceBuildableLibDependency: false,
  allow: [],
  depConstraints: constraints,
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.nx/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@nx/enforce-module-boundaries': ['error', boundaries(depConstraints)],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kafkajs', message: 'kafkajs is imported only in libs/stream-kit.' },
            { name: 'ioredis', message: 'ioredis is imported only in libs/stream-kit.' },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/stream-kit/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['libs/detectors/**/*.ts', 'libs/baselines/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['kafkajs', 'ioredis', '@nestjs/*'],
              message: 'Detectors are pure: no Kafka, Redis or Nest.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests may also use the simulator (labelled traffic) whatever their project's scope;
    // src/testing/ holds test support, excluded from library builds.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', 'libs/*/src/testing/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        boundaries(
          depConstraints.map((c) =>
            c.sourceTag.startsWith('scope:') && c.sourceTag !== 'scope:simulator'
              ? {
                  ...c,
                  onlyDependOnLibsWithTags: [
                    ...c.onlyDependOnLibsWithTags,
                    'scope:simulator',
                    'scope:service',
                  ],
                }
              : c,
          ),
        ),
      ],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  prettier,
);
