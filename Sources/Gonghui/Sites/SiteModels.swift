import Fluent
import Foundation
import GonghuiCore

/// A line of a catalogue kept as data (a kind of site, an amenity): a code, two names, an icon.
protocol CatalogueEntry: Model where IDValue == String {
    var nameZh: String { get set }
    var nameEn: String { get set }
    var icon: String { get set }
    var sortOrder: Int { get set }
    init()
}

extension CatalogueEntry {
    init(_ code: String, _ zh: String, _ en: String, _ icon: String, _ sort: Int) {
        self.init()
        self.id = code
        self.nameZh = zh
        self.nameEn = en
        self.icon = icon
        self.sortOrder = sort
    }

    func name(_ lang: Lang) -> String { lang == .en ? nameEn : nameZh }
    var row: SiteType.Row { SiteType.Row(id ?? "", nameZh, nameEn, icon) }
}

/// A kind of service site (工会服务站, 职工之家, 暖心驿站 …). Kinds are data: a city adds its own.
///
/// `@unchecked Sendable`: see `Organization`.
final class SiteType: CatalogueEntry, @unchecked Sendable {
    static let schema = "site_types"

    @ID(custom: "code", generatedBy: .user) var id: String?
    @Field(key: "name_zh") var nameZh: String
    @Field(key: "name_en") var nameEn: String
    /// One character or emoji shown on the finder's list and map.
    @Field(key: "icon") var icon: String
    @Field(key: "sort_order") var sortOrder: Int

    init() {}
}

/// Something a site offers (drinking water, a microwave …). Amenities are data, like types.
final class Amenity: CatalogueEntry, @unchecked Sendable {
    static let schema = "amenities"

    @ID(custom: "code", generatedBy: .user) var id: String?
    @Field(key: "name_zh") var nameZh: String
    @Field(key: "name_en") var nameEn: String
    @Field(key: "icon") var icon: String
    @Field(key: "sort_order") var sortOrder: Int

    init() {}
}

/// A service site: a union station, a workers' home, a warm-heart station in a shop …
final class Site: Model, @unchecked Sendable {
    static let schema = "sites"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "type_code") var typeCode: String
    @Field(key: "name") var name: String
    @Field(key: "host_kind") var hostKind: HostKind
    @OptionalField(key: "host_name") var hostName: String?
    /// The managing union node: what scopes the site.
    @Field(key: "org_id") var orgID: Int
    @OptionalField(key: "address") var address: String?
    /// WGS-84, as every coordinate is stored.
    @Field(key: "lat") var lat: Double
    @Field(key: "lng") var lng: Double
    /// The weekly hours in their canonical text (`WeeklyHours.text`); empty when not known.
    @Field(key: "hours") var hours: String
    @OptionalField(key: "phone") var phone: String?
    @Field(key: "open_to_non_members") var openToNonMembers: Bool
    @Field(key: "step_free") var stepFree: Bool
    @Field(key: "state") var state: SiteState
    /// `YYYY-MM-DD`, the day someone last confirmed the facts on the spot.
    @OptionalField(key: "verified_on") var verifiedOn: String?
    // Counts kept as ratings and uses arrive, so lists never count per row.
    @Field(key: "rating_count") var ratingCount: Int
    @Field(key: "rating_sum") var ratingSum: Int
    @Field(key: "use_count") var useCount: Int
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }

    var point: GeoPoint { GeoPoint(lat: lat, lng: lng) }
    var weekly: WeeklyHours { (try? WeeklyHours(parsing: hours)) ?? WeeklyHours() }
    var verifiedDate: CalendarDate? { verifiedOn.flatMap { try? CalendarDate(parsing: $0) } }
    var ratingAverage: Double? { ratingCount == 0 ? nil : (Double(ratingSum) / Double(ratingCount) * 10).rounded() / 10 }
}

final class SiteAmenity: Model, @unchecked Sendable {
    static let schema = "site_amenities"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "site_id") var siteID: Int
    @Field(key: "amenity_code") var amenityCode: String

    init() {}

    init(siteID: Int, code: String) {
        self.siteID = siteID
        self.amenityCode = code
    }
}

/// Different hours on some dates: a public holiday, a closure for repairs, short hours.
final class SiteException: Model, @unchecked Sendable {
    static let schema = "site_exceptions"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "site_id") var siteID: Int
    @Field(key: "from_on") var fromOn: String
    @Field(key: "to_on") var toOn: String
    /// The openings in `WeeklyHours` day text (`09:00-12:00`); empty: closed all day.
    @Field(key: "hours") var hours: String
    @OptionalField(key: "note") var note: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    var rule: HoursException? {
        guard let from = try? CalendarDate(parsing: fromOn), let to = try? CalendarDate(parsing: toOn) else { return nil }
        let openings = hours.isEmpty ? [] : ((try? WeeklyHours(parsing: "Mo " + hours))?.days[0] ?? [])
        return HoursException(from: from, to: to, openings: openings)
    }
}

/// A worker's 1–5 rating, with an optional comment. No personal data is kept with it.
final class SiteRating: Model, @unchecked Sendable {
    static let schema = "site_ratings"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "site_id") var siteID: Int
    @Field(key: "stars") var stars: Int
    @OptionalField(key: "comment") var comment: String?
    @Field(key: "at") var at: Date

    init() {}
}

/// "I used this station": one row per use, so use can be counted by month.
final class SiteUse: Model, @unchecked Sendable {
    static let schema = "site_uses"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "site_id") var siteID: Int
    @Field(key: "at") var at: Date

    init() {}
}

