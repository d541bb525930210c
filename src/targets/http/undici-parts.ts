/**
 * The parts of undici the transport uses, loaded one by one. undici's index loads everything it
 * offers (fetch, WebSocket, caches, mocks): 130-330 ms on a loaded 2-core machine against 65-80 ms for
 * these parts, paid by every command that talks to a server. The paths are undici's own modules
 * (the package declares no exports map), pinned with the exact version in package.json; the types
 * come from its public declarations.
 */
import { createRequire } from 'node:module';
import type { buildConnector as BuildConnector, Pool as PoolClass, ProxyAgent as ProxyAgentClass } from 'undici';

const require = createRequire(import.meta.url);

// What undici's index does first: its request API (request, connect...) on every dispatcher. The
// proxy agent opens its tunnels through `connect`.
const dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(dispatcher.prototype, require('undici/lib/api/index.js') as object);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof PoolClass;
export const ProxyAgent = require('undici/lib/dispatcher/proxy-agent.js') as typeof ProxyAgentClass;
export const buildConnector = require('undici/lib/core/connect.js') as typeof BuildConnector;
