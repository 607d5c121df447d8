// Lint rules for the front end. Formatting is prettier's job (eslint-config-prettier turns the
// overlapping rules off); these catch mistakes the type checker does not.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['lib/', 'node_modules/', 'coverage/', '.yarn/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}', 'test/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    rules: {
      // Namespaces hold a class's options and a plugin's command ids, as JupyterLab's own do.
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/naming-convention': [
        'error',
        { selector: 'interface', format: ['PascalCase'], prefix: ['I'] }
      ],
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }],
      eqeqeq: 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
      curly: 'error',
      'prefer-arrow-callback': 'error'
    }
  },
  {
    files: ['test/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser, ...globals.jest } }
  },
  {
    files: ['*.js', '*.mjs', 'style/*.js'],
    languageOptions: { globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  prettier
);
