/** `safety`: the checks that stop a run before any write. */
import * as z from 'zod';
import { percent, positiveInt } from './numbers.js';

export const safety = z
  .object({
    minSourceUsers: positiveInt
      .default(1)
      .describe('A source that yields fewer users is treated as an outage: nothing is written. Default 1.'),
    maxDeactivatePercent: percent
      .default(10)
      .describe(
        "Stop when one run would deprovision more than this share of a target's managed users, or delete or rename more than this share of its managed groups. Default 10 (%).",
      ),
    maxDeactivateCount: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('Stop when one run would deprovision more than this many users in a target. Default unset.'),
    alwaysAllowDeactivations: z
      .number()
      .int()
      .nonnegative()
      .default(3)
      .describe('Runs that deprovision at most this many users (or delete, or rename, at most this many groups) in a target pass the percentage check (small teams). Default 3.'),
    maxRecreatePercent: percent
      .default(10)
      .describe(
        "Stop when one run would create again more than this share of a target's linked accounts because its listing no longer shows them " +
          '(deleted in the app, or a listing that leaves accounts out: re-created, every person would be duplicated). Default 10 (%).',
      ),
    alwaysAllowRecreates: z
      .number()
      .int()
      .nonnegative()
      .default(3)
      .describe('Runs that create again at most this many linked accounts in a target pass the re-create check (accounts deleted by hand). Default 3.'),
    maxCreatePercent: percent
      .default(20)
      .describe(
        "Stop when one run would create, or re-activate, more users in a target than this share of its managed users: " +
          'a misspelt disabled-account rule, a scope that lets everyone in or an attribute the reading account may not see reads every leaver as active. ' +
          'A target with no managed users yet (a first sync) is not judged, nor the rest of a first sync the state records as begun and not completed (cut short: creates beyond what it set out to give are judged against its size); ' +
          'accounts created again for their links are the re-create check\'s. Default 20 (%).',
      ),
    alwaysAllowCreates: z
      .number()
      .int()
      .nonnegative()
      .default(10)
      .describe('Runs that create or re-activate at most this many users in a target pass the create check (new hires of a small team). Default 10.'),
    maxInvalidRecordsPercent: percent
      .default(5)
      .describe('Stop when more than this share of source records is invalid. Default 5 (%).'),
    holdDeprovisionsOnInvalidRecords: z
      .boolean()
      .default(true)
      .describe(
        'When the source read reports any invalid record, hold every deprovisioning in that run (creates and updates of valid people still go) and exit 1: ' +
          'a broken row can hide other people from the read. Default true. Off, the people such rows name are still held, and a record that ' +
          'may hide people the source cannot name (lines a stray quote swallowed whose keys do not read) holds every deprovisioning all the same.',
      ),
    maxAttributeChangePercent: percent
      .default(30)
      .describe(
        "Stop when one run would change or clear one attribute on more than this share of a target's managed users; the manager reference counts as the attribute `manager`. Default 30 (%).",
      ),
    alwaysAllowAttributeChanges: z
      .number()
      .int()
      .nonnegative()
      .default(10)
      .describe('Runs that change an attribute on at most this many users in a target pass the attribute check (small teams). Default 10.'),
    maxMembershipRemovalPercent: percent
      .default(30)
      .describe(
        "Stop when one run would remove more than this share of the members of a target's managed groups (the members of a group it would delete count too): " +
          'a group attribute the reading account may not see, or a broken group export, reads as every group emptied or gone. Default 30 (%).',
      ),
    alwaysAllowMembershipRemovals: z
      .number()
      .int()
      .nonnegative()
      .default(20)
      .describe('Runs that remove at most this many memberships in a target pass the membership check (small teams). Default 20.'),
    planMaxAgeHours: z
      .number()
      .positive()
      .default(24)
      .describe('`apply` refuses a saved plan older than this. Default 24 (hours).'),
  })
  .strict();
