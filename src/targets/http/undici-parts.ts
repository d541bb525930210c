/**
 * The parts of undici the transport uses, imported one by one. undici's index loads everything it
 * offers (fetch, WebSocket, caches, mocks): 130-330 ms on a loaded 2-core machine against 65-80 ms for
 * these parts, paid by every command that talks to a server. The paths are undici's own modules
 * (the package declares no exports map), pinned with the exact version in package.json; the types
 * come from its public declarations (undici-lib.d.ts).
 *
 * Static imports rather than require(): the CLI's bundle (scripts/bundle.js) then carries these
 * modules and its V8 code cache their compiled code, instead of every command resolving, reading and
 * compiling some 60 of undici's files from node_modules (a cold start's largest compile, #19).
 */
import dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import ProxyAgent from 'undici/lib/dispatcher/proxy-agent.js';
import buildConnector from 'undici/lib/core/connect.js';

// What undici's index does first: its request API (request, connect...) on every dispatcher. The
// proxy agent opens its tunnels through `connect`.
Object.assign(dispatcher.prototype, api);

export { buildConnector, Pool, ProxyAgent };
