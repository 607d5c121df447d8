import { nullTranslator } from '@jupyterlab/translation';

import {
  MIN_PASSWORD_LENGTH,
  passwordStrength,
  STRENGTH_LEVELS,
  strengthLabel
} from '../src/components/vault/strength';

describe('passwordStrength', () => {
  it('is empty for no password', () => {
    expect(passwordStrength('')).toEqual({ level: 'empty', score: 0, classes: 0 });
  });

  it('is weak below the length the server accepts, whatever the mix', () => {
    const short = 'aB3$xY9'.slice(0, MIN_PASSWORD_LENGTH - 1);
    expect(passwordStrength(short).level).toBe('weak');
  });

  it('is weak at the minimum length with one character class', () => {
    expect(passwordStrength('abcdefgh').level).toBe('weak');
  });

  it('grows with mixed character classes at the same length', () => {
    expect(passwordStrength('abcdefg1').level).toBe('fair');
    expect(passwordStrength('abcdeF1!').level).toBe('good');
  });

  it('grows with length: a long passphrase is strong', () => {
    expect(passwordStrength('abcdefghijkl').level).toBe('fair');
    expect(passwordStrength('abcdefghijklmnop').level).toBe('good');
    expect(passwordStrength('correct horse battery staple').level).toBe('strong');
  });

  it('never scores above strong', () => {
    expect(passwordStrength('Correct horse battery staple 42!')).toEqual({
      level: 'strong',
      score: 4,
      classes: 4
    });
  });

  it('counts an emoji as one character, as the server does', () => {
    expect(passwordStrength('\u{1F436}'.repeat(MIN_PASSWORD_LENGTH - 1)).level).toBe('weak');
  });

  it('has a translated label for every level', () => {
    const trans = nullTranslator.load('watchdog-lab');
    const labels = STRENGTH_LEVELS.map(level => strengthLabel(level, trans));
    expect(new Set(labels).size).toBe(STRENGTH_LEVELS.length);
    labels.forEach(label => expect(label).toMatch(/^Strength: /));
  });
});
