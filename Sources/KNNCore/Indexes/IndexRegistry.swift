/// Every index type a job can name: adding a type is a folder under Indexes/ and one line here.
enum IndexRegistry {
    static let types: [any IndexParameters.Type] = [
        FlatParameters.self,
        TreeIndexParameters<BoxBounds>.self,
        TreeIndexParameters<BallBounds>.self,
        HNSWParameters.self,
        ForestParameters.self,
        LSHParameters.self,
        IVFParameters.self,
        IVFPQParameters.self,
        AutoParameters.self,
    ]

    static func type(named name: String) -> (any IndexParameters.Type)? {
        types.first { $0.typeName == name }
    }

    static var typeNames: [String] { types.map { $0.typeName } }
}
