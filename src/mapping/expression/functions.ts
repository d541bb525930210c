/** Every function of the expression language, by family. README's expression reference lists the same. */
import type { FunctionSpec } from './function-spec.js';
import { DATE_FUNCTIONS } from './date-functions.js';
import { LOGIC_FUNCTIONS } from './logic-functions.js';
import { TEXT_FUNCTIONS } from './text-functions.js';

export const FUNCTIONS: readonly FunctionSpec[] = [...TEXT_FUNCTIONS, ...LOGIC_FUNCTIONS, ...DATE_FUNCTIONS];
