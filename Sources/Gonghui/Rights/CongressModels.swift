import Fluent
import Foundation
import GonghuiCore
import Vapor

/// A workers' congress (职工代表大会) for its term, or the workers' assembly (职工大会) of a unit under
/// 100 employees, where every worker has a seat.
final class Congress: Model, @unchecked Sendable {
    static let schema = "congresses"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    /// The union that is its working body.
    @Field(key: "org_id") var orgID: Int
    /// The enterprise whose workers it represents (the union's firm); nil for a regional congress.
    @OptionalField(key: "enterprise_id") var enterpriseID: Int?
    /// `congress` or `assembly`.
    @Field(key: "kind") var kind: String
    @Field(key: "term_years") var termYears: Int
    @Field(key: "starts_on") var startsOn: String
    @Field(key: "ends_on") var endsOn: String
    /// The unit's employees when the congress was formed: the base of the 5% and 30-seat checks, and
    /// of an assembly's quorum.
    @Field(key: "employees") var employees: Int
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    var isAssembly: Bool { kind == "assembly" }
    var subject: Deadlines.Subject { .init(kind: "congress", id: id ?? 0) }
}

enum RepresentativeCategory: String, Codable, CaseIterable, Sendable {
    case frontLine, technical, managerial
}

final class CongressRepresentative: Model, @unchecked Sendable {
    static let schema = "congress_representatives"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "congress_id") var congressID: Int
    @Field(key: "member_id") var memberID: Int
    @Field(key: "category") var category: RepresentativeCategory
    /// 选区: the constituency that elected them.
    @OptionalField(key: "constituency") var constituency: String?
    @Field(key: "seated_on") var seatedOn: String
    /// Set when the seat is lost (left the constituency or the firm, recalled).
    @OptionalField(key: "left_on") var leftOn: String?

    init() {}
}

final class CongressSession: Model, @unchecked Sendable {
    static let schema = "congress_sessions"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "congress_id") var congressID: Int
    @Field(key: "held_on") var heldOn: String
    @Field(key: "present") var present: Int
    /// The seats on the day (representatives, or an assembly's workers): the base of both the
    /// two-thirds quorum and the more-than-half vote.
    @Field(key: "seated") var seated: Int
    @Field(key: "quorum") var quorum: Bool
    @OptionalField(key: "staff_id") var staffID: Int?

    init() {}

    /// Two thirds of the seats present (≥ 2/3, in integers).
    static func quorate(present: Int, seated: Int) -> Bool { seated > 0 && present * 3 >= seated * 2 }
    /// More than half of all seats for, not of those present.
    static func passes(votesFor: Int, seated: Int) -> Bool { votesFor * 2 > seated }
}

final class CongressResolution: Model, @unchecked Sendable {
    static let schema = "congress_resolutions"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "session_id") var sessionID: Int
    @Field(key: "congress_id") var congressID: Int
    @Field(key: "title") var title: String
    @Field(key: "votes_for") var votesFor: Int
    @Field(key: "votes_against") var votesAgainst: Int
    @Field(key: "votes_abstain") var votesAbstain: Int
    @Field(key: "passed") var passed: Bool
    /// Set when a collective contract's `vote` names it: one resolution passes one contract.
    @OptionalField(key: "contract_id") var contractID: Int?

    init() {}
}

/// 提案: filed by representatives, accepted (立案) or not, assigned to a department, answered, and the
/// representatives' satisfaction with the answer.
final class CongressMotion: Model, @unchecked Sendable {
    static let schema = "congress_motions"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "congress_id") var congressID: Int
    @Field(key: "title") var title: String
    @OptionalField(key: "filed_by") var filedBy: String?
    /// filed, accepted, rejected, assigned, answered
    @Field(key: "state") var state: String
    @OptionalField(key: "assigned_to") var assignedTo: String?
    @OptionalField(key: "answer") var answer: String?
    @OptionalField(key: "satisfaction") var satisfaction: Int?
    @Field(key: "filed_on") var filedOn: String
    @OptionalField(key: "answered_on") var answeredOn: String?

    init() {}
}

/// 厂务公开: one disclosure to the congress (finances, wages, safety, …), at least once a year.
final class Disclosure: Model, @unchecked Sendable {
    static let schema = "workplace_disclosures"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @OptionalField(key: "enterprise_id") var enterpriseID: Int?
    @OptionalField(key: "congress_id") var congressID: Int?
    @Field(key: "title") var title: String
    @Field(key: "disclosed_on") var disclosedOn: String
    @OptionalField(key: "staff_id") var staffID: Int?

    init() {}
}
