import schema from '../schema/plugin.json';
import { DEFAULT_SETTINGS, LOG_BUFFER_BOUNDS, readSettings, SETTING_BOUNDS } from '../src/settings';

describe('settings', () => {
  it('has the defaults and bounds the schema declares, for every schema property', () => {
    const properties = schema.properties as Record<
      string,
      { default: number | boolean; minimum?: number; maximum?: number }
    >;
    expect(Object.keys(properties).sort()).toEqual(Object.keys(DEFAULT_SETTINGS).sort());
    for (const [name, property] of Object.entries(properties)) {
      expect([name, property.default]).toEqual([
        name,
        DEFAULT_SETTINGS[name as keyof typeof DEFAULT_SETTINGS]
      ]);
      if (typeof property.default === 'boolean') {
        continue;
      }
      const bounds = name === 'logBufferLines' ? LOG_BUFFER_BOUNDS : SETTING_BOUNDS;
      expect([name, property.minimum, property.maximum]).toEqual([
        name,
        bounds.minimum,
        bounds.maximum
      ]);
    }
  });

  it('reads the values a user set', () => {
    expect(
      readSettings({
        vaultRefreshInterval: 2.5,
        vaultRefreshBackoffLimit: 120,
        botsRefreshInterval: 12,
        logBufferLines: 5000,
        crashNotifications: false
      })
    ).toEqual({
      vaultRefreshInterval: 2.5,
      vaultRefreshBackoffLimit: 120,
      botsRefreshInterval: 12,
      logBufferLines: 5000,
      crashNotifications: false
    });
  });

  it('falls back to the default for a missing, non-numeric or out-of-range value', () => {
    for (const bad of [undefined, null, '10', 0, -5, 0.5, 3601, Number.NaN]) {
      expect(readSettings({ vaultRefreshInterval: bad as never })).toEqual(DEFAULT_SETTINGS);
      expect(readSettings({ vaultRefreshBackoffLimit: bad as never })).toEqual(DEFAULT_SETTINGS);
      expect(readSettings({ botsRefreshInterval: bad as never })).toEqual(DEFAULT_SETTINGS);
    }
  });

  it('falls back to the default log buffer for a missing, fractional or out-of-range size', () => {
    for (const bad of [undefined, '100000', 999, 1_000_001, 5000.5, Number.NaN]) {
      expect(readSettings({ logBufferLines: bad as never })).toEqual(DEFAULT_SETTINGS);
    }
  });

  it('announces crashes unless the setting is exactly false', () => {
    expect(readSettings({ crashNotifications: 'no' as never }).crashNotifications).toBe(true);
    expect(readSettings({ crashNotifications: false }).crashNotifications).toBe(false);
  });

  it('never lets the backoff limit fall below the refresh interval', () => {
    expect(readSettings({ vaultRefreshInterval: 90, vaultRefreshBackoffLimit: 10 })).toEqual({
      ...DEFAULT_SETTINGS,
      vaultRefreshInterval: 90,
      vaultRefreshBackoffLimit: 90,
      botsRefreshInterval: DEFAULT_SETTINGS.botsRefreshInterval
    });
  });
});
