/**
 * The translation domain of every WatchDog Lab string.
 *
 * One domain for the whole extension, so a language pack translates the sidebar, the commands
 * and the error messages together.
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';

export const TRANSLATION_DOMAIN = 'watchdog-lab';

/** The extension's bundle; without a translator (tests, a bare app) the English source text. */
export function loadTranslation(translator?: ITranslator | null): TranslationBundle {
  return (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
}
