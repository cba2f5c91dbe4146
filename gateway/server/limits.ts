// Limits on what one request may cost the gateway, each with a named maximum, a default, and an error
// that says which limit was hit and which configuration field raises it. Depth and complexity are
// GraphQL validation rules, so an over-limit operation is refused before any resolver runs — the same
// rules serve HTTP (through Apollo) and WebSocket subscriptions (through graphql-ws).
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isListType,
  isInterfaceType,
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLNamedType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

export interface GatewayLimits {
  /** Deepest nesting of fields in one operation (introspection fields are not counted). */
  readonly depthMax: number;
  /** Estimated cost: 1 per field, children multiplied by `first`/`last` (or `listSizeAssumed` for lists). */
  readonly complexityMax: number;
  /** The multiplier for list fields without a `first`/`last` argument. */
  readonly listSizeAssumed: number;
  /** Bytes of GraphQL document text. */
  readonly documentBytesMax: number;
  /** Lexical tokens in one document (bounds parser work before validation can run). */
  readonly documentTokensMax: number;
  /** Brackets ({ [ () nested in one document: the parser recurses once per level, so deeper input would exhaust its stack. */
  readonly documentNestingMax: number;
  /** Bytes of an HTTP request body. */
  readonly bodyBytesMax: number;
  /** Time from the request being read to the response being ready. */
  readonly requestTimeoutMs: number;
  /** Events queued for one subscriber before it is disconnected as too slow. */
  readonly subscriberQueueMax: number;
  /** Bytes waiting in one WebSocket's send buffer before its client is disconnected as too slow. */
  readonly subscriberBufferBytesMax: number;
  /** Concurrent subscriptions on one WebSocket connection. */
  readonly subscriptionsPerConnectionMax: number;
  /** Concurrent WebSocket connections on this gateway. */
  readonly connectionsMax: number;
  /** Hours an idempotency key is kept (a retry within them is answered, not applied again); then it is deleted. */
  readonly idempotencyKeyRetentionHours: number;
}

export const defaultLimits: GatewayLimits = {
  depthMax: 12,
  complexityMax: 10_000,
  listSizeAssumed: 20,
  documentBytesMax: 100_000,
  documentTokensMax: 20_000,
  documentNestingMax: 256,
  bodyBytesMax: 1_000_000,
  requestTimeoutMs: 30_000,
  subscriberQueueMax: 1_000,
  subscriberBufferBytesMax: 4_000_000,
  subscriptionsPerConnectionMax: 100,
  connectionsMax: 10_000,
  idempotencyKeyRetentionHours: 24,
};

/** The error every limit raises: code LIMIT_EXCEEDED, with the limit's configuration name. */
export function limitExceeded(message: string, limit: keyof GatewayLimits, actual: number, allowed: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'LIMIT_EXCEEDED', limit: `limits.${limit}`, actual, allowed },
  });
}

/**
 * The deepest nesting of { [ ( in a GraphQL document, outside strings and comments. Linear and without
 * recursion, so it can run before the (recursive) parser on any text a client sends.
 */
export function documentNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '#') {
      while (index < text.length && text[index] !== '\n' && text[index] !== '\r') index += 1;
    } else if (char === '"') {
      index = stringEnd(text, index);
    } else if (char === '{' || char === '[' || char === '(') {
      depth += 1;
      deepest = Math.max(deepest, depth);
    } else if (char === '}' || char === ']' || char === ')') {
      depth = Math.max(0, depth - 1);
    }
  }
  return deepest;
}

/** The index of the last character of the string literal starting at `start` (or the text's end). */
function stringEnd(text: string, start: number): number {
  if (text.startsWith('"""', start)) {
    let index = start + 3;
    while (index < text.length && !(text.startsWith('"""', index) && text[index - 1] !== '\\')) index += 1;
    return Math.min(text.length, index + 2);
  }
  let index = start + 1;
  while (index < text.length && text[index] !== '"' && text[index] !== '\n') index += text[index] === '\\' ? 2 : 1;
  return index;
}

interface OperationCost {
  readonly depth: number;
  readonly complexity: number;
}

