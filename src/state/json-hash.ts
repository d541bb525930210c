/** A Redis hash whose values are JSON: each parsed and checked by `parse` (given undefined for a value that is not JSON). */
export function parseJsonHash<T>(fields: Record<string, string>, parse: (field: string, value: unknown) => T): Map<string, T> {
  return new Map(
    Object.entries(fields).map(([field, json]) => {
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch {
        value = undefined;
      }
      return [field, parse(field, value)];
    }),
  );
}
