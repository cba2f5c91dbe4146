// Who the fuzzer speaks as, the values planted for it to find (fuzz-network.ts seeds them), and which
// caller may read which: a response holding a marker its caller may not read is a leak.
/** Callers the fuzzer speaks as; `mallory` is no partner of the network at all. */
export const fuzzPartners = ['acme', 'globex', 'initech', 'mallory'] as const;
export type FuzzPartner = (typeof fuzzPartners)[number];
/** The header the test authenticator reads the calling partner from (and roles from x-fuzz-roles). */
export const partnerHeader = 'x-fuzz-partner';
export const rolesHeader = 'x-fuzz-roles';

/** Planted values, and who may read each (besides acme, the owner of every table here but two). */
export const markers = {
  acmeOnlyField: 'ZQXM-acme-internal-note',
  globexField: 'ZQXM-globex-supplier-note',
  globexOrderRow: 'ZQXM-row-globex-order',
  initechOrderRow: 'ZQXM-row-initech-order',
  nobodysOrderRow: 'ZQXM-row-nobodys-order',
  globexInvoice: 'ZQXM-type-globex-invoice',
  acmeNote: 'ZQXM-note-acme',
  globexNote: 'ZQXM-note-globex',
  initechNote: 'ZQXM-note-initech',
  globexShipment: 'ZQXM-replica-globex-shipment',
  initechQuote: 'ZQXM-replica-initech-quote',
} as const;

type MarkerName = keyof typeof markers;

const readableBy: Readonly<Record<MarkerName, readonly FuzzPartner[]>> = {
  acmeOnlyField: ['acme'],
  globexField: ['acme', 'globex'],
  globexOrderRow: ['acme', 'globex'],
  initechOrderRow: ['acme', 'initech'],
  nobodysOrderRow: ['acme'],
  globexInvoice: ['acme', 'globex'],
  acmeNote: ['acme'],
  globexNote: ['acme', 'globex'],
  initechNote: ['acme', 'initech'],
  globexShipment: ['acme', 'globex'],
  initechQuote: ['acme', 'initech'],
};

/** The markers `partner` must never receive. */
export function forbiddenMarkers(partner: string): readonly string[] {
  return (Object.keys(markers) as MarkerName[]).filter((name) => !(readableBy[name] as readonly string[]).includes(partner)).map((name) => markers[name]);
}

/** The markers `partner` may receive (the sanity check reads each of them once). */
export function allowedMarkers(partner: FuzzPartner): readonly string[] {
  return (Object.keys(markers) as MarkerName[]).filter((name) => readableBy[name].includes(partner)).map((name) => markers[name]);
}
