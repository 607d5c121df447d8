/**
 * A rough password strength, computed in the browser while the user types.
 *
 * It only guides: the server decides what it accepts (at least eight characters, not only
 * spaces) and its refusal is what the user finally sees. Length counts most, because a long
 * passphrase beats a short mix of symbols; mixing character classes adds a little.
 */
import { TranslationBundle } from '@jupyterlab/translation';

export const STRENGTH_LEVELS = ['empty', 'weak', 'fair', 'good', 'strong'] as const;

export type StrengthLevel = (typeof STRENGTH_LEVELS)[number];

/** Shorter than this the server refuses the password, so it is always weak. */
export const MIN_PASSWORD_LENGTH = 8;

/** Lengths that each earn a point above the minimum. */
const LONG_LENGTHS = [12, 16] as const;

/** Numbers of character classes that each earn a point. */
const MIXED_CLASSES = [2, 3] as const;

const CHARACTER_CLASSES: readonly RegExp[] = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/];

export interface IPasswordStrength {
  level: StrengthLevel;
  /** 0 (empty) to 4 (strong): the meter's filled segments. */
  score: number;
  /** How many of lower case, upper case, digits and other characters it uses. */
  classes: number;
}

export function passwordStrength(password: string): IPasswordStrength {
  const classes = CHARACTER_CLASSES.filter(pattern => pattern.test(password)).length;
  if (!password) {
    return { level: 'empty', score: 0, classes };
  }
  // Length in code points, so an emoji counts as one character, as the server counts it.
  const length = Array.from(password).length;
  if (length < MIN_PASSWORD_LENGTH) {
    return { level: 'weak', score: 1, classes };
  }
  const points =
    LONG_LENGTHS.filter(minimum => length >= minimum).length +
    MIXED_CLASSES.filter(minimum => classes >= minimum).length;
  const score = Math.min(4, 1 + points);
  return { level: STRENGTH_LEVELS[score], score, classes };
}

/** The words shown for a level (the level names are CSS modifiers, never shown). */
export function strengthLabel(level: StrengthLevel, trans: TranslationBundle): string {
  switch (level) {
    case 'empty':
      return trans.__('Strength: none yet');
    case 'weak':
      return trans.__('Strength: weak');
    case 'fair':
      return trans.__('Strength: fair');
    case 'good':
      return trans.__('Strength: good');
    case 'strong':
      return trans.__('Strength: strong');
  }
}
