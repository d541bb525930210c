/**
 * The Admin SDK client the Google source and its change feed share: a service-account token for
 * the scopes asked, and the paged JSON reader (directory-api.ts) rooted at source.apiUrl, which
 * serves the Directory API and the Reports API alike.
 */
import type { GoogleSourceConfig } from '../../config/schema/index.js';
import type { DirectoryApi } from './directory-api.js';
import type { Pacing } from './google-retry.js';

export const USER_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
export const GROUP_SCOPE = 'https://www.googleapis.com/auth/admin.directory.group.readonly';
export const REPORTS_SCOPE = 'https://www.googleapis.com/auth/admin.reports.audit.readonly';
export const DIRECTORY = '/admin/directory/v1';

/** `pacing`: how retries wait, for tests that must not sleep; Google's own advice by default. */
export async function adminApi(config: GoogleSourceConfig, scopes: readonly string[], pacing: Partial<Pacing> = {}): Promise<DirectoryApi> {
  // Loaded here, not with the module: every source adapter is imported, and an LDAP or CSV read
  // should not pay for the HTTP client (about 60 ms of a cold start).
  const [{ DirectoryApi }, { parseServiceAccountKey, ServiceAccountToken }, { GOOGLE_PACING }] = await Promise.all([
    import('./directory-api.js'),
    import('./service-account.js'),
    import('./google-retry.js'),
  ]);
  const paced = { ...GOOGLE_PACING, ...pacing };
  const token = new ServiceAccountToken(parseServiceAccountKey(config.credentials), config.subject, scopes, config.timeoutMs, paced);
  return new DirectoryApi(config.apiUrl.replace(/\/+$/, ''), token, config.timeoutMs, paced);
}
