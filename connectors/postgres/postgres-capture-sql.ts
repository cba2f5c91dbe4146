// The SQL of trigger capture: what `install` creates in schema `entente`, and the reader's statements.
// Why it is shaped this way (sequences drawn at write time, batches cut by stored snapshots) is argued
// in the header of postgres-capture.ts; this file only says what each object is for.

/**
 * Tables and the row trigger. Writers pay for one thing only: the row trigger's INSERT into the outbox
 * (no index but a BRIN, no commit-time trigger, no lock, no NOTIFY). Everything else is the reader's.
 */
const tablesAndTriggerScript = `
create schema if not exists entente;
-- The layout before batches (a commit-time sequence under a commit-window lock) is replaced whole:
-- its positions mean something else, so its unacknowledged changes cannot be carried over.
do $upgrade$ begin
  if to_regclass('entente.capture_transactions') is not null then
    drop function if exists entente.capture_commit() cascade;
    drop function if exists entente.capture_complete_up_to();
    drop function if exists entente.capture_visible_prefix(bigint, bigint);
    drop table if exists entente.capture_outbox, entente.capture_transactions, entente.capture_state, entente.capture_waiters;
    drop sequence if exists entente.capture_commit_sequence;
  end if;
end $upgrade$;
-- One row per captured change. change_sequence is drawn when the change is made, while its row lock is
-- held (cache 1, the default, made explicit: the ordering argument needs numbers that grow in real
-- time across sessions); txid is the top-level transaction (with epoch). json, not jsonb: row_to_json
-- writes the text the reader parses anyway, without building and sorting a binary document per row.
create table if not exists entente.capture_outbox (
  change_sequence bigint generated always as identity (cache 1),
  txid bigint not null default txid_current(),
  table_schema text not null,
  table_name text not null,
  operation "char" not null,
  origin text,
  before_image json,
  after_image json
);
-- BRIN costs writers almost nothing (only summarised page ranges are ever updated) and lets the reader
-- skip the old, pruned part of the table: txids grow with the table's physical order.
create index if not exists capture_outbox_txid on entente.capture_outbox using brin (txid) with (pages_per_range = 8);
-- Batch k holds the transactions visible in snapshot k and not in snapshot k-1. Stored, so every
-- reader (a restarted one too) cuts the stream the same way.
create table if not exists entente.capture_batches (
  batch bigint primary key,
  snapshot pg_snapshot not null,
  created_at timestamptz not null default clock_timestamp()
);
create table if not exists entente.capture_state (
  singleton boolean primary key default true check (singleton),
  acknowledged_batch bigint,
  acknowledged_sequence bigint
);
insert into entente.capture_state (singleton) values (true) on conflict do nothing;
create table if not exists entente.capture_tables (
  table_schema text not null,
  table_name text not null,
  primary key (table_schema, table_name)
);
create or replace function entente.capture_row() returns trigger language plpgsql as $capture_row$
begin
  if TG_OP = 'INSERT' then
    insert into entente.capture_outbox (table_schema, table_name, operation, origin, after_image)
    values (TG_ARGV[0], TG_ARGV[1], 'I', nullif(current_setting('entente.origin', true), ''), row_to_json(NEW));
  elsif TG_OP = 'UPDATE' then
    insert into entente.capture_outbox (table_schema, table_name, operation, origin, before_image, after_image)
    values (TG_ARGV[0], TG_ARGV[1], 'U', nullif(current_setting('entente.origin', true), ''), row_to_json(OLD), row_to_json(NEW));
  else
    insert into entente.capture_outbox (table_schema, table_name, operation, origin, before_image)
    values (TG_ARGV[0], TG_ARGV[1], 'D', nullif(current_setting('entente.origin', true), ''), row_to_json(OLD));
  end if;
  return null;
end
$capture_row$;
`;

