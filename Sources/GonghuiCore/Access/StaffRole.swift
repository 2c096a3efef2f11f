/// The roles a staff account can hold, and what each may do inside its own subtree.
public enum StaffRole: String, CaseIterable, Codable, Sendable {
    case cityAdmin, districtStaff, streetStaff, unionAdmin, hotlineAgent, stationKeeper

    /// Higher ranks may grant the roles of lower or equal rank; only a city admin makes another.
    public var rank: Int {
        switch self {
        case .cityAdmin: 5
        case .districtStaff: 4
        case .streetStaff: 3
        case .unionAdmin: 2
        case .hotlineAgent, .stationKeeper: 1
        }
    }

    /// Create, move and delete organisations below the account's node.
    public var managesOrgs: Bool { [.cityAdmin, .districtStaff, .streetStaff].contains(self) }

    /// Edit the details (chair, contact, term) of the account's own node.
    public var editsOwnOrg: Bool { managesOrgs || self == .unionAdmin }

    /// Create, change and disable accounts in the account's subtree.
    public var managesAccounts: Bool { [.cityAdmin, .districtStaff, .streetStaff, .unionAdmin].contains(self) }

    /// Browse the audit log of the subtree.
    public var readsAudit: Bool { self == .cityAdmin || self == .districtStaff }

    public func canGrant(_ role: StaffRole) -> Bool {
        guard managesAccounts else { return false }
        if role == .cityAdmin { return self == .cityAdmin }
        return role.rank <= rank
    }

    /// The node kinds an account of this role may be bound to.
    public func fits(_ kind: OrgKind) -> Bool {
        switch self {
        case .cityAdmin: kind == .city
        case .districtStaff: kind == .district
        case .streetStaff: kind == .street
        case .unionAdmin: kind.isGrassroots
        case .hotlineAgent: kind.tier < .grassroots
        case .stationKeeper: true
        }
    }
}
