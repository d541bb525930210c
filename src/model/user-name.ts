/**
 * When two userNames are the same name: apps compare them without case, and a name typed on a Mac
 * (é as e + U+0301, NFD) is the same to a person as one typed elsewhere (é, NFC) though the bytes
 * differ. Every check that one userName must not be another's folds both ways.
 */
export function foldUserName(name: string): string {
  // Most userNames are ASCII, where NFC changes nothing: skip its cost for them.
  // eslint-disable-next-line no-control-regex
  return (/^[\x00-\x7f]*$/.test(name) ? name : name.normalize('NFC')).toLowerCase();
}