export const uninstallScript = `
drop function if exists entente.capture_row() cascade;
drop function if exists entente.capture_read(bigint, bigint, bigint, bigint, boolean);
drop function if exists entente.capture_acknowledge(bigint, bigint);
drop function if exists entente.capture_commit() cascade;
drop function if exists entente.capture_complete_up_to();
drop function if exists entente.capture_visible_prefix(bigint, bigint);
drop table if exists entente.capture_outbox, entente.capture_batches, entente.capture_state, entente.capture_tables,
  entente.capture_transactions, entente.capture_waiters;
drop sequence if exists entente.capture_commit_sequence;
do $drop_schema$ begin
  if not exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = 'entente')
     and not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = 'entente') then
    drop schema if exists entente;
  end if;
end $drop_schema$;
`;

/** Batches one read looks at; each holds at least one transaction when it is cut. */
export const batchesPerReadMax = 64;

/**
 * Committed changes the last batch does not hold, as a condition on outbox row \`o\` (one BRIN range
 * scan), and the statement that cuts a new batch from them: its snapshot is the statement's own, the
 * one its scan saw. Two readers racing for the same number: the second waits, then does nothing.
 */
const newSinceLastBatch = `
  o.txid >= coalesce((select pg_snapshot_xmin(snapshot)::text::bigint from last_batch), 0)
  and not coalesce(pg_visible_in_snapshot(o.txid::text::xid8, (select snapshot from last_batch)), false)`;
const lastBatch = 'with last_batch as (select b.batch, b.snapshot from entente.capture_batches b order by b.batch desc limit 1)';
const cutBatchStatement = `${lastBatch}
insert into entente.capture_batches (batch, snapshot)
select coalesce((select batch from last_batch), 0) + 1, pg_current_snapshot()
where exists (select 1 from entente.capture_outbox o where ${newSinceLastBatch})
on conflict (batch) do nothing`;

/**
 * One round trip per read, with plans cached by the function: start from the later of the reader's
 * position and the acknowledged one, cut a batch if asked, and return the transactions after it — at
 * most transactions_max of them and changes_max rows, in order of (batch, the sequence of the
 * transaction's last change), each change in sequence order. A row belongs to the first batch whose
 * snapshot sees its transaction; rows the batch before from_batch saw were delivered earlier. Only
 * committed rows are visible, so aborted work never appears. The cut commits with the statement,
 * before the client has the rows: a reader never holds positions of a batch that was not stored.
 */
const readFunction = `
create or replace function entente.capture_read(after_batch bigint, after_sequence bigint, transactions_max bigint, changes_max bigint, cut boolean)
returns table (batch bigint, last_sequence bigint, txid bigint, origin text, table_schema text, table_name text,
               operation "char", before_image json, after_image json)
language plpgsql
-- The scans' bounds come from stored snapshots at run time, so the planner cannot see that they select
-- only the outbox's tail; without this it scans every page the acknowledgements emptied (measured:
-- 0.86 → 0.34 ms per read of 100 changes with 15,000 pruned rows). Generic plans: the arguments only
-- pick batch rows by key, and re-planning every read cost ~0.2 ms. No JIT: a disabled scan's cost
-- (the one-row state table has no other path) would otherwise buy 30 ms of compiling per call.
set enable_seqscan = off
set jit = off
set plan_cache_mode = force_generic_plan
as $capture_read$
#variable_conflict use_column
declare
  from_batch bigint := after_batch;
  from_sequence bigint := after_sequence;
  acknowledged record;
begin
  select s.acknowledged_batch, s.acknowledged_sequence into acknowledged from entente.capture_state s;
  if (coalesce(acknowledged.acknowledged_batch, 0), coalesce(acknowledged.acknowledged_sequence, 0)) > (after_batch, after_sequence) then
    from_batch := acknowledged.acknowledged_batch;
    from_sequence := acknowledged.acknowledged_sequence;
  end if;
  if cut then
    ${cutBatchStatement};
  end if;
  return query
with base as (select snapshot from entente.capture_batches where batch = from_batch - 1),
span as (
  select batch, snapshot from entente.capture_batches
  where batch >= greatest(from_batch, 1) and batch < greatest(from_batch, 1) + ${batchesPerReadMax}
),
bounds as (
  select coalesce((select pg_snapshot_xmin(snapshot)::text::bigint from base), 0) as low,
         (select max(pg_snapshot_xmax(snapshot)::text::bigint) from span) as high
),
placed as (
  select o.change_sequence, o.txid, o.table_schema, o.table_name, o.operation, o.origin, o.before_image, o.after_image, first.batch
  from entente.capture_outbox o
  cross join lateral (select s.batch from span s where pg_visible_in_snapshot(o.txid::text::xid8, s.snapshot) order by s.batch limit 1) first
  where o.txid >= (select low from bounds) and o.txid < (select high from bounds)
    and not coalesce(pg_visible_in_snapshot(o.txid::text::xid8, (select snapshot from base)), false)
),
sequenced as (
  select p.*, max(p.change_sequence) over (partition by p.txid) as last_sequence from placed p
),
pending as (
  select q.*, dense_rank() over (order by q.batch, q.last_sequence) as transaction_rank
  from sequenced q where (q.batch, q.last_sequence) > (from_batch, from_sequence)
)
select pending.batch, pending.last_sequence, pending.txid, pending.origin, pending.table_schema, pending.table_name,
       pending.operation, pending.before_image, pending.after_image
from pending where transaction_rank <= transactions_max
order by pending.batch, pending.last_sequence, pending.change_sequence
limit changes_max;
end
$capture_read$;
`;