/** One rule that measures every operation in the document and reports depth and complexity overruns. */
export function costLimitRule(limits: Pick<GatewayLimits, 'depthMax' | 'complexityMax' | 'listSizeAssumed'>): ValidationRule {
  return (context: ValidationContext) => ({
    OperationDefinition(operation) {
      const root = context.getSchema().getRootType(operation.operation) ?? null;
      const cost = measure(context, operation.selectionSet, root, { depth: 1, fragmentsInPath: new Set(), pageSize: null, listSizeAssumed: limits.listSizeAssumed, fragmentCosts: new Map() });
      const name = operation.name ? `Operation "${operation.name.value}"` : 'The operation';
      if (cost.depth > limits.depthMax) {
        context.reportError(
          limitExceeded(
            `${name} is ${cost.depth} levels deep; this gateway allows at most ${limits.depthMax}. ` +
              'Fetch the deeper parts in a separate request, or raise limits.depthMax in the gateway configuration.',
            'depthMax',
            cost.depth,
            limits.depthMax,
          ),
        );
      }
      if (cost.complexity > limits.complexityMax) {
        context.reportError(
          limitExceeded(
            `${name} has an estimated cost of ${cost.complexity}; this gateway allows at most ${limits.complexityMax}. ` +
              'Ask for fewer fields or smaller pages (first: …), or raise limits.complexityMax in the gateway configuration.',
            'complexityMax',
            cost.complexity,
            limits.complexityMax,
          ),
        );
      }
    },
  });
}

interface Position {
  readonly depth: number;
  readonly fragmentsInPath: ReadonlySet<string>;
  /** A `first`/`last` given on a connection-style (non-list) ancestor, consumed by the first list below it. */
  readonly pageSize: number | null;
  readonly listSizeAssumed: number;
  /**
   * Cost of each named fragment spread (depth relative to the spread), per page size inherited: a
   * fragment spread many times, or fragments that spread each other twice at every level, are measured
   * once each — without this, a short document of doubling spreads takes exponential time to measure.
   */
  readonly fragmentCosts: Map<string, OperationCost>;
}

function measure(context: ValidationContext, selectionSet: SelectionSetNode, parentType: GraphQLNamedType | null, at: Position): OperationCost {
  let deepest = at.depth - 1;
  let complexity = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith('__')) continue; // introspection: bounded by the schema itself
      const cost = measureField(context, selection, parentType, at);
      deepest = Math.max(deepest, cost.depth);
      complexity += cost.complexity;
      continue;
    }
    const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : context.getFragment(selection.name.value);
    if (!fragment) continue; // an unknown fragment is reported by the standard rules
    const fragmentName = selection.kind === Kind.FRAGMENT_SPREAD ? selection.name.value : null;
    if (fragmentName !== null && at.fragmentsInPath.has(fragmentName)) continue; // cycles are reported by NoFragmentCycles
    const condition = fragment.typeCondition ? (context.getSchema().getType(fragment.typeCondition.name.value) ?? null) : parentType;
    const memoKey = fragmentName === null ? null : `${fragmentName}|${at.pageSize ?? ''}|${condition?.name ?? ''}`;
    const known = memoKey === null ? undefined : at.fragmentCosts.get(memoKey);
    if (known !== undefined) {
      deepest = Math.max(deepest, at.depth - 1 + known.depth);
      complexity += known.complexity;
      continue;
    }
    const fragmentsInPath = fragmentName === null ? at.fragmentsInPath : new Set([...at.fragmentsInPath, fragmentName]);
    const cost = measure(context, fragment.selectionSet, condition, { ...at, fragmentsInPath });
    if (memoKey !== null) at.fragmentCosts.set(memoKey, { depth: cost.depth - (at.depth - 1), complexity: cost.complexity });
    deepest = Math.max(deepest, cost.depth);
    complexity += cost.complexity;
  }
  return { depth: deepest, complexity };
}

function measureField(context: ValidationContext, field: FieldNode, parentType: GraphQLNamedType | null, at: Position): OperationCost {
  const definition = parentType && (isObjectType(parentType) || isInterfaceType(parentType)) ? parentType.getFields()[field.name.value] : undefined;
  if (!field.selectionSet) return { depth: at.depth, complexity: 1 };
  const childType = definition ? getNamedType(definition.type) : null;
  const isList = definition ? isListType(getNullableType(definition.type)) : false;
  const pageSize = pageSizeArgument(field);
  // A list multiplies its children by its page size; a connection object passes its page size down to its list.
  const multiplier = isList ? (pageSize ?? at.pageSize ?? at.listSizeAssumed) : 1;
  const inherited = isList ? null : (pageSize ?? at.pageSize);
  const children = measure(context, field.selectionSet, childType, { ...at, depth: at.depth + 1, pageSize: inherited });
  return { depth: children.depth, complexity: 1 + multiplier * children.complexity };
}

/** `first`/`last` given as a literal; variables count as the assumed list size (the rule runs before coercion). */
function pageSizeArgument(field: FieldNode): number | null {
  for (const argument of field.arguments ?? []) {
    if ((argument.name.value === 'first' || argument.name.value === 'last') && argument.value.kind === Kind.INT) {
      return Math.max(1, Number.parseInt(argument.value.value, 10));
    }
  }
  return null;
}
