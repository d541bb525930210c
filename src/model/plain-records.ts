/**
 * Plain objects for records whose keys come from the data (a CSV's header, the columns a config
 * maps), made so that V8 keeps every property inside the object. An object literal `{}` has room
 * for four; a fifth and each later one go to an array of their own, allocated and grown per object:
 * for 100,000 people of eight attributes, about a third longer to build and a third more memory,
 * all of it kept until the plan is made. Objects made by a constructor get room for what the first
 * of them are given (V8's slack tracking), whoever adds it. Each maker has a constructor of its
 * own (one record shape each), and its objects have Object.prototype: to every reader
 * (Object.getPrototypeOf, structuredClone, a deep equality check) they are object literals.
 */
export function plainRecordMaker<V>(): () => Record<string, V> {
  const PlainRecord = function PlainRecord() {} as unknown as new () => Record<string, V>;
  PlainRecord.prototype = Object.prototype;
  return () => new PlainRecord();
}