export const readQuery = `select batch::text as batch, last_sequence::text as last_sequence, txid::text as txid, origin, table_schema, table_name,
       operation, before_image::text as before_image, after_image::text as after_image
  from entente.capture_read($1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::boolean)`;

/** For a waiting reader: the last batch, and whether committed changes wait for the next one. */
export const pendingQuery = `${lastBatch}
select coalesce((select batch from last_batch), 0)::text as last_batch,
       exists (select 1 from entente.capture_outbox o where ${newSinceLastBatch}) as fresh`;

/**
 * Acknowledges (ack_batch, ack_sequence): stores it (never moving back) and deletes the changes of
 * every transaction at or before the stored position — all that the batch before it saw, and its own
 * batch's up to the sequence. Batches older than the one before are no longer needed to place a row.
 */
const acknowledgeFunction = `
create or replace function entente.capture_acknowledge(ack_batch bigint, ack_sequence bigint) returns void
language plpgsql as $capture_acknowledge$
begin
  update entente.capture_state
      set (acknowledged_batch, acknowledged_sequence) = (ack_batch, ack_sequence)
    where (coalesce(acknowledged_batch, 0), coalesce(acknowledged_sequence, 0)) < (ack_batch, ack_sequence);
  with state as (select acknowledged_batch as batch, acknowledged_sequence as sequence from entente.capture_state),
   base as (select snapshot from entente.capture_batches where batch = (select batch from state) - 1),
   top as (select snapshot from entente.capture_batches where batch = (select batch from state)),
   done as (
     select o.txid from entente.capture_outbox o
     where o.txid < (select pg_snapshot_xmax(snapshot)::text::bigint from top)
       and pg_visible_in_snapshot(o.txid::text::xid8, (select snapshot from top))
     group by o.txid
     having coalesce(bool_or(pg_visible_in_snapshot(o.txid::text::xid8, (select snapshot from base))), false)
         or max(o.change_sequence) <= (select sequence from state)
   )
   delete from entente.capture_outbox o using done where o.txid = done.txid;
  delete from entente.capture_batches where batch < (select acknowledged_batch from entente.capture_state) - 1;
end
$capture_acknowledge$;
`;

export const acknowledgeQuery = 'select entente.capture_acknowledge($1::bigint, $2::bigint)';

/** Objects the capture needs (see each for why); idempotent. */
export const installScript = tablesAndTriggerScript + readFunction + acknowledgeFunction;

export const acknowledgedQuery = `select acknowledged_batch::text as batch, acknowledged_sequence::text as sequence from entente.capture_state`;
