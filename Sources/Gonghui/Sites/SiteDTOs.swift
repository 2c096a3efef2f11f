import Foundation
import GonghuiCore
import Vapor

extension StaffRole {
    /// Create, change and retire sites: the federation levels and a grassroots union's own.
    var keepsSites: Bool { managesOrgs || self == .unionAdmin }
    /// Change the hours, amenities, state and phone of the sites in the account's subtree.
    var tendsSites: Bool { keepsSites || self == .stationKeeper }
}

/// The body of `POST /api/v1/sites` and `PATCH /api/v1/sites/{id}`. On create `name`, `type`,
/// `lat`, `lng`, `coord` and `orgId` are required; on update a key left out is left alone.
struct SiteInput: Decodable, Sendable {
    var name: String?
    var type: String?
    var hostKind: String?
    var hostName: String?
    var orgId: Int?
    var address: String?
    var lat: Double?
    var lng: Double?
    var coord: String?
    var hours: String?
    var phone: String?
    var amenities: [String]?
    var openToNonMembers: Bool?
    var stepFree: Bool?
    var state: String?
    var verifiedOn: String?
    var present: Set<String> = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, type, hostKind, hostName, orgId, address, lat, lng, coord, hours, phone, amenities, openToNonMembers, stepFree, state, verifiedOn
    }

    /// What a station keeper may change on a site in their subtree.
    static let keeperFields: Set<String> = ["hours", "phone", "amenities", "state", "verifiedOn"]

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func string(_ key: CodingKeys) throws -> String? {
            if let int = try? c.decodeIfPresent(Int.self, forKey: key) { return String(int) }
            return try c.decodeIfPresent(String.self, forKey: key)
        }
        /// Numbers as JSON numbers, or as text ("39.9"): spreadsheets and forms send both.
        func number(_ key: CodingKeys) throws -> Double? {
            if let d = try? c.decodeIfPresent(Double.self, forKey: key) { return d }
            guard let text = try c.decodeIfPresent(String.self, forKey: key), !text.isEmpty else { return nil }
            guard let d = Double(Normalize.identifier(text)) else {
                throw DecodingError.typeMismatch(Double.self, .init(codingPath: [key], debugDescription: "not a number"))
            }
            return d
        }
        name = try c.decodeIfPresent(String.self, forKey: .name)
        type = try c.decodeIfPresent(String.self, forKey: .type)
        hostKind = try c.decodeIfPresent(String.self, forKey: .hostKind)
        hostName = try c.decodeIfPresent(String.self, forKey: .hostName)
        orgId = try c.decodeIfPresent(Int.self, forKey: .orgId)
        address = try c.decodeIfPresent(String.self, forKey: .address)
        lat = try number(.lat)
        lng = try number(.lng)
        coord = try c.decodeIfPresent(String.self, forKey: .coord)
        hours = try c.decodeIfPresent(String.self, forKey: .hours)
        phone = try string(.phone)
        amenities = try c.decodeIfPresent([String].self, forKey: .amenities)
        openToNonMembers = try c.decodeIfPresent(Bool.self, forKey: .openToNonMembers)
        stepFree = try c.decodeIfPresent(Bool.self, forKey: .stepFree)
        state = try c.decodeIfPresent(String.self, forKey: .state)
        verifiedOn = try c.decodeIfPresent(String.self, forKey: .verifiedOn)
        present = Set(CodingKeys.allCases.filter { c.contains($0) }.map(\.rawValue))
    }

    func has(_ key: CodingKeys) -> Bool { present.contains(key.rawValue) }
}

/// `POST /api/v1/sites/{id}/exceptions`: `{"from","to"?,"hours"?,"note"?}`; no hours: closed.
struct SiteExceptionInput: Content {
    var from: String?
    var to: String?
    var hours: String?
    var note: String?
}

struct RatingInput: Content {
    var stars: Int?
    var comment: String?
}

struct SiteTypeInput: Content {
    var code: String?
    var nameZh: String?
    var nameEn: String?
    var icon: String?
}

/// One day of the weekly hours as the API answers it: `day` 1 Monday … 7 Sunday.
struct ScheduleDTO: Content {
    let day: Int
    let open: String
    let close: String
}

struct SiteExceptionDTO: Content {
    let id: Int
    let from: String
    let to: String
    /// Empty: closed.
    let hours: String
    let closed: Bool
    let note: String?
}

/// A site as `GET /api/v1/sites/{id}` answers it, in the coordinate system asked for.
struct SiteDTO: Content {
    struct NextChange: Content {
        /// The state after the change.
        let open: Bool
        /// Local time in Asia/Shanghai, `2026-11-23T20:00`.
        let at: String
    }

    let id: Int
    let name: String
    let type: String
    let typeName: String
    let hostKind: HostKind
    let hostName: String?
    let orgId: Int
    let orgName: String?
    let address: String?
    let lat: Double
    let lng: Double
    let coord: CoordinateSystem
    /// The weekly hours in the canonical text (`Mo-Fr 08:00-20:00; Sa 09:00-17:00`).
    let hours: String
    let schedule: [ScheduleDTO]
    let exceptions: [SiteExceptionDTO]
    let amenities: [String]
    let openToNonMembers: Bool
    let stepFree: Bool
    let phone: String?
    let state: SiteState
    let verifiedOn: String?
    let stale: Bool
    let openNow: Bool
    let nextChange: NextChange?
    let ratingAverage: Double?
    let ratingCount: Int
    let useCount: Int
    let updatedAt: Date?
}

struct CatalogItemDTO: Content {
    let code: String
    let name: String
    let nameZh: String
    let nameEn: String
    let icon: String
}

struct CatalogDTO: Content {
    let items: [CatalogItemDTO]
}

struct RatingResultDTO: Content {
    let ratingAverage: Double?
    let ratingCount: Int
    let useCount: Int
}

/// Sites of a node's children by type (`GET /api/v1/site-coverage`).
struct SiteCoverageDTO: Content {
    struct Row: Content {
        let orgId: Int
        let orgName: String
        let total: Int
        let open: Int
        let stale: Int
        let byType: [String: Int]
    }

    let orgId: Int
    let orgName: String
    let types: [String]
    let rows: [Row]
    let total: Row
}

/// Ratings and use of one site by month (`GET /api/v1/sites/{id}/activity`).
struct SiteActivityDTO: Content {
    struct Month: Content {
        let month: String
        let uses: Int
        let ratings: Int
        let ratingAverage: Double?
    }

    let siteId: Int
    let months: [Month]
}
