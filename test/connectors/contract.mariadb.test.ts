// Goal: the MySQL/MariaDB connector passes the shared connector contract suite on the real MariaDB
// server. Method: ./mariadb-contract-database.ts (the fixture in MySQL DDL, seeded by plain mysql2).
import { describeWithMariadb } from '../support/databases.ts';
import { mysqlUrl } from '../support/services.ts';
import { runContractSuite } from './contract-suite.ts';
import { mariadbContractFeatures, openMariadbContractDatabase } from './mariadb-contract-database.ts';

describeWithMariadb('connector contract: mariadb', (db) => {
  runContractSuite({ label: 'mariadb', features: mariadbContractFeatures, open: () => openMariadbContractDatabase(db, (namespace) => mysqlUrl(db.settings, namespace)) });
});
