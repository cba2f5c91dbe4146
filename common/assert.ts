// Assertions state invariants. A failed assertion is a bug in Entente, never bad input: it throws an
// InvariantViolation that nothing catches, so the process stops before it can persist a wrong state.
// No node:* import here, so pure modules (the consensus core, browser bundles) can use it too.

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

export function assertNever(value: never, message = 'unexpected value'): never {
  throw new InvariantViolation(`${message}: ${String(value)}`);
}
