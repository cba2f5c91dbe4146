// The demo network: four partners of a car maker's supply chain. Names are partner ids as they appear
// in the genesis file, the data folders and the logs.
export interface DemoPartner {
  readonly name: string;
  readonly title: string;
  readonly role: string;
  /** Added to the base port: 4001, 4002, … by default. */
  readonly portOffset: number;
}

export const demoPartners: readonly DemoPartner[] = [
  { name: 'manufacturer', title: 'Northwind Motors', role: 'builds the cars, orders parts and paint jobs', portOffset: 1 },
  { name: 'parts-supplier', title: 'Contoso Components', role: 'supplies brake, engine and body parts', portOffset: 2 },
  { name: 'paint-shop', title: 'Fabrikam Finishes', role: 'paints body panels, reports defects', portOffset: 3 },
  { name: 'logistics', title: 'Tailspin Logistics', role: 'ships parts between the plants', portOffset: 4 },
];

export const defaultBasePort = 4000;
