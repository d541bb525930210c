/** How every source treats control characters in values. */
import * as z from 'zod';

export const controlCharacters = z
  .enum(['reject', 'strip'])
  .default('reject')
  .describe(
    'A value holding a control character (U+0000-U+001F, DEL, U+0080-U+009F; line breaks and tabs are allowed only in a CSV\'s ' +
      'multilineColumns): reject makes the record invalid (reported, the person held); strip removes the characters ' +
      '(a line break or tab becomes a space). Default reject.',
  );
