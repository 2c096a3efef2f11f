import Foundation
import GonghuiCore
import Vapor

/// An organisation as the API answers it.
struct OrgDTO: Content {
    struct Counts: Content {
        let children: Int
        let descendants: Int
        let grassroots: Int
        let staff: Int
    }

    struct Warning: Content {
        let field: String
        let code: String
        let message: String
    }

    let id: Int
    let kind: OrgKind
    let name: String
    let parentId: Int?
    let depth: Int
    let divisionCode: String?
    let creditCode: String?
    let foundedOn: String?
    let chairName: String?
    let contactName: String?
    let contactPhone: String?
    let address: String?
    let termEndsOn: String?
    let createdAt: Date?
    let updatedAt: Date?
    var counts: Counts?
    var warnings: [Warning]

    init(_ org: Organization, on request: Request, counts: Counts? = nil) {
        id = org.id ?? 0
        kind = org.kind
        name = org.name
        parentId = org.parentID
        depth = org.depth
        divisionCode = org.divisionCode
        creditCode = org.creditCode
        foundedOn = org.foundedOn
        chairName = org.chairName
        contactName = org.contactName
        contactPhone = org.contactPhone
        address = org.address
        termEndsOn = org.termEndsOn
        createdAt = org.createdAt
        updatedAt = org.updatedAt
        self.counts = counts
        warnings = org.creditCodeChecksumFails
            ? [Warning(field: "creditCode", code: "checksum", message: request.t("warning.creditCode.checksum"))]
            : []
    }
}

/// The body of `POST /api/v1/orgs` and `PATCH /api/v1/orgs/{id}`, and of the console's forms.
/// Every field is optional here; `OrgRules` says which are required. A key sent as null (or as
/// an empty string) clears the field; a key left out leaves it as it is.
struct OrgInput: Decodable, Sendable {
    var kind: String?
    var name: String?
    var parentId: Int?
    var divisionCode: String?
    var creditCode: String?
    var foundedOn: String?
    var chairName: String?
    var contactName: String?
    var contactPhone: String?
    var address: String?
    var termEndsOn: String?
    /// The keys the body named, null or not.
    var present: Set<String> = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, name, parentId, divisionCode, creditCode, foundedOn, chairName, contactName,
             contactPhone, address, termEndsOn
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        parentId = try c.decodeIfPresent(Int.self, forKey: .parentId)
        divisionCode = try c.decodeIfPresent(String.self, forKey: .divisionCode)
        creditCode = try c.decodeIfPresent(String.self, forKey: .creditCode)
        foundedOn = try c.decodeIfPresent(String.self, forKey: .foundedOn)
        chairName = try c.decodeIfPresent(String.self, forKey: .chairName)
        contactName = try c.decodeIfPresent(String.self, forKey: .contactName)
        contactPhone = try c.decodeIfPresent(String.self, forKey: .contactPhone)
        address = try c.decodeIfPresent(String.self, forKey: .address)
        termEndsOn = try c.decodeIfPresent(String.self, forKey: .termEndsOn)
        present = Set(CodingKeys.allCases.filter { c.contains($0) }.map(\.rawValue))
    }

    func has(_ key: CodingKeys) -> Bool { present.contains(key.rawValue) }
}
