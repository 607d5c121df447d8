import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { BotState, IBotSummary } from '../src/components/bots/bots';
import {
  OPEN_SIDEBAR,
  openUnlock,
  UNLOCK_PASSWORD_SELECTOR,
  waitingActions
} from '../src/notifications/plugin';
import { MAX_MESSAGE, waitingMessage, WaitingDetector } from '../src/notifications/waiting';

const trans = nullTranslator.load('watchdog-lab');

function bot(name: string, state: BotState): IBotSummary {
  return {
    id: `id-${name}`,
    name,
    mode: 'continuous',
    interval: null,
    state,
    desiredState: 'running',
    connections: ['<1 connection(s); unlock to see names>'],
    notebookVersion: 1,
    runs: 1,
    restarts: 0,
    nextRunAt: null,
    reason: null,
    lastError: null,
    sandbox: 'landlock (ABI 7)'
  };
}

describe('waiting-for-unlock detector', () => {
  it('announces bots already waiting at the first answer: the user can still act', () => {
    const detector = new WaitingDetector();
    expect(detector.update([bot('b', 'waiting-for-unlock'), bot('a', 'running')])).toEqual({
      kind: 'show',
      names: ['b']
    });
  });

  it('changes the announcement only when the set of waiting bots changes', () => {
    const detector = new WaitingDetector();
    detector.update([bot('a', 'waiting-for-unlock')]);
    expect(detector.update([bot('a', 'waiting-for-unlock')])).toEqual({ kind: 'none' });
    expect(
      detector.update([bot('a', 'waiting-for-unlock'), bot('b', 'waiting-for-unlock')])
    ).toEqual({ kind: 'show', names: ['a', 'b'] });
    expect(detector.update([bot('a', 'running'), bot('b', 'running')])).toEqual({
      kind: 'hide'
    });
    expect(detector.update([bot('a', 'running')])).toEqual({ kind: 'none' });
  });

  it('says nothing while no bot waits', () => {
    const detector = new WaitingDetector();
    expect(detector.update([bot('a', 'crashed')]).kind).not.toBe('show');
  });
});

describe('waiting-for-unlock message', () => {
  it('names one bot and why it waits', () => {
    expect(waitingMessage(['Desk bot'], trans)).toBe(
      'Bot "Desk bot" is waiting for the vault to be unlocked: it needs its connections to start.'
    );
  });

  it('lists as many bots as fit within the notification limit', () => {
    const names = Array.from({ length: 30 }, (_, i) => `bot number ${i}`);
    const text = waitingMessage(names, trans);
    expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE);
    expect(
      text.startsWith('30 bots are waiting for the vault to be unlocked: "bot number 0"')
    ).toBe(true);
    expect(text.endsWith('…')).toBe(true);
  });
});

describe('the Unlock the vault action', () => {
  it('opens the sidebar and puts the cursor in the unlock password field', async () => {
    const commands = new CommandRegistry();
    const opened: string[] = [];
    commands.addCommand(OPEN_SIDEBAR, { execute: () => void opened.push('sidebar') });
    document.body.innerHTML = '<input data-testid="wd-vault-unlock-password" type="password" />';
    const [action] = waitingActions(commands, trans);
    expect(action.label).toBe('Unlock the vault');
    await openUnlock(commands);
    expect(opened).toEqual(['sidebar']);
    expect(document.activeElement).toBe(document.querySelector(UNLOCK_PASSWORD_SELECTOR));
  });
});
