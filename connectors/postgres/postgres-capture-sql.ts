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
-- skip the old, pruned part of the table: txids grow with the table's physical order. Created only when
-- missing: CREATE INDEX IF NOT EXISTS takes a SHARE lock on the outbox before it looks, which stops
-- every capturing writer until install commits (and deadlocked one that held a captured table's lock).
do $brin$ begin
  if to_regclass('entente.capture_outbox_txid') is null then
    create index capture_outbox_txid on entente.capture_outbox using brin (txid) with (pages_per_range = 8);
  end if;
end $brin$;
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
-- Batch membership: one row per transaction, written by the statement that cuts its batch, keyed by
-- the transaction's position. A read pages through it by key, so reading a batch of any size costs
-- what the read returns; placing rows by snapshot on every read re-scanned the whole unread rest of
-- the batch each time, and a backlog of n changes took O(n²) to read (160,000: 209 µs per change).
-- Created with a backfill, so an install that predates it keeps its unacknowledged batches.
do $membership$ begin
  if to_regclass('entente.capture_batch_transactions') is null then
    create table entente.capture_batch_transactions (
      batch bigint not null,
      last_sequence bigint not null,
      txid bigint not null,
      primary key (batch, last_sequence)
    );
    insert into entente.capture_batch_transactions (batch, last_sequence, txid)
    select first.batch, max(o.change_sequence), o.txid
    from entente.capture_outbox o
    cross join lateral (select b.batch from entente.capture_batches b
                        where pg_visible_in_snapshot(o.txid::text::xid8, b.snapshot) order by b.batch limit 1) first
    group by o.txid, first.batch
    having (first.batch, max(o.change_sequence)) > (select coalesce(s.acknowledged_batch, 0), coalesce(s.acknowledged_sequence, 0) from entente.capture_state s);
  end if;
end $membership$;
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
drop function if exists entente.capture_pending();
drop function if exists entente.capture_commit() cascade;
drop function if exists entente.capture_complete_up_to();
drop function if exists entente.capture_visible_prefix(bigint, bigint);
drop table if exists entente.capture_outbox, entente.capture_batches, entente.capture_batch_transactions, entente.capture_state,
  entente.capture_tables, entente.capture_transactions, entente.capture_waiters;
drop sequence if exists entente.capture_commit_sequence;
do $drop_schema$ begin
  if not exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = 'entente')
     and not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = 'entente') then
    drop schema if exists entente;
  end if;
end $drop_schema$;
`;

/**
 * Committed changes the last batch does not hold, as a condition on outbox row \`o\`, and the statement
 * that cuts a new batch from them. Such a change belongs to a transaction the last batch's snapshot
 * did not see: one it lists as in progress (only those no longer in progress can have visible rows;
 * a status too old to be known means finished) or one at or above its xmax. Both are index range scans over recent txids. The bound before
 * was the snapshot's xmin, which stays at the oldest transaction still open: one transaction left open
 * made every cut and poll scan every row written since it began (a cycle of 100 changes took 3.7 →
 * 10.9 ms over 60,000 changes). The cut's snapshot is the statement's own, the one its scans saw, and
 * the same statement writes the batch's membership, so the two always agree. A transaction that
 * commits after that snapshot is listed in progress in it, so the next cut finds it. Two readers racing
 * for the same number: the second waits, then does nothing (its insert returns no batch, so it writes
 * no membership either).
 */
const lastBatch = `with last_batch as (select b.batch, b.snapshot from entente.capture_batches b order by b.batch desc limit 1),
finished as (
  select coalesce(array_agg(x::text::bigint), '{}') as txids from last_batch, pg_snapshot_xip(last_batch.snapshot) x
  where pg_xact_status(x) is distinct from 'in progress'
)`;
const newSinceLastBatch = `
  (o.txid >= coalesce((select pg_snapshot_xmax(snapshot)::text::bigint from last_batch), 0) or o.txid = any((select txids from finished)::bigint[]))
  and not coalesce(pg_visible_in_snapshot(o.txid::text::xid8, (select snapshot from last_batch)), false)`;
const cutBatchStatement = `${lastBatch},
fresh as materialized (
  select o.txid, max(o.change_sequence) as last_sequence from entente.capture_outbox o
  where ${newSinceLastBatch}
  group by o.txid
),
cut as (
  insert into entente.capture_batches (batch, snapshot)
  select coalesce((select batch from last_batch), 0) + 1, pg_current_snapshot()
  where exists (select 1 from fresh)
  on conflict (batch) do nothing
  returning batch
)
insert into entente.capture_batch_transactions (batch, last_sequence, txid)
select (select batch from cut), f.last_sequence, f.txid
from fresh f
where exists (select 1 from cut)`;

/**
 * One round trip per read, with plans cached by the function: start from the later of the reader's
 * position and the acknowledged one, cut a batch if asked, and return the transactions after it — at
 * most transactions_max of them and changes_max rows, in order of (batch, the sequence of the
 * transaction's last change), each change in sequence order. The transactions come from the batch
 * membership by key; their rows from the outbox by txid, within the txid range they span (one BRIN
 * range scan). Only committed transactions are members, so aborted work never appears. The cut
 * commits with the statement, before the client has the rows: a reader never holds positions of a
 * batch that was not stored.
 */
const readFunction = `
create or replace function entente.capture_read(after_batch bigint, after_sequence bigint, transactions_max bigint, changes_max bigint, cut boolean)
returns table (batch bigint, last_sequence bigint, txid bigint, origin text, table_schema text, table_name text,
               operation "char", before_image json, after_image json)
