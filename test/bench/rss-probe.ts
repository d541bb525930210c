/** Preloaded into a measured process (`node --import`): prints its peak RSS to stderr as it exits. */
process.on('exit', () => {
  process.stderr.write(`\nBENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
