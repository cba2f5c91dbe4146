// The shared data model of a UnifiedSchema as plain GraphQL SDL: object types with their fields
// (relations typed as their target) and enums, with descriptions, and without Entente's directives.
// graphql-inspector compares two of these to find the structural changes (a field removed, a type
// changed, an enum value added); Entente's own rules (./entente-rules.ts) judge what the directives say.
import { buildASTSchema, parse, type GraphQLSchema } from 'graphql';
import type { FieldPolicy, FieldTypeRef, UnifiedSchema } from '../policy.ts';
import { customScalarNames } from '../scalars.ts';

function printTypeRef(type: FieldTypeRef): string {
  const named = type.list ? `[${type.name}${type.itemsNullable ? '' : '!'}]` : type.name;
  return type.nullable ? named : `${named}!`;
}

function fieldTypeOf(field: FieldPolicy): string {
  if (field.kind === 'column') return printTypeRef(field.type);
  const named = field.list ? `[${field.target}!]` : field.target;
  return field.nullable ? named : `${named}!`;
}

function description(text: string | null, indent: string): string {
  return text === null ? '' : `${indent}${JSON.stringify(text)}\n`;
}

/** Deterministic SDL of the model: types and enums in the UnifiedSchema's (sorted) order. */
export function modelSdl(unified: UnifiedSchema): string {
  const scalars = customScalarNames.map((name) => `scalar ${name}\n`).join('');
  const types = unified.types.map((type) => {
    const fields = type.fields.map((field) => `${description(field.description, '  ')}  ${field.name}: ${fieldTypeOf(field)}\n`).join('');
    return `${description(type.description, '')}type ${type.name} {\n${fields}}\n`;
  });
  const enums = unified.enums.map((item) => {
    const values = item.values.map((value) => `${description(value.description, '  ')}  ${value.name}\n`).join('');
    return `${description(item.description, '')}enum ${item.name} {\n${values}}\n`;
  });
  return [scalars, ...types, ...enums].join('\n');
}

/** The model as a GraphQLSchema (no root types: only the shapes are compared). */
export function modelSchema(unified: UnifiedSchema): GraphQLSchema {
  // A composed schema is valid SDL by construction (composition parsed and validated every file).
  return buildASTSchema(parse(modelSdl(unified)), { assumeValidSDL: true });
}