language plpgsql
-- The outbox scan's bounds come from the chosen transactions at run time, so the planner cannot see
-- that they select only a small txid range; without this it scans every page the acknowledgements
-- emptied (measured: 0.86 → 0.34 ms per read of 100 changes with 15,000 pruned rows). Generic plans:
-- re-planning every read cost ~0.2 ms. No JIT: a disabled scan's cost (the one-row state table has no
-- other path) would otherwise buy 30 ms of compiling per call. No nested loops: the generic plan
-- guesses a few hundred chosen transactions and joined them to the outbox rows in a nested loop, one
-- pass over all the rows per transaction (measured on PGlite: 12 s for a read of 5,000, 46 ms hashed).
set enable_seqscan = off
set enable_nestloop = off
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
with chosen as materialized (
  select t.batch, t.last_sequence, t.txid from entente.capture_batch_transactions t
  where (t.batch, t.last_sequence) > (from_batch, from_sequence)
  order by t.batch, t.last_sequence
  limit transactions_max
),
bounds as (select min(c.txid) as low, max(c.txid) as high from chosen c)
select c.batch, c.last_sequence, o.txid, o.origin, o.table_schema, o.table_name, o.operation, o.before_image, o.after_image
from chosen c
join entente.capture_outbox o on o.txid = c.txid
where o.txid >= (select low from bounds) and o.txid <= (select high from bounds)
order by c.batch, c.last_sequence, o.change_sequence
limit changes_max;
end
$capture_read$;
`;

export const readQuery = `select batch::text as batch, last_sequence::text as last_sequence, txid::text as txid, origin, table_schema, table_name,
       operation, before_image::text as before_image, after_image::text as after_image
  from entente.capture_read($1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::boolean)`;

/**
 * For a waiting reader: the last batch, and whether committed changes wait for the next one. A function
 * for the same planner settings as capture_read (its index bounds are known only at run time).
 */
const pendingFunction = `
create or replace function entente.capture_pending(out batch_now bigint, out changes_waiting boolean)
language plpgsql
set enable_seqscan = off
set jit = off
set plan_cache_mode = force_generic_plan
as $capture_pending$
begin
  ${lastBatch}
  select coalesce((select batch from last_batch), 0),
         exists (select 1 from entente.capture_outbox o where ${newSinceLastBatch})
    into batch_now, changes_waiting;
end
$capture_pending$;
`;

export const pendingQuery = 'select batch_now::text as last_batch, changes_waiting as fresh from entente.capture_pending()';

/**
 * Acknowledges (ack_batch, ack_sequence): stores it (never moving back), then removes every member
 * transaction at or before the stored position and deletes its outbox rows (within the txid range the
 * removed ones span: one BRIN range scan). The last batch's snapshot is kept to cut the next one.
 */
const acknowledgeFunction = `
create or replace function entente.capture_acknowledge(ack_batch bigint, ack_sequence bigint) returns void
language plpgsql
-- As capture_read: a BRIN range scan, never a sequential one, and the removed transactions hashed
-- against their rows instead of a nested loop over both.
set enable_seqscan = off
set enable_nestloop = off
set jit = off
as $capture_acknowledge$
declare
  previous record;
begin
  -- Locked: of two acknowledgements at once, the second sees the first's position, never moves back.
  select coalesce(s.acknowledged_batch, 0) as batch, coalesce(s.acknowledged_sequence, 0) as sequence into previous
    from entente.capture_state s for update;
  if (previous.batch, previous.sequence) >= (ack_batch, ack_sequence) then
    return;
  end if;
  update entente.capture_state set (acknowledged_batch, acknowledged_sequence) = (ack_batch, ack_sequence);
  -- Members at or before the previous position were removed with it: starting the index scan there
  -- skips their dead index entries, which until a vacuum every scan from the start would walk.
  with done as (
     delete from entente.capture_batch_transactions t
      where (t.batch, t.last_sequence) > (previous.batch, previous.sequence)
        and (t.batch, t.last_sequence) <= (ack_batch, ack_sequence)
     returning t.txid
   ),
   bounds as (select min(d.txid) as low, max(d.txid) as high from done d)
   delete from entente.capture_outbox o using done
    where o.txid = done.txid and o.txid >= (select low from bounds) and o.txid <= (select high from bounds);
  delete from entente.capture_batches where batch < (select acknowledged_batch from entente.capture_state) - 1;
end
$capture_acknowledge$;
`;

export const acknowledgeQuery = 'select entente.capture_acknowledge($1::bigint, $2::bigint)';

/** Objects the capture needs (see each for why); idempotent. */
export const installScript = tablesAndTriggerScript + readFunction + pendingFunction + acknowledgeFunction;

export const acknowledgedQuery = `select acknowledged_batch::text as batch, acknowledged_sequence::text as sequence from entente.capture_state`;
