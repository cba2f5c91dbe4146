// create/update/delete mutations of a type. Each checks the caller's grant and row rules (the row as
// it is and as it will be), then hands one connector WriteOperation to the WritePath in the context:
// by default a direct write; in the gateway the ledgered path, or forwarding to the owner.
import { GraphQLEnumType, GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLString, type GraphQLFieldConfig, type GraphQLFieldConfigArgumentMap, type GraphQLFieldConfigMap } from 'graphql';
import type { Filter, Row, WriteOperation } from '../../connectors/connector.ts';
import type { Caller, Operation } from '../policy.ts';
import { requiredRowFilter, visibleRow } from './access.ts';
import { keyArgs, keyFromArgs, type ApiBuilder } from './build-schema.ts';
import type { SchemaContext, WriteOptions, WriteOutcome } from './context.ts';
import { forbidden, notFound } from './errors.ts';
import { inputToRow } from './inputs.ts';
import { matchesFilter } from './row-filter.ts';
import { tableOf, type TypeView } from './type-view.ts';
import { singleFieldName } from '../naming.ts';

type Args = { readonly [name: string]: unknown };

/** How long a mutation waits before it answers (the client's choice; Vendia calls these sync modes). */
export const syncModeType = new GraphQLEnumType({
  name: 'SyncMode',
  description: 'How long a mutation waits before answering.',
  values: {
    DATABASE: { value: 'database', description: 'Until the change is committed in the owner\'s database (it reaches the ledger moments later).' },
    LEDGER: { value: 'ledger', description: 'Until the change is in a committed ledger block (the default).' },
    ALL_PARTNERS: { value: 'all-partners', description: 'Until every partner\'s gateway has applied the block holding the change.' },
  },
});

const writeOptionArgs: GraphQLFieldConfigArgumentMap = {
  syncMode: { type: syncModeType, description: 'How long to wait before answering; default LEDGER.' },
  idempotencyKey: { type: GraphQLString, description: 'A key unique to this change (e.g. a UUID): a retry with the same key is applied once and answers like the first attempt.' },
};

function writeOptionsOf(args: Args): WriteOptions {
  const syncMode = args['syncMode'];
  const idempotencyKey = args['idempotencyKey'];
  return {
    ...(typeof syncMode === 'string' ? { syncMode: syncMode as WriteOptions['syncMode'] & string } : {}),
    ...(typeof idempotencyKey === 'string' ? { idempotencyKey } : {}),
  };
}

function payloadType(builder: ApiBuilder, view: TypeView): GraphQLObjectType<WriteOutcome, SchemaContext> {
  const single = singleFieldName(view.policy.name);
  const readable = builder.options.viewer === null || builder.views.has(view.policy.name);
  return new GraphQLObjectType<WriteOutcome, SchemaContext>({
    name: `${view.policy.name}MutationPayload`,
    fields: {
      ...(readable ? { [single]: { type: builder.objectType(view.policy.name), description: `The ${view.policy.name} as written (deleted: as it was); null if you may not read it.`, resolve: (outcome: WriteOutcome, _args: Args, context: SchemaContext) => visibleRow(outcome.row, view, context.caller) } } : {}),
      transactionId: { type: GraphQLString, description: 'The ledger transaction that carries the change (null when written without a ledger).' },
      ledgerHeight: { type: GraphQLInt, description: 'The ledger height the change is committed at, when the write path waited for it.' },
    },
  });
}

export function mutationFields(builder: ApiBuilder, view: TypeView): GraphQLFieldConfigMap<unknown, SchemaContext> {
  if (view.keyFields === null) return {};
  const payload = new GraphQLNonNull(payloadType(builder, view));
  const name = view.policy.name;
  const fields: GraphQLFieldConfigMap<unknown, SchemaContext> = {};
  if (view.canCreate) fields[`create${name}`] = createField(builder, view, payload);
  if (view.canUpdate) fields[`update${name}`] = updateField(builder, view, payload);
  if (view.canDelete) fields[`delete${name}`] = deleteField(builder, view, payload);
  return fields;
}

type Payload = GraphQLNonNull<GraphQLObjectType<WriteOutcome, SchemaContext>>;

function ruleHolds(row: Row, filter: Filter | undefined, view: TypeView): boolean {
  return filter === undefined || matchesFilter(row, filter, view.kinds);
}

