/**
 * The header that names the signed-in web console user on a request to the
 * Engine API. The console (src/console/) sets it on the requests it proxies
 * through berthd's private console socket; the API server trusts it only on
 * that socket (engine/audit/identity.ts) and strips it from every other
 * listener, so the audit log records `console:<user>` and nobody else can
 * claim to be a console user. Shared here because the console may not import
 * the engine.
 */
export const CONSOLE_USER_HEADER = 'x-berth-console-user';

/** A console user name: what sign-in and setup accept, and what the API trusts in the header. */
export const CONSOLE_USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
