/**
 * Helpers for the React component specs: mount an element as a Lumino widget in the document
 * and find its parts.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { waitFor } from './fakeServer';

/** Attaches `element` to the document and resolves once React has rendered it. */
export async function mount(element: JSX.Element): Promise<Widget> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  widget.update();
  await waitFor(() => widget.node.childElementCount > 0);
  return widget;
}

const mounted: Widget[] = [];

/** Mounts `element` like `mount`, keeping the widget for `disposeMounted`; gives its node. */
export async function mountNode(element: JSX.Element): Promise<HTMLElement> {
  const widget = await mount(element);
  mounted.push(widget);
  return widget.node;
}

/** Disposes every widget `mountNode` attached (call it from `afterEach`). */
export function disposeMounted(): void {
  mounted.splice(0).forEach(widget => widget.dispose());
}

/** The element under `root` matching `selector`; fails the test if there is none. */
export function control<T extends Element = HTMLElement>(root: HTMLElement, selector: string): T {
  const found = root.querySelector<T>(selector);
  expect(found).not.toBeNull();
  return found as T;
}

/** The element under `root` with this `data-testid`; fails the test if there is none. */
export function byTestId<T extends HTMLElement = HTMLElement>(
  root: HTMLElement,
  testId: string
): T {
  return control<T>(root, `[data-testid="${testId}"]`);
}

/** Submits the first form under `root`, as pressing Enter in it would. */
export function submit(root: HTMLElement): void {
  root
    .querySelector('form')!
    .dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
}

/** Every place a secret could be left in: the HTML and each input's value. */
export function everything(root: HTMLElement): string {
  const values = Array.from(root.querySelectorAll('input')).map(field => field.value);
  return [root.innerHTML, ...values].join('\n');
}
