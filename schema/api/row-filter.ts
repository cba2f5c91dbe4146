// Connector Filters evaluated in memory, for the places where a row is already at hand: row rules on
// rows loaded by key (loadByKeys takes no filter), subscription events, and checks on rows a mutation
// is about to write. Comparison follows the canonical Value forms (connectors/connector.ts) and the
// column's scalar kind, so '10.5' > '9.75' as decimals and timestamps compare as instants.
import type { Filter, Row, ScalarKind, Value } from '../../connectors/connector.ts';
import { assertNever } from '../../common/assert.ts';

export type ColumnKinds = ReadonlyMap<string, ScalarKind>;

export function andFilters(filters: readonly (Filter | undefined)[]): Filter | undefined {
  const present = filters.filter((filter): filter is Filter => filter !== undefined);
  if (present.length <= 1) return present[0];
  return { and: present };
}

export function matchesFilter(row: Row, filter: Filter, kinds: ColumnKinds): boolean {
  if ('and' in filter) return filter.and.every((part) => matchesFilter(row, part, kinds));
  if ('or' in filter) return filter.or.some((part) => matchesFilter(row, part, kinds));
  if ('not' in filter) return !matchesFilter(row, filter.not, kinds);
  if (!(filter.column in row)) return false; // a row without the column cannot be shown to satisfy the rule
  const value = row[filter.column] ?? null;
  const kind = kinds.get(filter.column) ?? 'String';
  switch (filter.op) {
    case 'isNull': return (value === null) === filter.value;
    case 'in': return value !== null && filter.values.some((candidate) => compareValues(value, candidate, kind) === 0);
    case 'eq': return value !== null && compareValues(value, filter.value, kind) === 0;
    case 'ne': return value !== null && compareValues(value, filter.value, kind) !== 0;
    case 'lt': return value !== null && compareValues(value, filter.value, kind) < 0;
    case 'lte': return value !== null && compareValues(value, filter.value, kind) <= 0;
    case 'gt': return value !== null && compareValues(value, filter.value, kind) > 0;
    case 'gte': return value !== null && compareValues(value, filter.value, kind) >= 0;
    case 'like': return typeof value === 'string' && typeof filter.value === 'string' && likePattern(filter.value, false).test(value);
    case 'ilike': return typeof value === 'string' && typeof filter.value === 'string' && likePattern(filter.value, true).test(value);
    default: return assertNever(filter, 'unknown filter operator');
  }
}

function likePattern(pattern: string, ignoreCase: boolean): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index]!;
    if (char === '\\' && index + 1 < pattern.length) source += escapeRegex(pattern[++index]!);
    else if (char === '%') source += '[\\s\\S]*';
    else if (char === '_') source += '[\\s\\S]';
    else source += escapeRegex(char);
  }
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '');
}

function escapeRegex(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function sign(number: number | bigint): number {
  return number > 0 ? 1 : number < 0 ? -1 : 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Exact comparison of decimal strings ('-12.50' vs '3'): scale both to the same number of digits. */
function compareDecimals(a: string, b: string): number {
  const [aWhole = '0', aFraction = ''] = a.split('.');
  const [bWhole = '0', bFraction = ''] = b.split('.');
  const scale = Math.max(aFraction.length, bFraction.length);
  const toScaled = (whole: string, fraction: string) => {
    const negative = whole.startsWith('-');
    const digits = BigInt(`${whole.replace('-', '')}${fraction.padEnd(scale, '0')}`);
    return negative ? -digits : digits;
  };
  return sign(toScaled(aWhole, aFraction) - toScaled(bWhole, bFraction));
}

/** Microseconds since the epoch of an ISO-8601 timestamp, keeping sub-millisecond digits. */
function instantMicros(text: string): bigint | null {
  const millis = Date.parse(text);
  if (Number.isNaN(millis)) return null;
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  const extraMicros = BigInt(fraction.padEnd(6, '0').slice(3, 6) || '0');
  return BigInt(millis) * 1000n + extraMicros;
}

const decimalText = /^-?\d+(\.\d+)?$/;

export function compareValues(a: Value, b: Value, kind: ScalarKind): number {
  if (typeof a === 'number' && typeof b === 'number') return sign(a - b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const left = typeof a === 'string' ? a : typeof a === 'number' ? String(a) : JSON.stringify(a);
  const right = typeof b === 'string' ? b : typeof b === 'number' ? String(b) : JSON.stringify(b);
  if ((kind === 'BigInt' || kind === 'Decimal' || kind === 'Int' || kind === 'Float') && decimalText.test(left) && decimalText.test(right)) {
    return compareDecimals(left, right);
  }
  if (kind === 'DateTime') {
    const x = instantMicros(left);
    const y = instantMicros(right);
    if (x !== null && y !== null) return sign(x - y);
  }
  if (kind === 'UUID' || kind === 'ObjectId') return compareText(left.toLowerCase(), right.toLowerCase());
  return compareText(left, right);
}
