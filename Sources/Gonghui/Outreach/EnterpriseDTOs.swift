import Foundation
import GonghuiCore
import Vapor

extension StaffRole {
    /// Keep the enterprise ledger and the meetings: the city, district and street federations.
    var keepsLedger: Bool { managesOrgs }
    /// Read the ledger: its keepers, and hotline agents looking up a caller's employer.
    var readsLedger: Bool { keepsLedger || self == .hotlineAgent }
}

/// The body of `POST /api/v1/enterprises` and `PATCH /api/v1/enterprises/{id}`, and of the console's
/// form. On create `creditCode`, `name`, `orgId` and `headcount` are required; on update a key left
/// out is left alone and a key sent as null or "" clears an optional field.
struct EnterpriseInput: Decodable, Sendable {
    var creditCode: String?
    var name: String?
    var type: String?
    var size: String?
    var headcount: Int?
    var industry: String?
    var orgId: Int?
    var address: String?
    var lat: Double?
    var lng: Double?
    var influence: String?
    var relations: String?
    var unionStatus: String?
    var unionOrgId: Int?
    var contactName: String?
    var contactPhone: String?
    var nextStep: String?
    var nextStepOn: String?
    var ownerStaffId: Int?
    var present: Set<String> = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case creditCode, name, type, size, headcount, industry, orgId, address, lat, lng, influence, relations,
             unionStatus, unionOrgId, contactName, contactPhone, nextStep, nextStepOn, ownerStaffId
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func string(_ key: CodingKeys) throws -> String? {
            // A number where text is expected (a credit code typed as digits) is read as text.
            if let int = try? c.decodeIfPresent(Int.self, forKey: key) { return String(int) }
            return try c.decodeIfPresent(String.self, forKey: key)
        }
        creditCode = try string(.creditCode)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        type = try c.decodeIfPresent(String.self, forKey: .type)
        size = try c.decodeIfPresent(String.self, forKey: .size)
        headcount = try c.decodeIfPresent(Int.self, forKey: .headcount)
        industry = try c.decodeIfPresent(String.self, forKey: .industry)
        orgId = try c.decodeIfPresent(Int.self, forKey: .orgId)
        address = try c.decodeIfPresent(String.self, forKey: .address)
        lat = try c.decodeIfPresent(Double.self, forKey: .lat)
        lng = try c.decodeIfPresent(Double.self, forKey: .lng)
        influence = try c.decodeIfPresent(String.self, forKey: .influence)
        relations = try c.decodeIfPresent(String.self, forKey: .relations)
        unionStatus = try c.decodeIfPresent(String.self, forKey: .unionStatus)
        unionOrgId = try c.decodeIfPresent(Int.self, forKey: .unionOrgId)
        contactName = try c.decodeIfPresent(String.self, forKey: .contactName)
        contactPhone = try string(.contactPhone)
        nextStep = try c.decodeIfPresent(String.self, forKey: .nextStep)
        nextStepOn = try c.decodeIfPresent(String.self, forKey: .nextStepOn)
        ownerStaffId = try c.decodeIfPresent(Int.self, forKey: .ownerStaffId)
        present = Set(CodingKeys.allCases.filter { c.contains($0) }.map(\.rawValue))
    }

    func has(_ key: CodingKeys) -> Bool { present.contains(key.rawValue) }
}

/// An enterprise as the API answers it.
struct EnterpriseDTO: Content {
    struct Contact: Content {
        let id: Int
        let kind: String
        let note: String?
        let fromStatus: String?
        let toStatus: String?
        let meetingId: Int?
        let staffName: String?
        let at: Date
    }

    struct Election: Content {
        let heldOn: String
        let voters: Int
        let votesCast: Int
        let chairName: String
        let chairVotes: Int?
        let committee: [String]
        let termEndsOn: String
        let unionOrgId: Int
    }

    let id: Int
    let creditCode: String
    let name: String
    let type: EnterpriseType
    let size: EnterpriseSize
    let headcount: Int
    let industry: IndustrySection?
    let orgId: Int
    let orgName: String?
    let address: String?
    let lat: Double?
    let lng: Double?
    let influence: SocialInfluence
    let relations: LabourRelations
    let unionStatus: UnionStatus
    let unionOrgId: Int?
    let contactName: String?
    let contactPhone: String?
    let nextStep: String?
    let nextStepOn: String?
    let ownerStaffId: Int?
    let lastContactAt: Date?
    let stale: Bool
    let createdAt: Date?
    let updatedAt: Date?
    var warnings: [OrgDTO.Warning]
    var contacts: [Contact]?
    var election: Election?

    init(_ e: Enterprise, orgName: String?, request: Request) {
        id = e.id ?? 0
        creditCode = e.creditCode
        name = e.name
        type = e.type
        size = e.size
        headcount = e.headcount
        industry = e.industry
        orgId = e.orgID
        self.orgName = orgName
        address = e.address
        lat = e.lat
        lng = e.lng
        influence = e.influence
        relations = e.relations
        unionStatus = e.unionStatus
        unionOrgId = e.unionOrgID
        contactName = e.contactName
        contactPhone = e.contactPhone
        nextStep = e.nextStep
        nextStepOn = e.nextStepOn
        ownerStaffId = e.ownerStaffID
        lastContactAt = e.lastContactAt
        stale = e.isStale()
        createdAt = e.createdAt
        updatedAt = e.updatedAt
        let checksumFails = (try? CreditCode(parsing: e.creditCode)).map { !$0.checksumValid } ?? false
        warnings = checksumFails ? [.init(field: "creditCode", code: "checksum", message: request.t("warning.creditCode.checksum"))] : []
    }
}

/// `POST /api/v1/enterprises/{id}/contacts`: a visit, a call or a note on the timeline.
struct ContactInput: Content {
    var kind: String?
    var note: String?
    /// When it happened (ISO 8601); now when left out.
    var at: String?
}

/// `POST /api/v1/enterprises/{id}/founding`: the democratic election that founds the union.
struct FoundingInput: Content {
    var heldOn: String?
    var voters: Int?
    var votesCast: Int?
    var chairName: String?
    var chairVotes: Int?
    var committee: [String]?
    var termEndsOn: String?
    /// The new union's name; "<enterprise>工会" when left out.
    var unionName: String?
    /// Where the union sits: the enterprise's street when left out (or a federation of unions below it).
    var parentOrgId: Int?
}

struct FoundingResult: Content {
    let enterpriseId: Int
    let unionOrgId: Int
    let unionStatus: UnionStatus
}

/// The unionisation rate of a node and of each of its children.
struct CoverageDTO: Content {
    struct Row: Content {
        let orgId: Int
        let name: String
        let total: Int
        let covered: Int
        let rate: Double?
    }

    let orgId: Int
    let name: String
    let total: Int
    let covered: Int
    let rate: Double?
    let stale: Int
    let byStatus: [String: Int]
    let rows: [Row]
}
