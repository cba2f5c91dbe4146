// The bench:reads tables (bench/support/reads-dataset.ts) as one partner's Entente SDL.
/** The benchmark tables as one partner's SDL (what `entente introspect` would print, relations added). */
export const readsSdl = `
type Supplier @key(fields: "id") @table(name: "suppliers", schema: "public") {
  id: Int! @column(name: "id", type: "integer")
  name: String! @column(name: "name", type: "text")
  region: String! @column(name: "region", type: "text")
  products: [Product!]! @relation(fields: ["id"], references: ["supplierId"])
}

type Product @key(fields: "id") @table(name: "products", schema: "public") {
  id: Int! @column(name: "id", type: "integer")
  supplierId: Int! @column(name: "supplier_id", type: "integer")
  name: String! @column(name: "name", type: "text")
  price: Decimal! @column(name: "price", type: "numeric(10,2)")
  stock: Int! @column(name: "stock", type: "integer")
  supplier: Supplier! @relation(fields: ["supplierId"], references: ["id"])
  orderLines: [OrderLine!]! @relation(fields: ["id"], references: ["productId"])
}

type OrderLine @key(fields: "id") @table(name: "order_lines", schema: "public") {
  id: BigInt! @column(name: "id", type: "bigint")
  productId: Int! @column(name: "product_id", type: "integer")
  quantity: Int! @column(name: "quantity", type: "integer")
  placedAt: DateTime! @column(name: "placed_at", type: "timestamptz")
}
`;
