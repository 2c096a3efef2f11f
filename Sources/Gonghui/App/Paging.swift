import Vapor

/// `?page=&per=` on every list, checked: a page past the end is simply empty.
struct PageRequest: Sendable {
    let page: Int
    let per: Int

    static let maxPer = 200

    init(page: Int = 1, per: Int = 50) {
        self.page = page
        self.per = per
    }

    init(from request: Request, defaultPer: Int = 50) throws {
        var validator = Validator()
        self.init(from: request, defaultPer: defaultPer, &validator)
        try validator.check()
    }

    /// Reads the paging parameters, adding their problems to the caller's other query problems.
    init(from request: Request, defaultPer: Int = 50, _ validator: inout Validator) {
        let page = Self.int(request, "page", default: 1, range: 1...1_000_000, &validator)
        let per = Self.int(request, "per", default: defaultPer, range: 1...Self.maxPer, &validator)
        self.init(page: page, per: per)
    }

    var offset: Int { (page - 1) * per }

    /// Reads an optional integer query parameter, reporting text and out-of-range values by name.
    static func int(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>, _ validator: inout Validator) -> Int {
        guard let raw = request.query[String.self, at: name], !raw.isEmpty else { return value }
        guard let number = Int(raw), range.contains(number) else {
            validator.add(name, "range", nil, ["min": String(range.lowerBound), "max": String(range.upperBound)])
            return value
        }
        return number
    }
}

/// A page of results as the API answers it.
struct Paged<Item: Content>: Content {
    let items: [Item]
    let page: Int
    let per: Int
    let total: Int
    /// Lists read by key (the roster): `?after=` this for the next page; absent on the last.
    var nextAfter: Int? = nil
}

extension Request {
    /// An optional positive integer query parameter such as `parentId`; text is a 422 naming it.
    func optionalID(_ name: String, _ validator: inout Validator) -> Int? {
        guard let raw = query[String.self, at: name], !raw.isEmpty else { return nil }
        guard let id = Int(raw), id > 0 else {
            validator.add(name, "format")
            return nil
        }
        return id
    }

    /// The `{id}` in the path: anything but a positive integer is simply not found.
    func idParameter(_ name: String = "id") throws -> Int {
        guard let raw = parameters.get(name), let id = Int(raw), id > 0 else { throw AppError.notFound }
        return id
    }
}
