/**
 * Preloaded into a measured process (`node --import`): prints its peak RSS and the CPU time it used
 * to stderr as it exits (CPU time says what the process cost even when a loaded machine stretches
 * its wall time).
 */
process.on('exit', () => {
  const { userCPUTime, systemCPUTime, maxRSS } = process.resourceUsage();
  process.stderr.write(`\nBENCH_MAX_RSS_KB=${maxRSS} BENCH_CPU_US=${userCPUTime + systemCPUTime}\n`);
});
