/** Number fields several sections share. */
import { z } from 'zod';

export const positiveInt = z.number().int().positive();
export const percent = z.number().min(0).max(100);
