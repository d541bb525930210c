/**
 * A private OpenLDAP slapd for tests and the benchmark: its own cn=config (back_mdb, memberof and
 * refint overlays, the stock schemas), its own data directory in a temp folder, loopback ports the OS
 * handed out, and optionally TLS (ldaps:// and StartTLS) with a CA made for this run. Entries are
 * added online with ldapadd so the memberof overlay maintains memberOf; the benchmark loads its bulk
 * offline with slapadd instead, for speed.
 *
 * Size limit: the frontend olcSizeLimit (default 500) applies to the read-only service account the
 * source binds as (the rootdn is exempt from limits), so an unpaged read of more entries fails with
 * sizeLimitExceeded, while paged reads pass (size.prtotal=unlimited). LIMITED_DN's paged reads stop
 * after 1000 entries: a limit hit in the middle of a read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE_DN = 'dc=example,dc=com';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const READER_DN = `cn=scim-sync,ou=services,${BASE_DN}`;
export const READER_PASSWORD = 'reader-pw-7c1e94a2d0';
/** A reader whose paged searches stop after 1000 entries (size.prtotal), to hit a limit mid-read. */
export const LIMITED_DN = `cn=limited,ou=services,${BASE_DN}`;
const ADMIN_PASSWORD = 'admin-pw-3b8f61c5e9';

export interface SlapdOptions {
  /** Frontend olcSizeLimit (entries). Default 500. */
  sizeLimit?: number;
  /** Also listen on ldaps:// and offer StartTLS, with a CA and server certificate made for this run. */
  tls?: boolean;
  /** LDIF loaded offline with `slapadd -q` before the server starts (no memberOf maintenance). */
  offlineLdif?: string;
  /**
   * Log every successful write of the main database to an accesslog database under ACCESS_LOG_BASE
   * (slapo-accesslog), readable by the service accounts, recording the old values of these
   * attributes with every delete, modify and modrdn (logold / logoldattr). Absent: no log.
   */
  accessLog?: { oldAttributes: readonly string[] };
}

/** Suffix of the accesslog database, when started with `accessLog`. */
export const ACCESS_LOG_BASE = 'cn=accesslog';

/** Run a program to completion; reject with its stderr when it fails. */
export function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${cmd} exited with ${code}: ${Buffer.concat(err).toString('utf8').trim()}`));
    });
    // A program that reads a file (slapadd -l) may exit before its empty input is closed: EPIPE then
    // says nothing its exit code does not (it crashed the benchmark on a busy machine).
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** A port the OS considers free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until(what: string, check: () => boolean, timeoutMs: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`slapd exited before ${what}: ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`slapd: ${what} did not happen within ${timeoutMs} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves once a TCP connection to the port succeeds (bounded). */
async function accepting(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`slapd exited before listening: ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`slapd: not accepting on port ${port} after 15 s: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The accesslog database (before the overlay that names it: slapadd takes cn=config in order) and the overlay. */
function accessLogLdif(dir: string, oldAttributes: readonly string[]): string {
  return `
dn: olcDatabase={2}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {2}mdb
olcSuffix: ${ACCESS_LOG_BASE}
olcDbDirectory: ${dir}/accesslog
olcDbMaxSize: 1073741824
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: reqStart eq
olcAccess: {0}to * by users read by * none

dn: olcOverlay={2}accesslog,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcAccessLogConfig
olcOverlay: {2}accesslog
olcAccessLogDB: ${ACCESS_LOG_BASE}
olcAccessLogOps: writes
olcAccessLogSuccess: TRUE
olcAccessLogOld: (objectClass=*)
${oldAttributes.map((a) => `olcAccessLogOldAttr: ${a}`).join('\n')}
`;
}

function configLdif(dir: string, sizeLimit: number, tls: boolean, accessLog: SlapdOptions['accessLog']): string {
  const tlsLines = tls
    ? `olcTLSCACertificateFile: ${dir}/ca.pem\nolcTLSCertificateFile: ${dir}/server.pem\nolcTLSCertificateKeyFile: ${dir}/server.key\n`
    : '';
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid
${tlsLines}
dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint
${accessLog ? 'olcModuleLoad: accesslog\n' : ''}
dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: size.soft=${sizeLimit} size.hard=${sizeLimit} size.prtotal=unlimited

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${BASE_DN}
olcRootDN: ${ADMIN_DN}
olcRootPW: ${ADMIN_PASSWORD}
olcDbDirectory: ${dir}/data
olcDbMaxSize: 4294967296
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
olcLimits: {0}dn.exact="${LIMITED_DN}" size.soft=500 size.hard=500 size.prtotal=1000
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by users read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE

dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: memberof
olcRefintAttribute: member
olcRefintAttribute: manager
${accessLog ? accessLogLdif(dir, accessLog.oldAttributes) : ''}`;
}

