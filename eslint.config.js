// Lint rules that catch real bugs in a node that handles money: floating promises lose
// errors, `any` hides unchecked input. Style is left to the formatter and review.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.strand/', '.tmp/', '.bench/', 'contracts/artifacts/'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // One way into each module: its index.ts. Deep imports across modules are refused.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(?!\\.\\.)[^/]+/(?!index\\.js$)', message: 'import another module through its index.js' }] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '/src/[^/]+/(?!index\\.js$)', message: 'import a module of src/ through its index.js' }] }],
    },
  },
);
