/** `source`: one of the source types, told apart by `type`. */
import * as z from 'zod';
import { csvSource } from './csv-source.js';
import { googleSource } from './google-source.js';
import { ldapSource } from './ldap-source.js';

export const sourceSchema = z.discriminatedUnion('type', [csvSource, ldapSource, googleSource]);
