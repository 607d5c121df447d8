import { INotebookTracker } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';

import { CurrentNotebook } from '../src/components/access/notebooks';

/** The parts of a notebook panel the access list reads, driven by the test. */
class FakePanel {
  isDisposed = false;
  disposed = new Signal<this, void>(this);
  kernelId: string | null;
  sessionContext = {
    kernelChanged: new Signal<object, unknown>(this),
    sessionChanged: new Signal<object, unknown>(this),
    statusChanged: new Signal<object, string>(this),
    session: null as { kernel: { id: string } | null } | null
  };
  context: { path: string; pathChanged: Signal<object, string> };

  constructor(path: string, kernelId: string | null) {
    this.kernelId = kernelId;
    this.context = { path, pathChanged: new Signal<object, string>(this) };
    this.setKernel(kernelId);
  }

  setKernel(kernelId: string | null): void {
    this.sessionContext.session = { kernel: kernelId === null ? null : { id: kernelId } };
  }
}

class FakeTracker {
  currentWidget: FakePanel | null = null;
  currentChanged = new Signal<this, FakePanel | null>(this);

  focus(panel: FakePanel | null): void {
    this.currentWidget = panel;
    this.currentChanged.emit(panel);
  }
}

function setUp(): { tracker: FakeTracker; current: CurrentNotebook; changes: () => number } {
  const tracker = new FakeTracker();
  const current = new CurrentNotebook(tracker as unknown as INotebookTracker);
  let count = 0;
  current.changed.connect(() => count++);
  return { tracker, current, changes: () => count };
}

describe('CurrentNotebook', () => {
  it('is the notebook the tracker calls current, with its kernel', () => {
    const { tracker, current } = setUp();
    expect(current.current).toBeNull();
    tracker.focus(new FakePanel('research.ipynb', 'k-1'));
    expect(current.current).toEqual({ path: 'research.ipynb', kernelId: 'k-1' });
  });

  it('tells of a kernel change and a restart, once the kernel is back', () => {
    const { tracker, current, changes } = setUp();
    const panel = new FakePanel('research.ipynb', null);
    tracker.focus(panel);
    const before = changes();

    panel.setKernel('k-2');
    panel.sessionContext.kernelChanged.emit({});
    expect(changes()).toBe(before + 1);
    expect(current.current?.kernelId).toBe('k-2');

    panel.sessionContext.statusChanged.emit('busy');
    expect(changes()).toBe(before + 1);
    panel.sessionContext.statusChanged.emit('restarting');
    panel.sessionContext.statusChanged.emit('idle');
    expect(changes()).toBe(before + 3);
  });

  it('stops following a notebook the tracker left', () => {
    const { tracker, changes } = setUp();
    const first = new FakePanel('a.ipynb', 'k-1');
    tracker.focus(first);
    tracker.focus(new FakePanel('b.ipynb', 'k-2'));
    const before = changes();
    first.sessionContext.kernelChanged.emit({});
    expect(changes()).toBe(before);
  });

  it('has no notebook once the last one is closed', () => {
    const { tracker, current } = setUp();
    const panel = new FakePanel('a.ipynb', 'k-1');
    tracker.focus(panel);
    panel.isDisposed = true;
    expect(current.current).toBeNull();
  });
});
