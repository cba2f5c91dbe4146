// connector.listNested at the contract level (issue #12), shared by PGlite and PostgreSQL
// (nested-reads.*.test.ts). Goal: one statement returns what list + listGrouped + loadByKeys return
// level by level — composite join keys, a parent column of another type than the child's, null parent
// keys, per-parent order, limits and filters, `one` relations — and malformed or oversized trees are
// refused with a code before any SQL runs. Method: a small schema of warehouses → bins → items (a
// two-column key) and a lookup table; every nested answer is compared with the level-by-level calls.
import { expect, it } from 'vitest';
import type { Connector, NestedListQuery, NestedRow, RelationQuery, Row } from '../../connectors/connector.ts';
import { isEntenteError } from '../../common/errors.ts';

export const nestedReadsDdl = `
create table warehouses (code text primary key, city text, manager_id integer);
create table managers (id bigint primary key, name text not null);
create table bins (warehouse text not null references warehouses(code), bin_no integer not null, label text, primary key (warehouse, bin_no));
create table items (id integer primary key, warehouse text, bin_no integer, sku text not null, qty numeric(10,3), seen_at timestamptz);
insert into managers values (1, 'Ada'), (2, 'Grace');
insert into warehouses values ('W1', 'Graz', 1), ('W2', null, null), ('W3', 'Linz', 2), ('W4', 'Wels', 9);
insert into bins values ('W1', 1, 'a'), ('W1', 2, null), ('W1', 3, 'c'), ('W3', 1, 'x');
insert into items values
  (1, 'W1', 1, 'S-1', 1.5, '2024-05-01T10:00:00.123456Z'), (2, 'W1', 1, 'S-2', 0, null), (3, 'W1', 1, 'S-3', null, '2024-05-01T10:00:00Z'),
  (4, 'W1', 2, 'S-4', 4, null), (5, 'W3', 1, 'S-5', 5.125, null), (6, null, 1, 'S-6', 6, null), (7, 'W1', 3, 'S-7', -7, null);
`;

const ref = (name: string) => ({ schema: 'public', name });

