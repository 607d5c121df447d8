/** What the promote specs share: a plan as the server answers it. */

/** A plan as `POST promote/plan` answers it. */
export const PLAN_BODY = {
  notebook: 'research/my strategy.ipynb',
  dependencies: [
    {
      spec: 'numpy==2.1.0',
      name: 'numpy',
      installed_version: '2.1.0',
      pinned_from_environment: true,
      explicit: false,
      optional: false,
      origins: ['import numpy (cell 2)'],
      verdict: 'approved',
      rule: null,
      reason: null,
      allowed: false
    },
    {
      spec: 'reqeusts',
      name: 'reqeusts',
      installed_version: null,
      pinned_from_environment: false,
      explicit: false,
      optional: false,
      origins: ['import reqeusts (cell 2)'],
      verdict: 'flagged',
      rule: 'typosquat',
      reason: "looks like 'requests'; did you mean 'requests'?",
      allowed: false
    }
  ],
  ok: false,
  parameters: [
    { name: 'symbol', default: "'BTC-USD'", value: 'BTC-USD', literal: true },
    { name: 'size', default: '0.5', value: 0.5, literal: true },
    { name: 'window', default: '(1, 2)', value: null, literal: false }
  ],
  has_parameters_cell: true,
  warnings: ['reqeusts is not installed in this environment'],
  local_modules: [],
  allow_flag: '--allow-package'
};
