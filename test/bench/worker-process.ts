/** Child process: `scim-sync worker` as a user starts it, from this build's bin (argv: config file, worker name). */
const [config, name] = process.argv.slice(2);
process.argv = [process.argv[0]!, process.argv[1]!, 'worker', '--config', config!, '--name', name!];
await import(new URL('../../../bin/scim-sync.js', import.meta.url).href);