/** The suffix entry, the OUs the fixtures use and the read-only service account. */
export const SKELETON_LDIF = `dn: ${BASE_DN}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,${BASE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${BASE_DN}
objectClass: organizationalUnit
ou: groups

dn: ou=former,${BASE_DN}
objectClass: organizationalUnit
ou: former

dn: ou=services,${BASE_DN}
objectClass: organizationalUnit
ou: services

dn: ${READER_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: scim-sync
userPassword: ${READER_PASSWORD}

dn: ${LIMITED_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: limited
userPassword: ${READER_PASSWORD}
`;

async function makeCertificates(dir: string): Promise<void> {
  const days = '2';
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', days, '-subj', '/CN=scim-sync test CA']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await run('openssl', ['x509', '-req', '-in', join(dir, 'server.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'server.pem'), '-days', days, '-extfile', join(dir, 'server.ext')]);
}

export class Slapd {
  /** ldap:// URL (StartTLS offered there when started with tls). */
  readonly url: string;
  /** ldaps:// URL, when started with tls. */
  readonly ldapsUrl: string | undefined;
  /** PEM of the CA that signed the server certificate, when started with tls. */
  readonly caFile: string | undefined;

  private constructor(
    readonly dir: string,
    private readonly child: ChildProcess,
    port: number,
    tlsPort: number | undefined,
  ) {
    this.url = `ldap://127.0.0.1:${port}`;
    this.ldapsUrl = tlsPort === undefined ? undefined : `ldaps://127.0.0.1:${tlsPort}`;
    this.caFile = tlsPort === undefined ? undefined : join(dir, 'ca.pem');
  }

  static async start(options: SlapdOptions = {}): Promise<Slapd> {
    const dir = mkdtempSync(join(tmpdir(), 'scim-sync-slapd-'));
    const tls = options.tls ?? false;
    mkdirSync(join(dir, 'slapd.d'));
    mkdirSync(join(dir, 'data'));
    if (options.accessLog) mkdirSync(join(dir, 'accesslog'));
    if (tls) await makeCertificates(dir);
    writeFileSync(join(dir, 'config.ldif'), configLdif(dir, options.sizeLimit ?? 500, tls, options.accessLog));
    await run('slapadd', ['-n', '0', '-F', join(dir, 'slapd.d'), '-l', join(dir, 'config.ldif')]);
    if (options.offlineLdif) await run('slapadd', ['-q', '-n', '1', '-F', join(dir, 'slapd.d'), '-l', options.offlineLdif]);
    // The port can be taken between asking and binding: try a few.
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const tlsPort = tls ? await freePort() : undefined;
      const urls = [`ldap://127.0.0.1:${port}/`, ...(tlsPort ? [`ldaps://127.0.0.1:${tlsPort}/`] : [])].join(' ');
      // -d 0 keeps slapd in the foreground as our child, so kill() and exit are ours to see.
      const child = spawn('slapd', ['-h', urls, '-F', join(dir, 'slapd.d'), '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      try {
        // slapd writes its pid file once its listeners are bound, and listens a moment later.
        await until('pid file', () => existsSync(join(dir, 'slapd.pid')), 15_000, child, () => stderr);
        await accepting(port, child, () => stderr);
        const slapd = new Slapd(dir, child, port, tlsPort);
        if (!options.offlineLdif) await slapd.add(SKELETON_LDIF);
        return slapd;
      } catch (error) {
        lastError = error;
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await exited;
        }
        // A pid file left behind would make the next attempt look started.
        rmSync(join(dir, 'slapd.pid'), { force: true });
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  private adminArgs(): string[] {
    return ['-x', '-H', this.url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD];
  }

  /**
   * Add entries online (memberOf is maintained). `manageDsaIt` adds referral objects as entries;
   * `relax` (the relax rules control) lets them carry operational attributes such as
   * modifyTimestamp, as an import or a replica can.
   */
  async add(ldif: string, options: { manageDsaIt?: boolean; relax?: boolean } = {}): Promise<void> {
    await run('ldapadd', [...this.adminArgs(), ...(options.manageDsaIt ? ['-M'] : []), ...(options.relax ? ['-e', 'relax'] : [])], ldif);
  }

  /** Apply an LDIF of changes (changetype: modify / modrdn / delete). */
  async modify(ldif: string): Promise<void> {
    await run('ldapmodify', [...this.adminArgs()], ldif);
  }

  private exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** SIGKILL: the server dies mid-whatever, as in a crash. */
  async kill(): Promise<void> {
    const done = this.exited();
    this.child.kill('SIGKILL');
    await done;
  }

  async stop(): Promise<void> {
    const done = this.exited();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await done;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