export function runNestedReadsConnectorSuite(connector: () => Connector): void {
  const items: RelationQuery = { kind: 'many', table: ref('items'), parentColumns: ['warehouse', 'bin_no'], columns: ['warehouse', 'bin_no'], first: 2, orderBy: [{ column: 'qty', direction: 'desc' }], where: { column: 'sku', op: 'ne', value: 'S-2' } };
  const bins: RelationQuery = { kind: 'many', table: ref('bins'), parentColumns: ['code'], columns: ['warehouse'], first: 10, relations: [items] };
  // warehouses.manager_id is an integer, managers.id a bigint: the parent's value is cast as listGrouped casts keys.
  const manager: RelationQuery = { kind: 'one', table: ref('managers'), parentColumns: ['manager_id'], columns: ['id'] };
  const query: NestedListQuery = { table: ref('warehouses'), first: 10, orderBy: [{ column: 'code', direction: 'asc' }], relations: [bins, manager] };

  /** The same tree, level by level through the contract's other reads. */
  async function levelByLevel(): Promise<unknown> {
    const page = await connector().list(query);
    const binGroups = await connector().listGrouped({ table: ref('bins'), columns: ['warehouse'], groups: page.rows.map((row) => [row['code'] ?? null]), first: 10 });
    const allBins = binGroups.flat();
    const itemGroups = await connector().listGrouped({ table: ref('items'), columns: ['warehouse', 'bin_no'], groups: allBins.map((bin) => [bin['warehouse'] ?? null, bin['bin_no'] ?? null]), first: 2, orderBy: items.kind === 'many' ? items.orderBy! : [], where: { column: 'sku', op: 'ne', value: 'S-2' } });
    const managers = await connector().loadByKeys(ref('managers'), ['id'], page.rows.map((row) => [row['manager_id'] === null ? 0 : String(row['manager_id'])]));
    let binIndex = 0;
    return page.rows.map((row, index) => ({
      row,
      related: [
        binGroups[index]!.map((bin) => ({ row: bin, related: [itemGroups[binIndex++]!.map((item) => ({ row: item, related: [] }))] })),
        row['manager_id'] === null ? null : (managers[index] === null ? null : { row: managers[index] as Row, related: [] }),
      ],
    }));
  }

  it('returns the page with its nested relations in one statement, as the level-by-level reads do', async () => {
    await connector().listNested!(query);
    const before = connector().statementCount();
    const nested = await connector().listNested!(query);
    expect(connector().statementCount() - before).toBe(1);
    expect(nested.hasNextPage).toBe(false);
    expect(nested.orderColumns).toEqual([{ column: 'code', direction: 'asc' }]);
    expect(nested.rows).toEqual(await levelByLevel());
    const w1 = nested.rows[0]!;
    const w1Bins = w1.related[0] as readonly NestedRow[];
    expect(w1Bins.map((bin) => (bin.related[0] as readonly NestedRow[]).map((item) => item.row['sku']))).toEqual([['S-3', 'S-1'], ['S-4'], ['S-7']]);
    expect((w1.related[1] as NestedRow).row).toEqual({ id: '1', name: 'Ada' });
    expect(nested.rows.map((row) => (row.related[1] as NestedRow | null)?.row['name'] ?? null)).toEqual(['Ada', null, 'Grace', null]);
    expect(nested.rows[1]!.related[0]).toEqual([]);
  });

  it('returns only the selected columns with the join, order and relation columns, each decoded as in the full row', async () => {
    const full = await connector().listNested!(query);
    const pick = (row: Row, names: readonly string[]): Row => Object.fromEntries(names.map((name) => [name, row[name] ?? null]));
    const narrowItems: RelationQuery = { ...items, select: ['seen_at'] };
    const narrowBins: RelationQuery = { ...bins, select: [], relations: [narrowItems] };
    const narrowManager: RelationQuery = { ...manager, select: ['name', 'no_such_column'] };
    const narrow = await connector().listNested!({ ...query, relations: [narrowBins, narrowManager] });
    const expected = full.rows.map((warehouse) => ({
      row: warehouse.row,
      related: [
        (warehouse.related[0] as readonly NestedRow[]).map((bin) => ({
          // bins: the join column and the primary key (the order); bin_no is also the items' parent column.
          row: pick(bin.row, ['warehouse', 'bin_no']),
          related: [(bin.related[0] as readonly NestedRow[]).map((item) => ({ row: pick(item.row, ['id', 'warehouse', 'bin_no', 'qty', 'seen_at']), related: [] }))],
        })),
        warehouse.related[1] === null ? null : { row: pick((warehouse.related[1] as NestedRow).row, ['id', 'name']), related: [] },
      ],
    }));
    expect(narrow.rows).toEqual(expected);
  });

  it('pages, counts and filters the root as list does', async () => {
    const paged = await connector().listNested!({ ...query, first: 2, after: ['W1'], includeTotalCount: true, where: { column: 'code', op: 'ne', value: 'W2' } });
    const plain = await connector().list({ ...query, first: 2, after: ['W1'], includeTotalCount: true, where: { column: 'code', op: 'ne', value: 'W2' } });
    expect(paged.rows.map((row) => row.row)).toEqual(plain.rows);
    expect([paged.hasNextPage, paged.totalCount]).toEqual([plain.hasNextPage, plain.totalCount]);
  });

  it('refuses malformed and oversized trees with a code, before any SQL runs', async () => {
    const refused = async (relations: readonly RelationQuery[], code: 'USAGE' | 'LIMIT_EXCEEDED' | 'DB_NOT_FOUND') => {
      const error = await connector().listNested!({ ...query, relations }).then(() => null, (caught: unknown) => caught);
      expect(isEntenteError(error, code)).toBe(true);
    };
    await refused([{ ...manager, columns: [] }], 'USAGE');
    await refused([{ ...manager, columns: ['id', 'name'] }], 'USAGE');
    await refused([{ ...manager, parentColumns: ['nope'] }], 'USAGE');
    await refused([{ ...manager, table: ref('no_such_table') }], 'DB_NOT_FOUND');
    let deep: RelationQuery = manager;
    for (let level = 0; level < 8; level += 1) deep = { kind: 'one', table: ref('warehouses'), parentColumns: ['code'], columns: ['code'], relations: [deep] };
    await refused([deep], 'LIMIT_EXCEEDED');
    await refused(Array.from({ length: 40 }, () => manager), 'LIMIT_EXCEEDED');
  });
}
