// Composition: the partners' SDL files → one validated UnifiedSchema. Every conflict is reported with
// the file, line and column where it is written and the fix, all problems at once (not only the first),
// so a partner can correct a file in one pass.
//
// Rules: a type belongs to the partner whose file defines it (or to the partner its @owner names). Another
// partner may restate it as a reference (same @owner, a subset of its fields with identical types) and may
// add relation fields to it with `extend type`. Object-typed fields are relations and need @relation.
import {
  GraphQLError, Kind, Source, parse, type ConstDirectiveNode, type DefinitionNode, type DocumentNode, type EnumTypeDefinitionNode,
  type FieldDefinitionNode, type ObjectTypeDefinitionNode, type ObjectTypeExtensionNode, type TypeNode,
} from 'graphql';
import { validateSDL } from 'graphql/validation/validate.js';
import { EntenteError } from '../common/errors.ts';
import { ArgReader, Problems, findDirectives, formatProblem, locationOf, type Problem } from './directive-args.ts';
import { callerPartnerToken, directivesSdl, everyPartnerToken } from './directives.ts';
import type {
  EnumPolicy, FieldPolicy, FieldReadGrant, FieldTypeRef, Grant, Operation, RowRule, SourceLocation, TypePolicy, UnifiedSchema,
} from './policy.ts';
import { customScalarNames } from './scalars.ts';

export interface PartnerSchemaFile {
  /** Shown in messages; relative to the project (e.g. 'schema/acme.graphql'). */
  readonly path: string;
  /** The partner the file belongs to: owner of the types it defines without @owner. */
  readonly partner: string;
  readonly source: string;
}

export interface ComposeOptions {
  /** The network's partners (from the genesis file); default: the partners of the files. */
  readonly partners?: readonly string[];
}

export class SchemaCompositionError extends EntenteError {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
    super('SCHEMA_CONFLICT', `The partner schemas do not compose (${count}):\n${problems.map(formatProblem).join('\n')}`);
    this.problems = problems;
  }
}

const builtinScalars = ['String', 'Int', 'Float', 'Boolean', 'ID'];
/** Names the generated API defines itself; a shared type or enum may not take them. */
const generatedTypeNames = new Set(['PageInfo', 'OrderDirection', 'ChangeOperation', 'Ledger', 'LedgerBlock', 'LedgerTransaction', 'InclusionProof', 'ListFilter']);
const generatedSuffixes = ['Connection', 'Edge', 'Where', 'OrderBy', 'OrderField', 'CreateInput', 'UpdateInput', 'MutationPayload', 'ChangeEvent', 'Filter'];
const rootTypeNames = ['Query', 'Mutation', 'Subscription'];
const operationNames: Readonly<Record<string, Operation>> = { READ: 'read', CREATE: 'create', UPDATE: 'update', DELETE: 'delete' };
const directiveDocument = parse(new Source(`${directivesSdl}\n${customScalarNames.map((name) => `scalar ${name}`).join('\n')}`, 'entente-directives'));

interface Definition {
  readonly file: PartnerSchemaFile;
  readonly node: ObjectTypeDefinitionNode;
  readonly owner: string;
  readonly location: SourceLocation;
}

interface Extension {
  readonly file: PartnerSchemaFile;
  readonly node: ObjectTypeExtensionNode;
}

interface Collected {
  readonly definitions: Map<string, Definition[]>;
  readonly extensions: Extension[];
  readonly enums: Map<string, { readonly file: PartnerSchemaFile; readonly node: EnumTypeDefinitionNode }[]>;
}

