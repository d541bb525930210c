/** Number fields several sections share. */
import * as z from 'zod';
import { durationMs } from '../duration.js';

export const positiveInt = z.number().int().positive();
export const percent = z.number().min(0).max(100);

/** A duration as people write it (`30m`, `6h`, `1d`, `500ms`), as milliseconds. */
export const duration = z
  .string()
  .transform((text, ctx) => {
    const ms = durationMs(text);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration (write 30m, 6h, 1d or 500ms)` });
    return ms ?? 0;
  })
  .meta({ type: 'string', description: 'A duration: 500ms, 90s, 30m, 6h, 1d.' });
