// The three read operations of `npm run bench:reads`, written once for each API with the same meaning:
// by key (a random product), a filtered list with pagination (a supplier's first 20 products in key
// order, with pageInfo) and a two-level nested list (10 suppliers of a region → 10 products each → 5
// order lines each). Variables vary per request, deterministically, so caches see realistic spread.
// `normalize` maps both answers to one shape, so the benchmark can check they return the same data.
import { datasetSize } from './reads-dataset.ts';

export type ServerName = 'entente' | 'postgraphile';

export interface ReadOperation {
  readonly name: string;
  readonly documents: Readonly<Record<ServerName, string>>;
  variables(index: number): Record<string, unknown>;
}

export const readOperations: readonly ReadOperation[] = [
  {
    name: 'by key',
    documents: {
      entente: 'query ByKey($id: Int!) { product(id: $id) { id name price stock supplierId } }',
      postgraphile: 'query ByKey($id: Int!) { productByRowId(rowId: $id) { rowId name price stock supplierId } }',
    },
    variables: (index) => ({ id: 1 + ((index * 7_919) % datasetSize.products) }),
  },
  {
    name: 'filtered list, paginated',
    documents: {
      entente: 'query List($s: Int!) { products(where: { supplierId: { eq: $s } }, first: 20, orderBy: [{ field: id, direction: ASC }]) { nodes { id name price stock } pageInfo { hasNextPage endCursor } } }',
      postgraphile: 'query List($s: Int!) { allProducts(condition: { supplierId: $s }, first: 20, orderBy: [ROW_ID_ASC]) { nodes { rowId name price stock } pageInfo { hasNextPage endCursor } } }',
    },
    variables: (index) => ({ s: 1 + ((index * 31) % datasetSize.suppliers) }),
  },
  {
    name: 'two-level nested list',
    documents: {
      entente: 'query Nested($r: String!) { suppliers(where: { region: { eq: $r } }, first: 10, orderBy: [{ field: id, direction: ASC }]) { nodes { id name products(first: 10, orderBy: [{ field: id, direction: ASC }]) { id name price orderLines(first: 5, orderBy: [{ field: id, direction: ASC }]) { id quantity placedAt } } } } }',
      postgraphile: 'query Nested($r: String!) { allSuppliers(condition: { region: $r }, first: 10, orderBy: [ROW_ID_ASC]) { nodes { rowId name productsBySupplierId(first: 10, orderBy: [ROW_ID_ASC]) { nodes { rowId name price orderLinesByProductId(first: 5, orderBy: [ROW_ID_ASC]) { nodes { rowId quantity placedAt } } } } } } }',
    },
    variables: (index) => ({ r: `R${(index * 7) % datasetSize.regions}` }),
  },
];

const renamed: Readonly<Record<string, string>> = {
  rowId: 'id', productByRowId: 'product', allProducts: 'products', allSuppliers: 'suppliers',
  productsBySupplierId: 'products', orderLinesByProductId: 'orderLines',
};

/**
 * One shape for both APIs' data: PostGraphile's names mapped to Entente's, nested connections unwrapped
 * to their nodes, instants compared as instants, and cursors (opaque, different by design) dropped.
 */
export function normalize(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => normalize(item));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    // A nested PostGraphile connection ({ nodes }) is an Entente relation list.
    if ((key === 'products' || key === 'orderLines') && entries.length === 1 && entries[0]![0] === 'nodes') return normalize(entries[0]![1]);
    return Object.fromEntries(entries.filter(([name]) => name !== 'endCursor').map(([name, item]) => {
      const to = renamed[name] ?? name;
      return [to, normalize(item, to)];
    }));
  }
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return Date.parse(value);
  if (typeof value === 'number') return String(value);
  return value;
}