export function composeSchemas(files: readonly PartnerSchemaFile[], options: ComposeOptions = {}): UnifiedSchema {
  const problems = new Problems();
  const collected: Collected = { definitions: new Map(), extensions: [], enums: new Map() };
  for (const file of files) collectFile(file, collected, problems);
  checkReservedNames(collected, problems);
  const partners = [...new Set(options.partners ?? files.map((file) => file.partner))].sort();
  const context: ComposeContext = { problems, partners, collected };
  const types: TypePolicy[] = [];
  for (const [name, definitions] of collected.definitions) {
    const type = composeType(name, definitions, context);
    if (type !== undefined) types.push(type);
  }
  const enums = composeEnums(collected, problems);
  for (const type of types) checkType(type, types, enums, context);
  checkExtensions(collected, problems);
  if (problems.list.length > 0) throw new SchemaCompositionError(sortProblems(problems.list));
  types.sort((a, b) => compareText(a.name, b.name));
  const used = new Set(types.flatMap((type) => type.fields.map((field) => (field.kind === 'column' ? field.type.name : ''))));
  return { partners, types, enums, scalars: customScalarNames.filter((name) => used.has(name)) };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortProblems(list: readonly Problem[]): Problem[] {
  return [...list].sort((a, b) => compareText(a.location.file, b.location.file) || a.location.line - b.location.line || a.location.column - b.location.column);
}

interface ComposeContext {
  readonly problems: Problems;
  readonly partners: readonly string[];
  readonly collected: Collected;
}

// ─── Collecting the files ───────────────────────────────────────────────────────────────────────

function parseFile(file: PartnerSchemaFile, problems: Problems): DocumentNode | undefined {
  // A partner that shares no type of its own has a file of comments only.
  if (file.source.split('\n').every((line) => /^\s*(#.*)?$/.test(line))) return undefined;
  try {
    return parse(new Source(file.source, file.path));
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    const where = error.locations?.[0] ?? { line: 0, column: 0 };
    problems.add({ file: file.path, line: where.line, column: where.column }, error.message, 'correct the GraphQL syntax at this place.');
    return undefined;
  }
}

function collectFile(file: PartnerSchemaFile, collected: Collected, problems: Problems): void {
  const document = parseFile(file, problems);
  if (document === undefined) return;
  validateFile(file, document, problems);
  for (const definition of document.definitions) collectDefinition(file, definition, collected, problems);
}

/** GraphQL's SDL rules (known directives and arguments, unique names), except unknown types: those are
 * references to other partners' files, checked once everything is collected. */
function validateFile(file: PartnerSchemaFile, document: DocumentNode, problems: Problems): void {
  const combined: DocumentNode = { kind: Kind.DOCUMENT, definitions: [...document.definitions, ...directiveDocument.definitions] };
  for (const error of validateSDL(combined)) {
    if (error.message.startsWith('Unknown type ') || error.message.startsWith('Cannot extend type ')) continue;
    if (/^There can be only one type named/.test(error.message) || /^Type ".*" already exists/.test(error.message)) continue;
    const where = error.nodes?.find((node) => node.loc?.source.name === file.path)?.loc?.startToken ?? { line: 0, column: 0 };
    problems.add({ file: file.path, line: where.line, column: where.column }, error.message, fixForSdlError(error.message));
  }
}

function fixForSdlError(message: string): string {
  if (message.startsWith('Unknown directive')) return 'use one of the Entente directives documented in schema/README.md (@key, @owner, @table, @column, @relation, @grant, @readableBy, @enumValue).';
  if (message.startsWith('Unknown argument')) return 'use the arguments the directive defines (schema/README.md).';
  if (message.includes('is required')) return 'add the missing argument.';
  return 'correct the definition as the message says.';
}

function reservedName(name: string, names: ReadonlySet<string>): string | null {
  if (generatedTypeNames.has(name) || name.startsWith('Entente') || name.startsWith('_')) return `"${name}" is a name the generated API uses`;
  const suffix = generatedSuffixes.find((candidate) => name.endsWith(candidate) && names.has(name.slice(0, -candidate.length)));
  return suffix === undefined ? null : `"${name}" would clash with the ${suffix} type generated for ${name.slice(0, -suffix.length)}`;
}

function checkReservedNames(collected: Collected, problems: Problems): void {
  const names = new Set([...collected.definitions.keys(), ...collected.enums.keys(), ...builtinScalars, ...customScalarNames]);
  const check = (name: string, file: PartnerSchemaFile, node: DefinitionNode) => {
    const reason = reservedName(name, names);
    if (reason !== null) problems.add(locationOf(node, file.path), `type ${reason}.`, `rename the type (the table or enum name stays in @table or @enumValue).`);
  };
  for (const [name, definitions] of collected.definitions) for (const definition of definitions) check(name, definition.file, definition.node);
  for (const [name, definitions] of collected.enums) for (const definition of definitions) check(name, definition.file, definition.node);
}

function collectDefinition(file: PartnerSchemaFile, definition: DefinitionNode, collected: Collected, problems: Problems): void {
  switch (definition.kind) {
    case Kind.OBJECT_TYPE_DEFINITION: {
      const name = definition.name.value;
      if (rootTypeNames.includes(name)) {
        problems.add(locationOf(definition, file.path), `type "${name}" cannot be written in a partner file: Entente generates the ${name} type from the shared types.`, `remove type ${name}; every shared type gets its queries, mutations and subscriptions generated.`);
        return;
      }
      const ownerDirective = findDirectives(definition.directives, 'owner')[0];
      const owner = ownerDirective === undefined ? file.partner : new ArgReader(ownerDirective, file.path, problems).string('partner') ?? file.partner;
      const list = collected.definitions.get(name) ?? [];
      list.push({ file, node: definition, owner, location: locationOf(definition, file.path) });
      collected.definitions.set(name, list);
      return;
    }
    case Kind.OBJECT_TYPE_EXTENSION:
      collected.extensions.push({ file, node: definition });
      return;
    case Kind.ENUM_TYPE_DEFINITION: {
      const list = collected.enums.get(definition.name.value) ?? [];
      list.push({ file, node: definition });
      collected.enums.set(definition.name.value, list);
      return;
    }
    case Kind.SCALAR_TYPE_DEFINITION:
      if (customScalarNames.includes(definition.name.value)) return;
      problems.add(locationOf(definition, file.path), `scalar "${definition.name.value}" is not one of Entente's scalars.`, `use one of ${[...builtinScalars, ...customScalarNames].join(', ')}.`);
      return;
    default:
      problems.add(locationOf(definition, file.path), `a ${definition.kind} cannot be written in a partner file.`, 'partner files hold object types, enums and `extend type` relation fields only.');
  }
}

// ─── One type ──────────────────────────────────────────────────────────────────────────────────

function composeType(name: string, definitions: readonly Definition[], context: ComposeContext): TypePolicy | undefined {
  const { problems } = context;
  const owners = [...new Set(definitions.map((definition) => definition.owner))];
  if (owners.length > 1) {
    const [first, ...others] = definitions;
    for (const other of others.filter((definition) => definition.owner !== first!.owner)) {
      problems.add(other.location,
        `type "${name}" has two owners: partner "${first!.owner}" (${where(first!.location)}) and partner "${other.owner}" (${where(other.location)}).`,
        `a type has exactly one owner. Rename one of the types, or, to refer to ${first!.owner}'s type here, write @owner(partner: "${first!.owner}") on this definition and keep only fields it has, with the same types.`);
    }
    return undefined;
  }
  const owner = owners[0]!;
  const primary = definitions.find((definition) => definition.file.partner === owner) ?? definitions.find((definition) => findDirectives(definition.node.directives, 'table').length > 0);
  if (primary === undefined) {
    const first = definitions[0]!;
    problems.add(first.location, `type "${name}" is owned by partner "${owner}", but no file of that partner defines it.`, `add type ${name} with @table to partner ${owner}'s schema file, or correct @owner.`);
    return undefined;
  }
  const duplicates = definitions.filter((definition) => definition !== primary && definition.file.partner === owner);
  for (const duplicate of duplicates) {
    problems.add(duplicate.location, `type "${name}" is defined twice by partner "${owner}" (also at ${where(primary.location)}).`, 'keep one definition; add fields to it instead.');
  }
  const base = typeFromDefinition(primary, context);
  const extensionFields = context.collected.extensions
    .filter((extension) => extension.node.name.value === name)
    .flatMap((extension) => (extension.node.fields ?? []).map((field) => fieldPolicy(field, extension.file, context)));
  const type = { ...base, fields: [...base.fields, ...extensionFields] };
  for (const reference of definitions.filter((definition) => definition.file.partner !== owner)) checkReference(type, reference, problems);
  return type;
}

function where(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}

function typeFromDefinition(definition: Definition, context: ComposeContext): TypePolicy {
  const { node, file } = definition;
  const { problems } = context;
  const tableDirective = findDirectives(node.directives, 'table')[0];
  const tableArgs = tableDirective === undefined ? undefined : new ArgReader(tableDirective, file.path, problems);
  const tableName = tableArgs?.string('name');
  if (tableName === undefined) {
    problems.add(definition.location, `type "${node.name.value}" has no @table: Entente cannot tell which table or collection holds it.`, `add @table(name: "<table>", schema: "<schema>") to type ${node.name.value}.`);
  }
  const keys = findDirectives(node.directives, 'key').map((directive) => (new ArgReader(directive, file.path, problems).string('fields') ?? '').split(/[\s,]+/).filter((part) => part !== ''));
  return {
    name: node.name.value,
    owner: definition.owner,
    table: { schema: tableArgs?.string('schema') ?? '', name: tableName ?? '' },
    writable: tableArgs?.boolean('writable') ?? true,
    keys,
    fields: (node.fields ?? []).map((field) => fieldPolicy(field, file, context)),
    grants: findDirectives(node.directives, 'grant').map((directive) => grantPolicy(directive, file, context)),
    description: node.description?.value ?? null,
    location: definition.location,
  };
}

function typeRef(node: TypeNode): FieldTypeRef {
  const nullable = node.kind !== Kind.NON_NULL_TYPE;
  const inner = node.kind === Kind.NON_NULL_TYPE ? node.type : node;
  if (inner.kind === Kind.LIST_TYPE) {
    const item = typeRef(inner.type);
    return { name: item.name, nullable, list: true, itemsNullable: item.nullable };
  }
  return { name: inner.name.value, nullable, list: false, itemsNullable: false };
}

function fieldPolicy(node: FieldDefinitionNode, file: PartnerSchemaFile, context: ComposeContext): FieldPolicy {
  const { problems } = context;
  const type = typeRef(node.type);
  const location = locationOf(node, file.path);
  const readableBy = findDirectives(node.directives, 'readableBy').map((directive) => readGrant(directive, file, context));
  const relation = findDirectives(node.directives, 'relation')[0];
  const description = node.description?.value ?? null;
  if (relation !== undefined) {
    const args = new ArgReader(relation, file.path, problems);
    return {
      kind: 'relation', name: node.name.value, target: type.name, list: type.list, nullable: type.nullable,
      fields: args.strings('fields') ?? [], references: args.strings('references') ?? [], description, readableBy, location,
    };
  }
  const column = findDirectives(node.directives, 'column')[0];
  const args = column === undefined ? undefined : new ArgReader(column, file.path, problems);
  return {
    kind: 'column', name: node.name.value, column: args?.string('name') ?? snakeCase(node.name.value), type,
    nativeType: args?.string('type') ?? null, generated: args?.boolean('generated') ?? false, hasDefault: args?.boolean('hasDefault') ?? false,
    description, readableBy, location,
  };
}

function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function checkPartners(partners: readonly string[], directive: ConstDirectiveNode, file: PartnerSchemaFile, context: ComposeContext): void {
  for (const partner of partners) {
    if (partner === everyPartnerToken || context.partners.includes(partner)) continue;
    context.problems.add(locationOf(directive, file.path),
      `@${directive.name.value} names unknown partner "${partner}"; the network's partners are ${context.partners.map((name) => `"${name}"`).join(', ')}.`,
      `correct the partner name, use "*" for every partner, or add "${partner}" to the network (its schema file and the genesis partner list).`);
  }
}

function grantPolicy(directive: ConstDirectiveNode, file: PartnerSchemaFile, context: ComposeContext): Grant {
  const args = new ArgReader(directive, file.path, context.problems);
  const partners = args.strings('partners') ?? [];
  checkPartners(partners, directive, file, context);
  const operations = (args.enums('operations') ?? ['READ']).map((name) => operationNames[name]).filter((op): op is Operation => op !== undefined);
  const rows = (args.objects('rows') ?? []).map((rule): RowRule => {
    const field = rule.fields.get('field');
    const eq = rule.fields.get('eq');
    const anyOf = rule.fields.get('in');
    const values = [
      ...(eq?.kind === Kind.STRING ? [eq.value] : []),
      ...(anyOf?.kind === Kind.LIST ? anyOf.values.flatMap((item) => (item.kind === Kind.STRING ? [item.value] : [])) : []),
    ];
    if (field?.kind !== Kind.STRING || values.length === 0) {
      context.problems.add(locationOf(rule.node, file.path), 'a row rule needs a field and a value: { field: "<field>", eq: "<value>" } or { field: "<field>", in: ["<value>", …] }.', `write the rule as { field: "supplierId", eq: "${callerPartnerToken}" }.`);
    }
    return { field: field?.kind === Kind.STRING ? field.value : '', values };
  });
  return { partners, operations, roles: args.strings('roles') ?? null, rows, location: locationOf(directive, file.path) };
}

function readGrant(directive: ConstDirectiveNode, file: PartnerSchemaFile, context: ComposeContext): FieldReadGrant {
  const args = new ArgReader(directive, file.path, context.problems);
  const partners = args.strings('partners') ?? [];
  checkPartners(partners, directive, file, context);
  return { partners, roles: args.strings('roles') ?? null, location: locationOf(directive, file.path) };
}

function printType(type: FieldTypeRef): string {
  const named = type.list ? `[${type.name}${type.itemsNullable ? '' : '!'}]` : type.name;
  return type.nullable ? named : `${named}!`;
}

/** A restatement of another partner's type: the same owner, and only fields the owner has, typed alike. */
function checkReference(type: TypePolicy, reference: Definition, problems: Problems): void {
  for (const node of reference.node.fields ?? []) {
    const field = type.fields.find((candidate) => candidate.name === node.name.value);
    const stated = typeRef(node.type);
    const location = locationOf(node.type, reference.file.path);
    if (field === undefined) {
      problems.add(location, `field "${type.name}.${node.name.value}" is not defined by the owner "${type.owner}" (${where(type.location)}).`, `remove the field here, or ask ${type.owner} to add it; to add a relation, use \`extend type ${type.name}\` with @relation.`);
      continue;
    }
    const actual = field.kind === 'column' ? field.type : { name: field.target, nullable: field.nullable, list: field.list, itemsNullable: false };
    if (printType(actual) !== printType(stated)) {
      problems.add(location, `incompatible field types: "${type.name}.${field.name}" is ${printType(stated)} here but ${printType(actual)} in the owner's definition (${where(field.location)}).`, `declare it as ${printType(actual)}, the owner's type.`);
    }
  }
}

// ─── Enums, references between types, extensions ───────────────────────────────────────────────

function composeEnums(collected: Collected, problems: Problems): EnumPolicy[] {
  const enums: EnumPolicy[] = [];
  for (const [name, definitions] of collected.enums) {
    const policies = definitions.map(({ file, node }) => ({
      file, node,
      policy: {
        name,
        description: node.description?.value ?? null,
        values: (node.values ?? []).map((value) => {
          const label = findDirectives(value.directives, 'enumValue')[0];
          return { name: value.name.value, label: (label === undefined ? undefined : new ArgReader(label, file.path, problems).string('name')) ?? value.name.value, description: value.description?.value ?? null };
        }),
      },
    }));
    const first = policies[0]!;
    const shape = (policy: EnumPolicy) => policy.values.map((value) => `${value.name}=${value.label}`).join(',');
    for (const other of policies.slice(1)) {
      if (shape(other.policy) === shape(first.policy)) continue;
      problems.add(locationOf(other.node, other.file.path), `incompatible field types: enum "${name}" has values ${other.policy.values.map((value) => value.name).join(', ')} here but ${first.policy.values.map((value) => value.name).join(', ')} at ${first.file.path}:${locationOf(first.node, first.file.path).line}.`, 'state the enum identically in every file that uses it.');
    }
    enums.push(first.policy);
  }
  return enums.sort((a, b) => compareText(a.name, b.name));
}

function knownTypeNames(types: readonly TypePolicy[], enums: readonly EnumPolicy[]): string[] {
  return [...builtinScalars, ...customScalarNames, ...enums.map((item) => item.name), ...types.map((type) => type.name)];
}

function dangling(problems: Problems, location: SourceLocation, what: string, name: string, known: readonly string[]): void {
  const close = known.filter((candidate) => candidate.toLowerCase() === name.toLowerCase() || editDistance(candidate, name) <= 2);
  const hint = close.length > 0 ? `did you mean ${close.map((item) => `"${item}"`).join(' or ')}? ` : '';
  problems.add(location, `dangling reference: ${what} refers to type "${name}", which no partner file defines.`, `${hint}define ${name} in its owner's schema file, or correct the name.`);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function checkType(type: TypePolicy, types: readonly TypePolicy[], enums: readonly EnumPolicy[], context: ComposeContext): void {
  const { problems } = context;
  const known = knownTypeNames(types, enums);
  const scalarOrEnum = new Set([...builtinScalars, ...customScalarNames, ...enums.map((item) => item.name)]);
  const columns = new Map(type.fields.flatMap((field) => (field.kind === 'column' ? [[field.name, field] as const] : [])));
  for (const field of type.fields) {
    if (field.kind === 'column') {
      if (scalarOrEnum.has(field.type.name)) continue;
      if (types.some((candidate) => candidate.name === field.type.name)) {
        problems.add(field.location, `field "${type.name}.${field.name}" has object type ${field.type.name} but no @relation.`, `say how the rows match: @relation(fields: ["<field of ${type.name}>"], references: ["<field of ${field.type.name}>"]).`);
      } else {
        dangling(problems, field.location, `field "${type.name}.${field.name}"`, field.type.name, known);
      }
      continue;
    }
    checkRelation(type, field, types, known, problems);
  }
  type.keys.forEach((key, index) => {
    if (key.length === 0) problems.add(type.location, `@key on type "${type.name}" names no field.`, 'write the key fields, e.g. @key(fields: "id").');
    for (const name of key) {
      if (!columns.has(name)) problems.add(type.location, `@key(fields: "${key.join(' ')}") on type "${type.name}" names "${name}", which is not a column field of the type.`, `use fields of ${type.name} backed by columns${index === 0 ? ' (the first @key is the primary key)' : ''}.`);
    }
  });
  checkKeyReadability(type, context);
  for (const grant of type.grants) {
    for (const rule of grant.rows) {
      if (rule.field !== '' && !columns.has(rule.field)) problems.add(grant.location, `row rule on type "${type.name}" names field "${rule.field}", which the type does not have.`, `use one of ${[...columns.keys()].join(', ')}.`);
    }
    if (grant.operations.some((op) => op !== 'read') && type.keys.length === 0) {
      problems.add(grant.location, `@grant gives write operations on type "${type.name}", which has no @key.`, 'add @key(fields: "...") naming the primary key, or grant READ only.');
    }
  }
}

function checkRelation(type: TypePolicy, field: Extract<FieldPolicy, { kind: 'relation' }>, types: readonly TypePolicy[], known: readonly string[], problems: Problems): void {
  const target = types.find((candidate) => candidate.name === field.target);
  if (target === undefined) {
    dangling(problems, field.location, `relation "${type.name}.${field.name}"`, field.target, known);
    return;
  }
  if (field.fields.length === 0 || field.fields.length !== field.references.length) {
    problems.add(field.location, `@relation on "${type.name}.${field.name}" needs as many fields as references (got ${field.fields.length} and ${field.references.length}).`, 'pair each field of this type with the field of the target it equals.');
    return;
  }
  field.fields.forEach((name, index) => {
    const local = type.fields.find((candidate) => candidate.name === name);
    const remoteName = field.references[index]!;
    const remote = target.fields.find((candidate) => candidate.name === remoteName);
    if (local?.kind !== 'column') {
      problems.add(field.location, `@relation on "${type.name}.${field.name}" names field "${name}", which is not a column field of ${type.name}.`, `use column fields of ${type.name} in fields:.`);
    } else if (remote?.kind !== 'column') {
      problems.add(field.location, `dangling reference: @relation on "${type.name}.${field.name}" references "${target.name}.${remoteName}", which is not a column field of ${target.name}.`, `use column fields of ${target.name} in references:.`);
    } else if (local.type.name !== remote.type.name || local.type.list !== remote.type.list) {
      problems.add(field.location, `incompatible field types: @relation on "${type.name}.${field.name}" pairs ${type.name}.${name} (${printType(local.type)}) with ${target.name}.${remoteName} (${printType(remote.type)}).`, `give both fields the same type (${remote.type.name}).`);
    }
  });
}

function checkExtensions(collected: Collected, problems: Problems): void {
  for (const extension of collected.extensions) {
    const name = extension.node.name.value;
    if (!collected.definitions.has(name)) {
      dangling(problems, locationOf(extension.node, extension.file.path), `\`extend type ${name}\``, name, [...collected.definitions.keys()]);
      continue;
    }
    for (const field of extension.node.fields ?? []) {
      if (findDirectives(field.directives, 'relation').length === 0) {
        problems.add(locationOf(field, extension.file.path), `\`extend type ${name}\` adds field "${field.name.value}" without @relation; only the owner adds column fields.`, `make it a relation with @relation(fields: [...], references: [...]), or ask the owner to add the column.`);
      }
    }
  }
}

/** Every partner that may read a type must be able to read its primary key: replicas, references and
 * by-key queries all need it. */
function checkKeyReadability(type: TypePolicy, context: ComposeContext): void {
  const key = type.keys[0] ?? [];
  for (const name of key) {
    const field = type.fields.find((candidate) => candidate.name === name);
    if (field === undefined || field.readableBy.length === 0) continue;
    const readers = context.partners.filter((partner) => partner !== type.owner && type.grants.some((grant) =>
      grant.operations.includes('read') && (grant.partners.includes(partner) || grant.partners.includes(everyPartnerToken))));
    const hidden = readers.filter((partner) => !field.readableBy.some((grant) => grant.partners.includes(partner) || grant.partners.includes(everyPartnerToken)));
    if (hidden.length > 0) {
      context.problems.add(field.location, `key field "${type.name}.${name}" is hidden by @readableBy from ${hidden.map((partner) => `"${partner}"`).join(', ')}, who may read ${type.name}; a reader needs the key to hold and refer to rows.`,
        `remove @readableBy from the key field, or stop granting READ on ${type.name} to ${hidden.join(', ')}.`);
    }
  }
}
