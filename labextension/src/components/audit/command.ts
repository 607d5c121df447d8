/** Opens (or brings forward) the audit view in the main area; no arguments. */
export const OPEN_AUDIT_COMMAND = 'watchdog-lab:open-audit';
