/** One line of what `check` found about a target: fine, worth knowing, or a problem for a sync. */
export interface Finding {
  level: 'ok' | 'info' | 'warning';
  message: string;
}
