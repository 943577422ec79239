/// The leaf columns of a Parquet schema, in the order their chunks appear in each row group.
///
/// The schema is a depth-first list: the root, then each field, a group followed by its
/// `children` elements. A leaf's maximum definition level counts the optional and repeated
/// fields on its path (a value is present when its level reaches it); its maximum repetition
/// level counts the repeated ones. A vector column as pandas, pyarrow, Spark and Polars write
/// `list<float>` (and Arrow's `fixed_size_list`) is a three-level list: an optional (or
/// required) group annotated LIST, holding a repeated group, holding the element.
struct ParquetLeaf {
    /// The column's top-level field name, as users know it ("embedding").
    var name: String
    /// The full path, for messages ("embedding.list.element").
    var path: [String]
    var type: ParquetMetadata.PhysicalType
    var isFloat16: Bool
    var isUnsigned: Bool
    var typeLength: Int
    var maxDefinition: Int
    var maxRepetition: Int
    /// The top-level field is a list (LIST-annotated group, or a bare repeated field).
    var isList: Bool

    var description: String {
        let kind = isFloat16 ? "FLOAT16" : type.name
        return isList ? "\"\(name)\" (list of \(kind))" : "\"\(name)\" (\(kind))"
    }

    var isFloatingPoint: Bool { type == .float || type == .double || isFloat16 }

    static func leaves(of schema: [ParquetMetadata.SchemaElement]) throws(ParquetError) -> [ParquetLeaf] {
        var leaves: [ParquetLeaf] = []
        var index = 1
        // Walks the children of the element just consumed; an explicit depth bound keeps a
        // hostile schema from exhausting the stack.
        func walk(children: Int, path: [String], definition: Int, repetition: Int, top: (name: String, isList: Bool)?, depth: Int) throws(ParquetError) {
            guard depth < 32 else { throw ParquetError("the schema nests more than 32 levels deep") }
            for _ in 0..<children {
                guard index < schema.count else { throw ParquetError("the schema lists fewer elements than its groups claim") }
                let element = schema[index]
                index += 1
                let d = definition + (element.repetition == .required ? 0 : 1)
                let r = repetition + (element.repetition == .repeated ? 1 : 0)
                let field = top ?? (element.name, element.isList || element.repetition == .repeated)
                if element.children > 0 || element.type == nil {
                    try walk(children: element.children, path: path + [element.name], definition: d, repetition: r, top: field, depth: depth + 1)
                } else if let type = element.type {
                    leaves.append(ParquetLeaf(name: field.name, path: path + [element.name], type: type, isFloat16: element.isFloat16,
                                              isUnsigned: element.isUnsigned, typeLength: element.typeLength, maxDefinition: d, maxRepetition: r, isList: field.isList))
                }
            }
        }
        try walk(children: schema[0].children, path: [], definition: 0, repetition: 0, top: nil, depth: 0)
        return leaves
    }
}
