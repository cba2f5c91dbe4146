-- Contoso Components' own database, as its ERP left it: the parts catalogue.
create type part_category as enum ('brakes', 'engine', 'body', 'electrical');
create table parts (
  sku text primary key,
  name text not null,
  category part_category not null,
  weight_kg numeric(8,3) not null,
  unit_price numeric(12,2) not null,
  stock integer not null check (stock >= 0)
);
insert into parts (sku, name, category, weight_kg, unit_price, stock) values
  ('BRK-2041', 'Front brake caliper, ventilated', 'brakes', 4.250, 182.40, 640),
  ('BRK-2042', 'Rear brake caliper', 'brakes', 3.100, 139.90, 820),
  ('BRK-3310', 'Brake disc 330 mm', 'brakes', 9.800, 74.15, 1210),
  ('ENG-1102', 'Timing chain kit', 'engine', 2.400, 96.00, 305),
  ('ENG-1450', 'Turbocharger assembly', 'engine', 8.900, 1240.00, 48),
  ('ENG-1800', 'Oil pump', 'engine', 1.750, 88.50, 415),
  ('BDY-0007', 'Front door panel, left', 'body', 14.200, 310.00, 96),
  ('BDY-0008', 'Front door panel, right', 'body', 14.200, 310.00, 101),
  ('BDY-0120', 'Bonnet', 'body', 11.600, 268.75, 77),
  ('BDY-0230', 'Rear bumper cover', 'body', 5.300, 142.30, 154),
  ('ELC-5001', 'Wiring harness, dashboard', 'electrical', 3.900, 455.00, 63),
  ('ELC-5210', 'LED headlamp unit', 'electrical', 2.650, 389.90, 212);