struct CreateSites: AsyncMigration {
    static let defaultTypes: [SiteType] = [
        .init("union-station", "工会服务站", "Union service station", "🏛", 1),
        .init("workers-home", "职工之家", "Workers' home", "🏠", 2),
        .init("warm-station", "户外劳动者暖心驿站", "Outdoor workers' warm-heart station", "☕", 3),
        .init("public-home", "公共区域职工之家", "Public-area workers' home", "🏢", 4),
        .init("mother-baby", "母婴关爱室", "Mother-and-baby room", "🍼", 5),
        .init("child-care", "子女托管班", "Children's care class", "🧒", 6),
        .init("reading-room", "职工书屋", "Workers' reading room", "📚", 7),
    ]

    static let defaultAmenities: [Amenity] = [
        .init("water", "饮用水", "Drinking water", "💧", 1),
        .init("microwave", "微波炉", "Microwave", "♨️", 2),
        .init("charging", "手机充电", "Phone charging", "🔌", 3),
        .init("toilet", "卫生间", "Toilet", "🚻", 4),
        .init("seating", "休息座椅", "Seating", "🪑", 5),
        .init("wifi", "无线网络", "Wi-Fi", "📶", 6),
        .init("sewing-kit", "针线包", "Sewing kit", "🧵", 7),
        .init("umbrella", "爱心雨伞", "Umbrella", "☂️", 8),
        .init("first-aid", "急救药箱", "First aid", "🩹", 9),
        .init("bp-meter", "血压计", "Blood-pressure meter", "🩺", 10),
        .init("glucose-meter", "血糖仪", "Glucose meter", "🩸", 11),
        .init("heatstroke", "防暑药品", "Heatstroke medicine", "🌡️", 12),
        .init("raincoat", "雨衣", "Raincoat", "🧥", 13),
        .init("heating", "取暖", "Warmth in winter", "🔥", 14),
        .init("air-conditioning", "空调纳凉", "Air-conditioning", "❄️", 15),
        .init("tyre-pump", "打气筒", "Tyre pump", "🛠️", 16),
        .init("nursing", "哺乳区", "Nursing area", "🤱", 17),
        .init("books", "图书", "Books", "📖", 18),
    ]

    func prepare(on database: any Database) async throws {
        try await database.schema(SiteType.schema)
            .field("code", .string, .identifier(auto: false))
            .field("name_zh", .string, .required)
            .field("name_en", .string, .required)
            .field("icon", .string, .required)
            .field("sort_order", .int64, .required)
            .create()
        for t in Self.defaultTypes { try await SiteType(t.id!, t.nameZh, t.nameEn, t.icon, t.sortOrder).create(on: database) }

        try await database.schema(Amenity.schema)
            .field("code", .string, .identifier(auto: false))
            .field("name_zh", .string, .required)
            .field("name_en", .string, .required)
            .field("icon", .string, .required)
            .field("sort_order", .int64, .required)
            .create()
        for a in Self.defaultAmenities { try await Amenity(a.id!, a.nameZh, a.nameEn, a.icon, a.sortOrder).create(on: database) }

        try await database.schema(Site.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("type_code", .string, .required, .references(SiteType.schema, "code"))
            .field("name", .string, .required)
            .field("host_kind", .string, .required)
            .field("host_name", .string)
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("address", .string)
            .field("lat", .double, .required)
            .field("lng", .double, .required)
            .field("hours", .string, .required)
            .field("phone", .string)
            .field("open_to_non_members", .bool, .required)
            .field("step_free", .bool, .required)
            .field("state", .string, .required)
            .field("verified_on", .string)
            .field("rating_count", .int64, .required)
            .field("rating_sum", .int64, .required)
            .field("use_count", .int64, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.createIndex("ix_sites_org", on: Site.schema, ["org_id", "state"])
        try await database.createIndex("ix_sites_name", on: Site.schema, ["name"])
        try await database.createIndex("ix_sites_verified", on: Site.schema, ["verified_on"])
        try await database.createIndex("ix_sites_lat", on: Site.schema, ["lat", "lng"])

        try await database.schema(SiteAmenity.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("site_id", .int64, .required, .references(Site.schema, "id"))
            .field("amenity_code", .string, .required, .references(Amenity.schema, "code"))
            .unique(on: "site_id", "amenity_code", name: "uq_site_amenity")
            .create()
        try await database.createIndex("ix_site_amenities_code", on: SiteAmenity.schema, ["amenity_code", "site_id"])

        try await database.schema(SiteException.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("site_id", .int64, .required, .references(Site.schema, "id"))
            .field("from_on", .string, .required)
            .field("to_on", .string, .required)
            .field("hours", .string, .required)
            .field("note", .string)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_site_exceptions", on: SiteException.schema, ["site_id", "to_on"])

        try await database.schema(SiteRating.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("site_id", .int64, .required, .references(Site.schema, "id"))
            .field("stars", .int64, .required)
            .field("comment", .string)
            .field("at", .datetime, .required)
            .create()
        try await database.createIndex("ix_site_ratings", on: SiteRating.schema, ["site_id", "at"])

        try await database.schema(SiteUse.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("site_id", .int64, .required, .references(Site.schema, "id"))
            .field("at", .datetime, .required)
            .create()
        try await database.createIndex("ix_site_uses", on: SiteUse.schema, ["site_id", "at"])
    }

    func revert(on database: any Database) async throws {
        for table in [SiteUse.schema, SiteRating.schema, SiteException.schema, SiteAmenity.schema, Site.schema, Amenity.schema, SiteType.schema] {
            try await database.schema(table).delete()
        }
    }
}
