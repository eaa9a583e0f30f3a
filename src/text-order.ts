// One order for names in output (status, metrics, CLI tables): by UTF-16 code unit, the same on every
// machine and locale. localeCompare would also make the first status call or scrape load ICU's
// collation data, about 2 MB that then stays resident in an otherwise idle daemon.

/** Sort comparator: a before b when a's code units sort first. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
