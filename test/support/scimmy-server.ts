/**
 * An independent SCIM server for the tests: SCIMMY 1.3.5 with its express 4 routers, users kept
 * in memory. SCIMMY parses filters, pages and patches; we only store. Its quirks are its own:
 * `userName eq` is case-sensitive, a startIndex past the end answers the first page again.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import express from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';

export interface RecordedCall {
  method: string;
  path: string;
  query: string;
  status: number;
}

export interface ScimmyServer {
  url: string;
  users: Map<string, Record<string, unknown>>;
  groups: Map<string, Record<string, unknown>>;
  requests: RecordedCall[];
  close(): Promise<void>;
}

type UserRecord = Record<string, unknown> & { id: string; userName: string };
type GroupRecord = Record<string, unknown> & { id: string; displayName: string };

// SCIMMY is configured once per process; each server swaps in its own stores.
let store = new Map<string, UserRecord>();
let groups = new Map<string, GroupRecord>();
let declared = false;

/** One resource by id, or every one the request's filter matches (SCIMMY pages and sorts). */
function read<T extends { id: string }>(records: Map<string, T>, kind: string, resource: { id?: string; filter?: { match(values: T[]): T[] } }): T | T[] {
  if (resource.id) {
    const found = records.get(resource.id);
    if (!found) throw new SCIMMY.Types.Error(404, null!, `${kind} ${resource.id} not found`);
    return found;
  }
  const all = [...records.values()];
  return resource.filter ? resource.filter.match(all) : all;
}

function remove(records: Map<string, unknown>, kind: string, resource: { id?: string }): void {
  if (!resource.id || !records.delete(resource.id)) throw new SCIMMY.Types.Error(404, null!, `${kind} ${resource.id} not found`);
}

/** A schema extension of Users the server declares besides the enterprise one (optional for a User). */
export interface ScimmyExtension {
  id: string;
  name: string;
  attributes: InstanceType<typeof SCIMMY.Types.Attribute>[];
}

/** SCIMMY's form of a schema: a class whose static `definition` holds the attributes. */
function schemaClass(extension: ScimmyExtension): typeof SCIMMY.Types.Schema {
  const definition = new SCIMMY.Types.SchemaDefinition(extension.name, extension.id, `${extension.name} extension`, extension.attributes);
  return class extends SCIMMY.Types.Schema {
    static override get id() {
      return definition.id;
    }
    static override get definition() {
      return definition;
    }
  };
}

function declare(extension: ScimmyExtension | undefined): void {
  if (declared) return;
  declared = true;
  SCIMMY.Config.set({ patch: { supported: true }, filter: { supported: true, maxResults: 200 }, sort: { supported: false } });
  const user = SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
  if (extension) user.extend(schemaClass(extension), false);
  SCIMMY.Resources.declare(user)
    .ingress((resource, instance) => {
      const data = JSON.parse(JSON.stringify(instance)) as UserRecord;
      const clash = [...store.values()].find((u) => u.userName === data.userName && u.id !== resource.id);
      if (clash) throw new SCIMMY.Types.Error(409, 'uniqueness', `userName ${data.userName} is taken`);
      if (resource.id) {
        if (!store.has(resource.id)) throw new SCIMMY.Types.Error(404, null!, `User ${resource.id} not found`);
        const updated = { ...data, id: resource.id };
        store.set(resource.id, updated);
        return updated;
      }
      const created = { ...data, id: randomUUID() };
      store.set(created.id, created);
      return created;
    })
    .egress((resource) => read(store, 'User', resource))
    .degress((resource) => remove(store, 'User', resource));
  SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    .ingress((resource, instance) => {
      const data = JSON.parse(JSON.stringify(instance)) as GroupRecord;
      if (resource.id && !groups.has(resource.id)) throw new SCIMMY.Types.Error(404, null!, `Group ${resource.id} not found`);
      const saved = { ...data, id: resource.id ?? randomUUID() };
      groups.set(saved.id, saved);
      return saved;
    })
    .egress((resource) => read(groups, 'Group', resource))
    .degress((resource) => remove(groups, 'Group', resource));
}

/**
 * `extension`: declared with the resources on the first start in this process (SCIMMY's
 * configuration is global to it; each test file runs in its own).
 */
export async function startScimmyServer(token: string, extension?: ScimmyExtension): Promise<ScimmyServer> {
  declare(extension);
  store = new Map();
  groups = new Map();
  const users = store;
  const groupStore = groups;
  const requests: RecordedCall[] = [];
  const app = express();
  app.use((req, res, next) => {
    const call: RecordedCall = { method: req.method, path: req.path, query: req.url.split('?')[1] ?? '', status: 0 };
    requests.push(call);
    res.on('finish', () => {
      call.status = res.statusCode;
    });
    next();
  });
  app.use(
    '/scim/v2',
    new SCIMMYRouters({
      type: 'bearer',
      handler: (req) => {
        if (req.header('authorization') !== `Bearer ${token}`) throw new Error('the bearer token is not valid');
        return 'scim-sync';
      },
    }),
  );
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/scim/v2`,
    users,
    groups: groupStore,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
