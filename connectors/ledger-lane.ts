// The ledger lane: connections a connector keeps for the ledger's own work on a partner's database
// (capture reads, acknowledgements, replica apply). Under load the clients' statements fill the main
// pool's queue; a capture read waiting there holds every change behind them, and the ledger with it
// (bench:gateway at 500 mutations/s on PostgreSQL: the read stage's p50 was ~30 ms, for a few ms of work).

/** The capture loop's read (or wait), its acknowledgement and the replica applier each hold at most one. */
export const LEDGER_LANE_CONNECTIONS = 3;
