// The contract suite's database on a real MariaDB server: the suite's logical fixture (./fixture.ts)
// translated to MySQL DDL in a database of its own (the harness's database is named entente_t_…, and the
// suite rightly requires that nothing named entente… shows up in introspection), seeded with plain
// mysql2 as "another application", and the connector opened on the URL `connectUrl` gives for it.
import mysql from 'mysql2/promise';
import type { FreshDatabase } from '../support/databases.ts';
import type { ContractDatabase } from './contract-suite.ts';
import { allFixtureFeatures, type FixtureFeature, type FixtureTableName } from './fixture.ts';
import { openMysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import type { Row, Value } from '../../connectors/connector.ts';

/** MySQL has no array columns and cannot store NaN/Infinity in DOUBLE; everything else it has. */
export const mariadbContractFeatures = new Set<FixtureFeature>([...allFixtureFeatures].filter((feature) => feature !== 'arrays' && feature !== 'floatSpecials'));

const fixtureDdl = [
  `CREATE TABLE customers (
     id INT NOT NULL PRIMARY KEY,
     name TEXT NOT NULL,
     email VARCHAR(200) NULL COMMENT 'Contact address',
     tier ENUM('bronze','silver','gold') NOT NULL DEFAULT 'bronze',
     profile JSON NULL,
     balance DECIMAL(12,2) NOT NULL,
     score DOUBLE NULL,
     external_id UUID NULL,
     created_at DATETIME(6) NOT NULL,
     avatar BLOB NULL,
     CONSTRAINT customers_email_key UNIQUE (email)
   ) COMMENT='People who buy things'`,
  `CREATE TABLE orders (
     region VARCHAR(20) NOT NULL,
     order_no INT NOT NULL,
     customer_id INT NOT NULL,
     status ENUM('open','paid','shipped','cancelled') NOT NULL,
     total DECIMAL(12,2) NOT NULL,
     placed_at DATETIME(6) NOT NULL,
     version INT NOT NULL DEFAULT 1,
     note TEXT NULL,
     PRIMARY KEY (region, order_no),
     CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id)
   )`,
  `CREATE TABLE order_lines (
     region VARCHAR(20) NOT NULL,
     order_no INT NOT NULL,
     line_no INT NOT NULL,
     sku TEXT NOT NULL,
     quantity INT NOT NULL,
     unit_price DECIMAL(12,2) NOT NULL,
     PRIMARY KEY (region, order_no, line_no),
     CONSTRAINT order_lines_order_fkey FOREIGN KEY (region, order_no) REFERENCES orders (region, order_no)
   )`,
  `CREATE TABLE events (
     id BIGINT NOT NULL,
     occurred_at DATETIME(6) NOT NULL,
     kind TEXT NOT NULL,
     payload JSON NULL,
     PRIMARY KEY (id, occurred_at)
   ) PARTITION BY RANGE COLUMNS (occurred_at) (
     PARTITION events_2024 VALUES LESS THAN ('2025-01-01'),
     PARTITION events_2025 VALUES LESS THAN ('2026-01-01')
   )`,
  `CREATE TABLE audit_log (at DATETIME(6) NOT NULL, message TEXT NOT NULL)`,
  `CREATE VIEW customer_order_totals AS
     SELECT customer_id, COUNT(*) AS order_count, SUM(total) AS total_amount FROM orders GROUP BY customer_id`,
];

/** Canonical values → what plain mysql2 binds, written here independently of the connector's own code. */
function outsideParam(column: string, value: Value): unknown {
  if (value === null) return null;
  if (['profile', 'payload'].includes(column)) return JSON.stringify(value);
  if (column === 'avatar') return Buffer.from(String(value), 'base64');
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)) return value.replace('T', ' ').replace('Z', '');
  return value;
}

export async function openMariadbContractDatabase(db: FreshDatabase, connectUrl: (namespace: string) => string): Promise<ContractDatabase> {
  const namespace = `contract_${db.name.replace(/^entente_t_/, '')}`;
  const admin = await mysql.createConnection({ ...db.settings });
  await admin.query(`CREATE DATABASE \`${namespace}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.query(`USE \`${namespace}\``);
  for (const statement of fixtureDdl) await admin.query(statement);
  const url = connectUrl(namespace);
  const connector = await openMysqlConnector(url);
  return {
    connector,
    namespace,
    async insertOutside(table: FixtureTableName, rows: readonly Row[]) {
      await admin.beginTransaction();
      try {
        for (const row of rows) {
          const columns = Object.keys(row);
          await admin.query(`INSERT INTO \`${table}\` (${columns.map((column) => `\`${column}\``).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, columns.map((column) => outsideParam(column, row[column] ?? null)));
        }
        await admin.commit();
      } catch (error) {
        await admin.rollback();
        throw error;
      }
    },
    openAnother: () => openMysqlConnector(url),
    async close() {
      await connector.close();
      await admin.query(`DROP DATABASE IF EXISTS \`${namespace}\``);
      await admin.end();
    },
  };
}
