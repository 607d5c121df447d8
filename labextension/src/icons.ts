import { LabIcon } from '@jupyterlab/ui-components';

import watchdogSvgstr from '../style/icons/watchdog.svg';

/**
 * The WatchDog Lab mark. A LabIcon (not an <img>) so that it follows the theme's icon colours.
 */
export const watchdogIcon = new LabIcon({
  name: 'watchdog-lab:watchdog',
  svgstr: watchdogSvgstr
});
