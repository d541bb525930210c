/**
 * The one rule for the text a mapping gives, template or expression: white space around it is
 * dropped, and text that is only white space is no value (null: the attribute stays unset). So
 * `{givenName} {familyName}` and `=givenName & " " & familyName` give the same for a person with
 * one name or none ("A", not "A "; null, not " "). Runs of spaces inside are the template's own
 * business (template.ts): an expression keeps the text it builds.
 */
export function mappedText(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  const trimmed = text.trim();
  return trimmed === '' ? null : trimmed;
}