function createField(builder: ApiBuilder, view: TypeView, payload: Payload): GraphQLFieldConfig<unknown, SchemaContext> {
  return {
    type: payload,
    description: `Creates a ${view.policy.name}.`,
    args: { input: { type: new GraphQLNonNull(builder.inputs.createInput(view)) }, ...writeOptionArgs },
    resolve: async (_source, args: Args, context) => {
      const filter = requiredRowFilter(view, context.caller, 'create');
      const values = inputToRow(args['input'] as Args, view, context.caller);
      if (!ruleHolds(values, filter, view)) throw forbidden(`The new ${view.policy.name} is outside the rows partner "${context.caller.partner}" may create; set the fields your grant's row rules name.`);
      const operation: WriteOperation = { op: 'insert', table: view.policy.table, values };
      return context.writePath.write({ type: view.policy, operation, caller: context.caller, options: writeOptionsOf(args) });
    },
  };
}

/** The current row, if it exists and the caller may apply `operation` to it; the same error otherwise. */
async function currentRow(builder: ApiBuilder, view: TypeView, args: Args, context: SchemaContext, operation: Operation): Promise<{ row: Row; key: Row; filter: Filter | undefined }> {
  const filter = requiredRowFilter(view, context.caller, operation);
  const key = keyFromArgs(view, args);
  const table = tableOf(view.policy, context.connector, builder.options.partner);
  const [row] = await context.connector.loadByKeys(table, key.columns, [key.values]);
  const keyRow = Object.fromEntries(key.columns.map((column, index) => [column, key.values[index] ?? null]));
  if (row === null || row === undefined || !ruleHolds(row, filter, view)) throw notFound(missing(view, context.caller, operation));
  return { row, key: keyRow, filter };
}

function missing(view: TypeView, caller: Caller, operation: Operation): string {
  return `No ${view.policy.name} with that key that partner "${caller.partner}" may ${operation}.`;
}

/** With row rules, the write applies only if the rule's columns still hold what was checked. */
function expectedFor(filter: Filter | undefined, row: Row): Row | undefined {
  if (filter === undefined) return undefined;
  const columns = new Set<string>();
  const visit = (part: Filter): void => {
    if ('and' in part) part.and.forEach(visit);
    else if ('or' in part) part.or.forEach(visit);
    else if ('not' in part) visit(part.not);
    else columns.add(part.column);
  };
  visit(filter);
  return Object.fromEntries([...columns].map((column) => [column, row[column] ?? null]));
}

function updateField(builder: ApiBuilder, view: TypeView, payload: Payload): GraphQLFieldConfig<unknown, SchemaContext> {
  return {
    type: payload,
    description: `Changes the given fields of one ${view.policy.name}.`,
    args: { ...keyArgs(builder, view), input: { type: new GraphQLNonNull(builder.inputs.updateInput(view)) }, ...writeOptionArgs },
    resolve: async (_source, args: Args, context) => {
      const { row, key, filter } = await currentRow(builder, view, args, context, 'update');
      const values = inputToRow(args['input'] as Args, view, context.caller);
      if (!ruleHolds({ ...row, ...values }, filter, view)) throw forbidden(`The change would move the ${view.policy.name} outside the rows partner "${context.caller.partner}" may update.`);
      const expected = expectedFor(filter, row);
      const operation: WriteOperation = { op: 'update', table: view.policy.table, key, values, ...(expected === undefined ? {} : { expected }) };
      return context.writePath.write({ type: view.policy, operation, caller: context.caller, options: writeOptionsOf(args) });
    },
  };
}

function deleteField(builder: ApiBuilder, view: TypeView, payload: Payload): GraphQLFieldConfig<unknown, SchemaContext> {
  return {
    type: payload,
    description: `Deletes one ${view.policy.name}.`,
    args: { ...keyArgs(builder, view), ...writeOptionArgs },
    resolve: async (_source, args: Args, context) => {
      const { row, key, filter } = await currentRow(builder, view, args, context, 'delete');
      const expected = expectedFor(filter, row);
      const operation: WriteOperation = { op: 'delete', table: view.policy.table, key, ...(expected === undefined ? {} : { expected }) };
      return context.writePath.write({ type: view.policy, operation, caller: context.caller, options: writeOptionsOf(args) });
    },
  };
}
