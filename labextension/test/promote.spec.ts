import { nullTranslator } from '@jupyterlab/translation';

import {
  formProblems,
  initialForm,
  IPromotePlan,
  nameProblem,
  parseJob,
  parsePlan,
  promoteRequest,
  stepViews,
  suggestedName
} from '../src/promote/model';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { PLAN_BODY } from './promoteFixtures';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);

function plan(): IPromotePlan {
  const parsed = parsePlan(PLAN_BODY);
  expect(parsed).not.toBeNull();
  return parsed!;
}

describe('the promote plan', () => {
  it('reads the verdicts and the parameters the server sends', () => {
    const read = plan();
    expect(read.dependencies.map(d => [d.spec, d.verdict, d.rule])).toEqual([
      ['numpy==2.1.0', 'approved', null],
      ['reqeusts', 'flagged', 'typosquat']
    ]);
    expect(read.parameters).toEqual([
      { name: 'symbol', default: "'BTC-USD'", json: '"BTC-USD"' },
      { name: 'size', default: '0.5', json: '0.5' },
      { name: 'window', default: '(1, 2)', json: null }
    ]);
  });

  it('refuses a plan with a verdict this version does not know', () => {
    const body = {
      ...PLAN_BODY,
      dependencies: [{ ...PLAN_BODY.dependencies[0], verdict: 'maybe' }]
    };
    expect(parsePlan(body)).toBeNull();
    expect(parsePlan({ notebook: 'x.ipynb' })).toBeNull();
  });
});

describe('the promote form', () => {
  it('starts with a name from the notebook file and each parameter as the notebook sets it', () => {
    const form = initialForm(plan());
    expect(form.name).toBe('my strategy');
    expect(form.parameters).toEqual({ symbol: '"BTC-USD"', size: '0.5', window: '(1, 2)' });
    expect(form.mode).toBe('once');
  });

  it('suggests a name the server accepts from any file name', () => {
    for (const path of ['a/ü-bot.ipynb', '__init__.ipynb', 'x'.repeat(80) + '.ipynb', '.ipynb']) {
      expect(nameProblem(suggestedName(path), trans)).toBeNull();
    }
  });

  it.each([
    ['', 'Use 1 to 64 characters.'],
    ['x'.repeat(65), 'Use 1 to 64 characters.'],
    ['trailing ', 'ASCII'],
    ['-lead', 'ASCII'],
    ['naïve', 'ASCII'],
    ['0123456789abcdef0123456789abcdef', 'UUID'],
    ['01234567-89ab-cdef-0123-456789abcdef', 'UUID']
  ])('refuses the bot name %j as the server would', (name, words) => {
    expect(nameProblem(name, trans)).toContain(words);
  });

  it('accepts names made of the allowed characters', () => {
    expect(nameProblem('Alpha bot_1.2-x', trans)).toBeNull();
  });

  it('blocks a flagged package until it is allowed by name', () => {
    const read = plan();
    const form = initialForm(read);
    expect(formProblems(form, read, trans).dependencies).toContain('reqeusts');
    expect(formProblems({ ...form, allow: ['reqeusts'] }, read, trans)).toEqual({});
  });

  it('blocks a refused package whatever is allowed', () => {
    const read = plan();
    read.dependencies[1] = { ...read.dependencies[1], verdict: 'refused', rule: 'denylist' };
    const form = { ...initialForm(read), allow: ['reqeusts'] };
    expect(formProblems(form, read, trans).dependencies).toContain('reqeusts');
  });

  it('needs an interval above 0 for a bot that runs every N seconds', () => {
    const read = plan();
    const form = { ...initialForm(read), allow: ['reqeusts'], mode: 'every' as const };
    for (const interval of ['', '0', '-3', 'soon', '700000']) {
      expect(formProblems({ ...form, interval }, read, trans).interval).toBeTruthy();
    }
    expect(formProblems({ ...form, interval: '2.5' }, read, trans)).toEqual({});
  });
});

describe('the promote request', () => {
  it('sends only the parameters the user changed, JSON when they are JSON', () => {
    const read = plan();
    const form = initialForm(read);
    form.parameters = { symbol: 'ETH-USD', size: '0.5', window: '[3, 4]' };
    expect(promoteRequest(form, read).parameters).toEqual({ symbol: 'ETH-USD', window: [3, 4] });
  });

  it('allows only names the plan flagged, and sends the interval only for "every"', () => {
    const read = plan();
    const form = { ...initialForm(read), allow: ['reqeusts', 'numpy', 'pip'] };
    const once = promoteRequest(form, read);
    expect(once.allow_packages).toEqual(['reqeusts']);
    expect(once.interval).toBeUndefined();
    const every = promoteRequest({ ...form, mode: 'every', interval: ' 30 ' }, read);
    expect(every.interval).toBe(30);
    expect(every.notebook).toBe('research/my strategy.ipynb');
  });

  it('asks for a kept kernel only when the box is ticked', () => {
    const read = plan();
    const form = initialForm(read);
    expect(promoteRequest(form, read).reuse_kernel).toBeUndefined();
    expect(promoteRequest({ ...form, reuseKernel: true }, read).reuse_kernel).toBe(true);
  });
});

describe('the promote job', () => {
  const job = (state: string, steps: string[], extra: object = {}): unknown => ({
    id: 'a'.repeat(32),
    kind: 'promote',
    state,
    steps,
    created_at: 1,
    ...extra
  });

  it('shows every step done but the last, which runs while the job does', () => {
    const running = parseJob(job('running', ['reading notebook', 'checking dependencies']))!;
    expect(stepViews(running).map(s => s.state)).toEqual(['done', 'current']);
  });

  it('marks the last step failed and keeps the server message when the job fails', () => {
    const failed = parseJob(
      job('failed', ['reading notebook', 'building environment'], { error: 'uv failed: x' })
    )!;
    expect(stepViews(failed).map(s => s.state)).toEqual(['done', 'failed']);
    expect(failed.error).toBe('uv failed: x');
  });

  it('marks every step done and names the bot once it is done', () => {
    const done = parseJob(job('done', ['reading notebook', 'promoted'], { bot: { name: 'B' } }))!;
    expect(stepViews(done).map(s => s.state)).toEqual(['done', 'done']);
    expect(done.botName).toBe('B');
    expect(parseJob(job('paused', []))).toBeNull();
  });
});
