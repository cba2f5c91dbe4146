// Custom scalars for values GraphQL's built-ins would corrupt. Every one serializes to exactly the
// canonical form the connector contract defines (connectors/connector.ts, `Value`), so no precision
// is lost: 64-bit integers and decimals travel as strings, binary as base64, timestamps as ISO-8601.
// Inputs are checked strictly and rejected with a message that shows the expected form.
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import type { ScalarKind } from '../connectors/connector.ts';

const bigIntPattern = /^-?(0|[1-9][0-9]*)$/;
const decimalPattern = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const dateTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const datePattern = /^\d{4}-\d{2}-\d{2}$/;
const timePattern = /^\d{2}:\d{2}:\d{2}(\.\d{1,9})?$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const objectIdPattern = /^[0-9a-f]{24}$/i;
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const bigIntMin = -(2n ** 63n);
const bigIntMax = 2n ** 63n - 1n;

function invalid(scalar: string, value: unknown, expected: string): GraphQLError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
  return new GraphQLError(`${scalar} cannot represent ${shown}: expected ${expected}`);
}

interface StringScalarSpec {
  readonly name: string;
  readonly description: string;
  readonly expected: string;
  readonly accepts: (text: string) => boolean;
  readonly normalize?: (text: string) => string;
  /** Also accept JSON numbers that are safe integers (BigInt) or finite (Decimal) on input. */
  readonly acceptsNumbers?: 'integer' | 'finite';
}

function stringScalar(spec: StringScalarSpec): GraphQLScalarType {
  const normalize = spec.normalize ?? ((text: string) => text);
  const fromValue = (value: unknown): string => {
    if (typeof value === 'string' && spec.accepts(value)) return normalize(value);
    if (typeof value === 'number' && spec.acceptsNumbers !== undefined) {
      const ok = spec.acceptsNumbers === 'integer' ? Number.isSafeInteger(value) : Number.isFinite(value);
      if (ok) return fromValue(String(value));
    }
    throw invalid(spec.name, value, spec.expected);
  };
  return new GraphQLScalarType<string, string>({
    name: spec.name,
    description: spec.description,
    serialize: (value) => {
      if (typeof value === 'bigint') return fromValue(value.toString());
      return fromValue(value);
    },
    parseValue: fromValue,
    parseLiteral: (node: ValueNode) => {
      if (node.kind === Kind.STRING) return fromValue(node.value);
      if ((node.kind === Kind.INT || node.kind === Kind.FLOAT) && spec.acceptsNumbers !== undefined) {
        // Literals keep every digit as text, so large integers and long decimals arrive exactly.
        if (spec.acceptsNumbers === 'integer' && node.kind === Kind.FLOAT) throw invalid(spec.name, node.value, spec.expected);
        return fromValue(node.value);
      }
      throw invalid(spec.name, node.kind, spec.expected);
    },
  });
}

function inBigIntRange(text: string): boolean {
  if (!bigIntPattern.test(text)) return false;
  const value = BigInt(text);
  return value >= bigIntMin && value <= bigIntMax;
}

export const BigIntScalar = stringScalar({
  name: 'BigInt',
  description: 'A signed 64-bit integer, as a decimal string (JSON numbers lose precision above 2^53).',
  expected: 'a decimal integer string between -9223372036854775808 and 9223372036854775807',
  accepts: inBigIntRange,
  acceptsNumbers: 'integer',
});

export const DecimalScalar = stringScalar({
  name: 'Decimal',
  description: "An exact decimal number, as a string that keeps its scale ('-12.50').",
  expected: "a decimal string such as '-12.50'",
  accepts: (text) => decimalPattern.test(text),
  acceptsNumbers: 'finite',
});

export const DateTimeScalar = stringScalar({
  name: 'DateTime',
  description: "An instant, ISO-8601 with offset; served in UTC with 'Z' ('2024-05-01T10:00:00.123456Z').",
  expected: "an ISO-8601 date-time with offset, such as '2024-05-01T10:00:00Z'",
  accepts: (text) => dateTimePattern.test(text) && !Number.isNaN(Date.parse(text)),
});

export const DateScalar = stringScalar({
  name: 'Date',
  description: "A calendar date, 'YYYY-MM-DD'.",
  expected: "a date such as '2024-05-01'",
  accepts: (text) => datePattern.test(text),
});

export const TimeScalar = stringScalar({
  name: 'Time',
  description: "A time of day, 'HH:MM:SS[.ffffff]'.",
  expected: "a time such as '10:00:00'",
  accepts: (text) => timePattern.test(text),
});

export const UUIDScalar = stringScalar({
  name: 'UUID',
  description: 'A UUID, served in lowercase.',
  expected: "a UUID such as '123e4567-e89b-12d3-a456-426614174000'",
  accepts: (text) => uuidPattern.test(text),
  normalize: (text) => text.toLowerCase(),
});

export const ObjectIdScalar = stringScalar({
  name: 'ObjectId',
  description: 'A MongoDB ObjectId, 24 hexadecimal digits.',
  expected: '24 hexadecimal digits',
  accepts: (text) => objectIdPattern.test(text),
  normalize: (text) => text.toLowerCase(),
});

export const BytesScalar = stringScalar({
  name: 'Bytes',
  description: 'Binary data, base64 (RFC 4648, with padding).',
  expected: 'a base64 string',
  accepts: (text) => base64Pattern.test(text),
});

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

function jsonFromLiteral(node: ValueNode, variables: Readonly<Record<string, unknown>> | null | undefined): Json {
  switch (node.kind) {
    case Kind.NULL: return null;
    case Kind.BOOLEAN: return node.value;
    case Kind.STRING: case Kind.ENUM: return node.value;
    case Kind.INT: case Kind.FLOAT: return Number(node.value);
    case Kind.LIST: return node.values.map((item) => jsonFromLiteral(item, variables));
    case Kind.OBJECT: return Object.fromEntries(node.fields.map((field) => [field.name.value, jsonFromLiteral(field.value, variables)]));
    case Kind.VARIABLE: return (variables?.[node.name.value] ?? null) as Json;
  }
}

export const JSONScalar = new GraphQLScalarType<Json, Json>({
  name: 'JSON',
  description: 'Any JSON value, served as is.',
  serialize: (value) => value as Json,
  parseValue: (value) => value as Json,
  parseLiteral: jsonFromLiteral,
});

export const customScalars: readonly GraphQLScalarType[] = [
  BigIntScalar, DecimalScalar, DateTimeScalar, DateScalar, TimeScalar, UUIDScalar, ObjectIdScalar, BytesScalar, JSONScalar,
];

export const customScalarNames: readonly string[] = customScalars.map((scalar) => scalar.name);

/** The GraphQL scalar for a connector scalar kind; 'Other' values are the database's text form. */
export function graphqlScalarFor(kind: ScalarKind): string {
  return kind === 'Other' ? 'String' : kind;
}
