// Database names → GraphQL names: snake_case → camelCase fields, singular PascalCase types, plural
// list fields. Pure and deterministic (no locale), so every gateway derives the same names.

const graphqlName = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Splits a database identifier into lowercase words: 'order_items', 'OrderItems', 'orderItems', 'order-items'. */
function words(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
}

function capitalize(word: string): string {
  return word.length === 0 ? word : word[0]!.toUpperCase() + word.slice(1);
}

function safe(name: string, fallback: string): string {
  const candidate = name.length === 0 ? fallback : name;
  const prefixed = /^[0-9]/.test(candidate) ? `_${candidate}` : candidate;
  const unreserved = prefixed.startsWith('__') ? prefixed.replace(/^_+/, '_') : prefixed;
  return graphqlName.test(unreserved) ? unreserved : fallback;
}

export function camelCase(identifier: string): string {
  const [first = '', ...rest] = words(identifier);
  return safe(first + rest.map(capitalize).join(''), 'field');
}

export function pascalCase(identifier: string): string {
  return safe(words(identifier).map(capitalize).join(''), 'Type');
}

export function upperSnakeCase(identifier: string): string {
  return safe(words(identifier).map((word) => word.toUpperCase()).join('_'), 'VALUE');
}

export function isValidGraphqlName(name: string): boolean {
  return graphqlName.test(name) && !name.startsWith('__');
}

// English number rules good enough for table names; irregular words keep their form.
const invariant = new Set(['data', 'media', 'information', 'equipment', 'series', 'species', 'news', 'metadata', 'staff']);

export function singular(word: string): string {
  const lower = word.toLowerCase();
  if (invariant.has(lower)) return word;
  if (/[^aeiou]ies$/i.test(word)) return `${word.slice(0, -3)}y`;
  if (/(ss|us|is)$/i.test(word)) return word;
  if (/(ss|ch|sh|x|z)es$/i.test(word)) return word.slice(0, -2);
  if (/s$/i.test(word)) return word.slice(0, -1);
  return word;
}

export function plural(word: string): string {
  const lower = word.toLowerCase();
  if (invariant.has(lower)) return word;
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}

/** The last word of a camelCase or PascalCase name made singular/plural; the rest kept. */
function onLastWord(name: string, change: (word: string) => string): string {
  const match = /^(.*?)([A-Z]?[a-z0-9]*)$/.exec(name);
  if (match === null || match[2] === '') return change(name);
  return match[1]! + change(match[2]!);
}

/** 'order_items' → 'OrderItem'. */
export function typeNameForTable(table: string): string {
  return onLastWord(pascalCase(table), singular);
}

/** 'OrderItem' → 'orderItem'. */
export function singleFieldName(typeName: string): string {
  return typeName[0]!.toLowerCase() + typeName.slice(1);
}

/** 'OrderItem' → 'orderItems'; a word whose plural equals its singular gets 'List' instead. */
export function listFieldName(typeName: string): string {
  const single = singleFieldName(typeName);
  const many = onLastWord(single, plural);
  return many === single ? `${single}List` : many;
}
