/** The CLI as bin/scim-sync.js runs it, from the bench build (which has no dist/). */
import { main } from '../../src/cli/main.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
