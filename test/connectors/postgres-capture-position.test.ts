// Goal: PostgreSQL capture positions order by batch, then sequence — numerically, not as text — and a
// bare number from the layout before batches reads as batch 0, before every position of this layout.
import { describe, expect, it } from 'vitest';
import { isEntenteError } from '../../common/errors.ts';
import { compareCapturePositions, formatCapturePosition, parseCapturePosition } from '../../connectors/postgres/postgres-capture-position.ts';

const compare = (a: string, b: string): number => compareCapturePositions(parseCapturePosition(a), parseCapturePosition(b));

describe('postgres capture positions', () => {
  it('round-trips and orders by batch, then sequence, as numbers', () => {
    expect(formatCapturePosition(parseCapturePosition('12:9007199254740993'))).toBe('12:9007199254740993');
    expect(compare('2:7', '2:11')).toBe(-1);
    expect(compare('10:1', '9:500')).toBe(1);
    expect(compare('3:3', '3:3')).toBe(0);
  });

  it('reads a bare commit number of the old layout as batch 0', () => {
    expect(parseCapturePosition('123')).toEqual({ batch: 0n, sequence: 123n });
    expect(compare('999999', '1:1')).toBe(-1);
  });

  it('rejects anything else with an error that says what a position looks like', () => {
    for (const bad of ['', '1:', ':1', '1:2:3', '-1:2', 'x', '1.5']) {
      const error = (() => {
        try {
          parseCapturePosition(bad);
          return undefined;
        } catch (caught) {
          return caught;
        }
      })();
      expect(isEntenteError(error, 'USAGE')).toBe(true);
    }
  });
});
