// The pure consensus core: Tendermint (arXiv 1807.04938, Algorithm 1) as step(state, input) → { state, ready }.
export * from './types.ts';
export { faultsTolerated, honestWitness, proposerOf, quorum } from './quorum.ts';
export {
  DEFAULT_TIMEOUTS, EVIDENCE_PER_HEIGHT_MAX, OWN_PROPOSALS_KEPT_MAX, OWN_VOTES_KEPT_MAX, ROUNDS_AHEAD_MAX,
  VOTES_PER_SENDER_MAX, durableRecordOf, initialState, prevotesFor, restoreState, step, type ConsensusState,
} from './tendermint.ts';
