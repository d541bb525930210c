// Types of the undici modules undici-parts.ts imports by path: those of its public declarations.
declare module 'undici/lib/dispatcher/dispatcher.js' {
  const dispatcher: { prototype: object };
  export default dispatcher;
}
declare module 'undici/lib/api/index.js' {
  const api: object;
  export default api;
}
declare module 'undici/lib/dispatcher/pool.js' {
  export { Pool as default } from 'undici';
}
declare module 'undici/lib/dispatcher/proxy-agent.js' {
  export { ProxyAgent as default } from 'undici';
}
declare module 'undici/lib/core/connect.js' {
  export { buildConnector as default } from 'undici';
}
