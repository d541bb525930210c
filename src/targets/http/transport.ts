/**
 * How requests reach a server: keep-alive agents with the target's TLS settings (custom CA bundle,
 * client certificate for mutual TLS), through a proxy when HTTPS_PROXY / HTTP_PROXY / NO_PROXY
 * say so (the same rules curl follows, by proxy-from-env).
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { getProxyForUrl } from 'proxy-from-env';
import { ConfigError } from '../../errors.js';

/** PEM contents, read from the files the config names. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Reads `tls.ca/cert/key` (absolute paths by now); an unreadable file is a config error naming the key. */
export function readTlsFiles(files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined, where: string): TlsMaterial | undefined {
  if (!files) return undefined;
  const material: TlsMaterial = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = files[key];
    if (file === undefined) continue;
    try {
      material[key] = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`${where}.tls.${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, [], { cause: error });
    }
  }
  return material;
}

/** A request in flight, as got's promise API gives it. */
interface Pending {
  on(event: 'downloadProgress', listener: (progress: { transferred: number; total?: number }) => void): unknown;
  cancel(): void;
}

/**
 * Cancels `pending` once its body passes `maxBytes`: counted as it streams in (after
 * decompression), or declared by content-length (the first progress event's `total`), so a huge or
 * endless body never sits whole in memory. Returns whether that is why the request was cancelled.
 */
export function capBody(pending: Pending, maxBytes: number): () => boolean {
  let exceeded = false;
  pending.on('downloadProgress', (progress) => {
    if (!exceeded && (progress.transferred > maxBytes || (progress.total ?? 0) > maxBytes)) {
      exceeded = true;
      pending.cancel();
    }
  });
  return () => exceeded;
}

export interface Agents {
  http: HttpAgent;
  https: HttpsAgent;
}

/** Agents for requests to `url`; `proxy` is the proxy in use, if any, for messages. */
export function agentsFor(url: string, maxSockets: number, tls: TlsMaterial | undefined): Agents & { proxy: string | null } {
  const base = { keepAlive: true, maxSockets };
  // A custom CA is trusted in addition to the public ones, as a corporate CA bundle is.
  const tlsOptions = {
    ...(tls?.ca ? { ca: [...rootCertificates, tls.ca] } : {}),
    ...(tls?.cert ? { cert: tls.cert } : {}),
    ...(tls?.key ? { key: tls.key } : {}),
  };
  const proxy = getProxyForUrl(url) || null;
  if (proxy) {
    return {
      http: new HttpProxyAgent({ ...base, proxy }),
      https: new HttpsProxyAgent({ ...base, ...tlsOptions, proxy }),
      proxy: redactUserInfo(proxy),
    };
  }
  return { http: new HttpAgent(base), https: new HttpsAgent({ ...base, ...tlsOptions }), proxy: null };
}

/** A proxy URL may carry a password: never show it. */
function redactUserInfo(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '(unparseable proxy URL)';
  }
}
