/** The service's own cron: the next time of `schedule.cron` after now, in its time zone. */
import cronParser from 'cron-parser';
import type { ScheduleConfig } from '../config/schema/index.js';

export function nextCronTime(schedule: ScheduleConfig, after: Date): Date {
  return cronParser.parseExpression(schedule.cron, { currentDate: after, ...(schedule.timezone ? { tz: schedule.timezone } : {}) }).next().toDate();
}

/**
 * Calls `tick` at each cron time until `signal` aborts. setTimeout cannot wait more than about 24.8
 * days (2^31 ms), so a long wait is taken in steps.
 */
export function everyCronTime(schedule: ScheduleConfig, signal: AbortSignal, tick: () => void): void {
  const MAX_WAIT = 2 ** 31 - 1;
  let timer: NodeJS.Timeout | undefined;
  const arm = (due: Date) => {
    if (signal.aborted) return;
    const wait = due.getTime() - Date.now();
    timer = setTimeout(() => {
      if (wait > MAX_WAIT) return arm(due);
      tick();
      arm(nextCronTime(schedule, new Date(Math.max(Date.now(), due.getTime()))));
    }, Math.min(Math.max(wait, 0), MAX_WAIT));
  };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  arm(nextCronTime(schedule, new Date()));
}
