// Goal: trigger capture works for a user with only database-level privileges (no REPLICATION, PROCESS
// or SUPER), names the missing GRANT when TRIGGER is absent, and captures every column type exactly as
// the read path returns it (so the ledger hashes the same values whichever path produced them), even
// when the outside writer's session uses another time zone.
// Method: a limited MariaDB user created for this file, capture installed through it; an outside
// writer in time_zone '+05:00' inserts and updates a row of every type; the captured after-image is
// compared with loadByKeys.
import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { describeWithMariadb, withMariadbAdmin } from '../support/databases.ts';
import { openMysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import type { Connector, TableRef } from '../../connectors/connector.ts';
import { isEntenteError } from '../../common/errors.ts';

describeWithMariadb('MySQL capture privileges and captured values', (db) => {
  const user = `lim_${Math.random().toString(36).slice(2, 10)}`;
  const password = 'Limited-1';
  let connector: Connector;
  const everything = (): TableRef => ({ schema: db.name, name: 'everything' });
  const limitedUrl = (): string => `mysql://${user}:${password}@${db.settings.host}:${db.settings.port}/${db.name}`;

  beforeAll(async () => {
    await withMariadbAdmin(db.settings, async (admin) => {
      await admin.query(`CREATE TABLE \`${db.name}\`.everything (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY, amount DECIMAL(30,10) NULL, ratio FLOAT NULL, precise DOUBLE NULL, flag BOOL NULL,
        small SMALLINT NULL, big BIGINT NULL, happened DATETIME(3) NULL, instant TIMESTAMP(6) NULL DEFAULT NULL, day DATE NULL, clock TIME(2) NULL,
        yr YEAR NULL, doc JSON NULL, raw VARBINARY(16) NULL, blobby LONGBLOB NULL, bits BIT(12) NULL, bit1 BIT(1) NULL,
        label ENUM('x','y z') NULL, labels SET('p','q','r') NULL, uid UUID NULL, place POINT NULL, words TEXT NULL, latin VARCHAR(20) CHARACTER SET latin1 NULL)`);
      await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db.name}\`.* TO '${user}'@'%'`);
    });
  });
  afterAll(async () => {
    await connector?.close();
    await withMariadbAdmin(db.settings, (admin) => admin.query(`DROP USER IF EXISTS '${user}'@'%'`));
  });

  it('names the GRANT to run when the user may not create triggers', async () => {
    const limited = await openMysqlConnector(limitedUrl());
    try {
      const error = await limited.capture.install([everything()]).catch((caught: unknown) => caught);
      expect(isEntenteError(error, 'DB_PRIVILEGE_MISSING')).toBe(true);
      expect((error as Error).message).toMatch(/GRANT TRIGGER, CREATE/);
    } finally {
      await limited.close();
    }
  });

  it('installs with database-level grants only and captures every type as the read path returns it', async () => {
    await withMariadbAdmin(db.settings, (admin) => admin.query(`GRANT TRIGGER, CREATE, ALTER, INDEX, DROP ON \`${db.name}\`.* TO '${user}'@'%'`));
    connector = await openMysqlConnector(limitedUrl());
    await connector.capture.install([everything()]);
    const outside = await mysql.createConnection({ ...db.settings, database: db.name });
    try {
      await outside.query(`SET time_zone = '+05:00'`);
      await outside.query(
        `INSERT INTO everything VALUES (18446744073709551615, -12345678901234567890.0123456789, 0.1, 0.30000000000000004, TRUE, -32768, -9223372036854775808,
          '2024-02-29 23:59:59.999', '2024-05-01 15:00:00.000001', '0001-01-01', '-838:59:59.99', 2155, '{"a": [1, 2.5, "ü"], "b": null}',
          X'00FF', X'DEADBEEF', b'101010101010', b'1', 'y z', 'p,r', '123e4567-e89b-12d3-a456-426614174000', ST_GeomFromText('POINT(3 4)'), 'emoji 🦄 and 𝄞', 'café')`,
      );
      await outside.query(`UPDATE everything SET words = 'changed ✓' WHERE id = 18446744073709551615`);
      await outside.query(`UPDATE everything SET words = words WHERE id = 18446744073709551615`); // no change: not captured
    } finally {
      await outside.end();
    }
    const transactions = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
    expect(transactions.map((transaction) => transaction.changes.map((change) => change.op))).toEqual([['insert'], ['update']]);
    const [row] = await connector.loadByKeys(everything(), ['id'], [['18446744073709551615']]);
    expect(transactions[1]?.changes[0]?.after).toEqual(row);
    expect(transactions[1]?.changes[0]?.key).toEqual({ id: '18446744073709551615' });
    expect(row).toMatchObject({ amount: '-12345678901234567890.0123456789', instant: '2024-05-01T10:00:00.000001Z', happened: '2024-02-29T23:59:59.999Z', bits: '2730', bit1: true, raw: 'AP8=', labels: ['p', 'r'], place: 'POINT(3 4)', latin: 'café', words: 'changed ✓', doc: { a: [1, 2.5, 'ü'], b: null } });
    expect({ ...transactions[0]?.changes[0]?.after, words: 'changed ✓' }).toEqual(row);
  });
});
