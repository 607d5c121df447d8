import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IConnectionUsage, usageLines } from './grants';
import { AccessModel } from './model';

/**
 * The access model of the sidebar, for the cards that show part of it (the Connections card
 * lists who uses each connection). `null` where there is none: those cards then show nothing
 * of it.
 */
export const AccessContext = React.createContext<AccessModel | null>(null);

/** The usage the sidebar's access model last read, re-rendering when it changes. */
function useUsage(): readonly IConnectionUsage[] | null {
  const model = React.useContext(AccessContext);
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    if (model === null) {
      return;
    }
    const bump = (): void => setVersion(version => version + 1);
    model.changed.connect(bump);
    return () => {
      model.changed.disconnect(bump);
    };
  }, [model]);
  return model?.usage ?? null;
}

/**
 * Under a connection in the Connections card: the notebooks whose kernels may use it and the
 * bots granted it, by name. Nothing while the usage is unknown.
 */
export function ConnectionUsageView(props: {
  connectionId: string;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { connectionId, trans } = props;
  const usage = useUsage();
  if (usage === null) {
    return null;
  }
  const { notebooks, bots } = usageLines(usage.find(entry => entry.connectionId === connectionId));
  if (notebooks.length === 0 && bots.length === 0) {
    return (
      <p className="wd-access-usage wd-access-mod-unused" data-testid="wd-conn-usage">
        {trans.__('Not used by any notebook or bot.')}
      </p>
    );
  }
  return (
    <dl className="wd-access-usage" data-testid="wd-conn-usage">
      {notebooks.length > 0 && (
        <div className="wd-access-usageGroup">
          <dt>{trans.__('Notebooks')}</dt>
          {notebooks.map(path => (
            <dd key={path} data-testid="wd-conn-usage-notebook">
              {path}
            </dd>
          ))}
        </div>
      )}
      {bots.length > 0 && (
        <div className="wd-access-usageGroup">
          <dt>{trans.__('Bots')}</dt>
          {bots.map(name => (
            <dd key={name} data-testid="wd-conn-usage-bot">
              {name}
            </dd>
          ))}
        </div>
      )}
    </dl>
  );
}
