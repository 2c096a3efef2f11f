/// The kinds of node in the federation tree (三级服务体系) and which may sit under which.
public enum OrgKind: String, CaseIterable, Codable, Sendable {
    case city, district, street, enterprise, community, building, industry, other

    public enum Tier: Int, Comparable, Sendable {
        case city = 0, district, street, grassroots
        public static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var tier: Tier {
        switch self {
        case .city: .city
        case .district: .district
        case .street: .street
        case .enterprise, .community, .building, .industry, .other: .grassroots
        }
    }

    public var isGrassroots: Bool { tier == .grassroots }

    /// Every kind of grassroots union, for queries that want "the unions".
    public static let grassrootsKinds: [OrgKind] = allCases.filter(\.isGrassroots)

    /// Federations of unions (a building's, an industry's, a community's) hold grassroots unions;
    /// an enterprise union or an "other" union holds none.
    public var holdsUnions: Bool {
        switch self {
        case .city, .district, .street, .building, .industry, .community: true
        case .enterprise, .other: false
        }
    }

    /// Whether a node of this kind may sit under a node of `parent` kind (nil: the root).
    public func canSit(under parent: OrgKind?) -> Bool {
        switch (self, parent) {
        case (.city, nil): true
        case (.district, .city?): true
        case (.street, .district?): true
        case (_, let parent?) where isGrassroots: parent.holdsUnions
        default: false
        }
    }
}
