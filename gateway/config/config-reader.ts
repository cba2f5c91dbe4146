// A tiny structural reader for JSON configuration: each accessor records a problem that names the
// field by its path and says how to fix it, instead of throwing at the first one, so an operator sees
// every mistake in one run. Unknown fields are problems too (a typo must not silently do nothing).
export class ConfigReader {
  readonly problems: string[] = [];

  object(value: unknown, path: string): Record<string, unknown> | null {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    this.problems.push(`${path}: must be an object ({ … }), found ${describe(value)}.`);
    return null;
  }

  onlyKnown(object: Record<string, unknown>, path: string, known: readonly string[]): void {
    for (const key of Object.keys(object)) {
      if (known.includes(key)) continue;
      const suggestion = closest(key, known);
      this.problems.push(`${join(path, key)}: unknown field${suggestion === null ? '' : ` — did you mean "${suggestion}"?`} Known fields: ${known.join(', ')}.`);
    }
  }

  string(object: Record<string, unknown>, path: string, key: string, hint: string): string | null {
    const value = object[key];
    if (typeof value === 'string' && value.trim().length > 0) return value;
    this.problems.push(`${join(path, key)}: required, a non-empty string — ${hint}.`);
    return null;
  }

  optionalString(object: Record<string, unknown>, path: string, key: string, hint: string): string | undefined {
    if (object[key] === undefined) return undefined;
    return this.string(object, path, key, hint) ?? undefined;
  }

  integer(object: Record<string, unknown>, path: string, key: string, range: { min: number; max: number }, fallback: number): number {
    const value = object[key];
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max) return value;
    this.problems.push(`${join(path, key)}: must be a whole number from ${range.min} to ${range.max}, found ${describe(value)}.`);
    return fallback;
  }

  boolean(object: Record<string, unknown>, path: string, key: string, fallback: boolean): boolean {
    const value = object[key];
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    this.problems.push(`${join(path, key)}: must be true or false, found ${describe(value)}.`);
    return fallback;
  }

  stringList(object: Record<string, unknown>, path: string, key: string, fallback: readonly string[]): readonly string[] {
    const value = object[key];
    if (value === undefined) return fallback;
    if (Array.isArray(value) && value.every((item) => typeof item === 'string' && item.length > 0)) return value as string[];
    this.problems.push(`${join(path, key)}: must be a list of non-empty strings, e.g. ["viewer"], found ${describe(value)}.`);
    return fallback;
  }

  problem(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }
}

export function join(path: string, key: string): string {
  return path.length === 0 ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return typeof value === 'object' ? 'an object' : String(value);
}

/** The known name within edit distance 2 of a typo, if any. */
function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
