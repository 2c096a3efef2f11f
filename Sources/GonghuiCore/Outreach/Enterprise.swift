/// The ledger of legal entities (法人单位台账) that unions reach: how each is described, and how far
/// it has come towards a union of its own.

/// The kind of legal entity, as the ledger and the statistics count them.
public enum EnterpriseType: String, CaseIterable, Codable, Sendable {
    case stateOwned, privateOwned, foreignInvested, hkMacaoTaiwan, individualBusiness, publicInstitution, socialOrganisation
}

/// Size by headcount (大型 / 中型 / 小型 / 微型), with the thresholds of the industrial standard
/// (工信部联企业〔2011〕300号: 1,000 / 300 / 20 employees). Staff may set it by hand where
/// turnover puts a firm in another class.
public enum EnterpriseSize: String, CaseIterable, Codable, Sendable {
    case large, medium, small, micro

    public init(headcount: Int) {
        switch headcount {
        case 1000...: self = .large
        case 300..<1000: self = .medium
        case 20..<300: self = .small
        default: self = .micro
        }
    }
}

/// The twenty sections of GB/T 4754-2017 (国民经济行业分类), A to T.
public enum IndustrySection: String, CaseIterable, Codable, Sendable {
    case A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T
}

/// How much a firm matters to the district (重点 / 一般).
public enum SocialInfluence: String, CaseIterable, Codable, Sendable {
    case key, ordinary
}

/// The state of labour relations (劳动关系状况).
public enum LabourRelations: String, CaseIterable, Codable, Sendable {
    case stable, atRisk, dispute
}

/// How far a firm has come towards its own union (建会状态).
public enum UnionStatus: String, CaseIterable, Codable, Sendable {
    case none, contacted, intent, founding, founded, standard

    /// A legal entity covered by a union: the numerator of the unionisation rate (建会率).
    public var isCovered: Bool { self == .founded || self == .standard }

    public static let coveredStatuses: [UnionStatus] = allCases.filter(\.isCovered)
    public static let uncoveredStatuses: [UnionStatus] = allCases.filter { !$0.isCovered }
}

/// The unionisation rate: covered legal entities over all, as a percentage with one decimal.
public struct CoverageRate: Equatable, Sendable {
    public let covered: Int
    public let total: Int

    public init(covered: Int, total: Int) {
        self.covered = covered
        self.total = total
    }

    /// nil when there is nothing to count (no firm in the ledger is not 0 %).
    public var percent: Double? {
        guard total > 0 else { return nil }
        return (Double(covered) * 1000 / Double(total)).rounded() / 10
    }
}
