import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import NIOConcurrencyHelpers
import Vapor

/// The public finder's view of every site that is not retired, held in memory and answered by
/// `NearbyIndex`. A write in this process marks it dirty (the next request reloads it); writes
/// from other processes sharing a PostgreSQL database show within `maxAge` seconds.
final class SiteFinder: Sendable {
    struct Payload: Sendable {
        let name: String
        let address: String?
        let hostKind: HostKind
        let hostName: String?
        let state: SiteState
    }

    struct Snapshot: Sendable {
        let index: NearbyIndex
        let payloads: [Payload]
        let types: [SiteType.Row]
        let amenities: [SiteType.Row]
        let loadedAt: Date

        var typeCodes: Set<String> { Set(types.map(\.code)) }
        var amenityCodes: Set<String> { Set(amenities.map(\.code)) }
    }

    private struct State {
        var snapshot: Snapshot?
        var dirty = true
        var refreshing = false
    }

    let maxAge: TimeInterval
    private let state = NIOLockedValueBox(State())

    init(maxAge: TimeInterval = 30) {
        self.maxAge = maxAge
    }

    /// Call after any change to sites, their amenities, exceptions or the catalogues.
    func invalidate() {
        state.withLockedValue { $0.dirty = true }
    }

    /// The current snapshot: loaded now when missing or dirty; when merely old, the old one is
    /// answered while one request reloads it.
    func snapshot(on db: any Database, logger: Logger) async throws -> Snapshot {
        enum Plan { case use(Snapshot), load, refresh(Snapshot) }
        let plan: Plan = state.withLockedValue { s in
            guard let snap = s.snapshot, !s.dirty else { return .load }
            if Date().timeIntervalSince(snap.loadedAt) > maxAge, !s.refreshing {
                s.refreshing = true
                return .refresh(snap)
            }
            return .use(snap)
        }
        switch plan {
        case let .use(snap):
            return snap
        case .load:
            let fresh = try await Self.load(on: db)
            state.withLockedValue { s in
                s.snapshot = fresh
                s.dirty = false
            }
            return fresh
        case let .refresh(old):
            defer { state.withLockedValue { $0.refreshing = false } }
            do {
                let fresh = try await Self.load(on: db)
                state.withLockedValue { s in if !s.dirty { s.snapshot = fresh } }
                return fresh
            } catch {
                logger.warning("site finder refresh failed; answering from the previous snapshot")
                return old
            }
        }
    }

    static func load(on db: any Database) async throws -> Snapshot {
        let sql = db as! any SQLDatabase
        let today = ShanghaiClock.today().adding(days: -1).description
        struct SiteRow: Decodable {
            let id: Int
            let type_code: String
            let name: String
            let host_kind: String
            let host_name: String?
            let address: String?
            let lat: Double
            let lng: Double
            let hours: String
            let state: String
        }
        struct AmenityRow: Decodable {
            let site_id: Int
            let amenity_code: String
        }
        let sites = try await sql.raw("""
            SELECT id, type_code, name, host_kind, host_name, address, lat, lng, hours, state FROM sites
            WHERE state <> 'retired' ORDER BY id
            """).all(decoding: SiteRow.self)
        var amenities: [Int: [String]] = [:]
        // In the catalogue's order, as pages list them.
        for row in try await sql.raw("""
            SELECT a.site_id, a.amenity_code FROM site_amenities a JOIN sites s ON s.id = a.site_id JOIN amenities c ON c.code = a.amenity_code
            WHERE s.state <> 'retired' ORDER BY a.site_id, c.sort_order
            """).all(decoding: AmenityRow.self) {
            amenities[row.site_id, default: []].append(row.amenity_code)
        }
        var exceptions: [Int: [HoursException]] = [:]
        for e in try await SiteException.query(on: db).filter(\.$toOn >= today).sort(\.$id).all() {
            if let rule = e.rule { exceptions[e.siteID, default: []].append(rule) }
        }
        var entries: [NearbyIndex.Entry] = []
        var payloads: [Payload] = []
        entries.reserveCapacity(sites.count)
        payloads.reserveCapacity(sites.count)
        var parsed: [String: WeeklyHours] = [:]
        for s in sites {
            let weekly = parsed[s.hours] ?? ((try? WeeklyHours(parsing: s.hours)) ?? WeeklyHours())
            parsed[s.hours] = weekly
            let state = SiteState(rawValue: s.state) ?? .open
            entries.append(.init(id: s.id, point: GeoPoint(lat: s.lat, lng: s.lng), type: s.type_code, amenities: amenities[s.id] ?? [],
                                 schedule: SiteSchedule(weekly: weekly, exceptions: exceptions[s.id] ?? []), closed: state != .open))
            payloads.append(Payload(name: s.name, address: s.address, hostKind: HostKind(rawValue: s.host_kind) ?? .other,
                                    hostName: s.host_name, state: state))
        }
        let types = try await SiteType.query(on: db).sort(\.$sortOrder).all().map { SiteType.Row($0.id ?? "", $0.nameZh, $0.nameEn, $0.icon) }
        let amenityRows = try await Amenity.query(on: db).sort(\.$sortOrder).all().map { SiteType.Row($0.id ?? "", $0.nameZh, $0.nameEn, $0.icon) }
        return Snapshot(index: NearbyIndex(entries), payloads: payloads, types: types, amenities: amenityRows, loadedAt: Date())
    }
}

extension SiteType {
    /// A catalogue line (a type or an amenity) as the finder keeps it.
    struct Row: Sendable {
        let code: String
        let nameZh: String
        let nameEn: String
        let icon: String

        init(_ code: String, _ zh: String, _ en: String, _ icon: String) {
            self.code = code
            self.nameZh = zh
            self.nameEn = en
            self.icon = icon
        }

        func name(_ lang: Lang) -> String { lang == .en ? nameEn : nameZh }
        func dto(_ lang: Lang) -> CatalogItemDTO { CatalogItemDTO(code: code, name: name(lang), nameZh: nameZh, nameEn: nameEn, icon: icon) }
    }
}

extension Application {
    private struct SiteFinderKey: StorageKey { typealias Value = SiteFinder }

    var siteFinder: SiteFinder {
        if let finder = storage[SiteFinderKey.self] { return finder }
        let finder = SiteFinder()
        storage[SiteFinderKey.self] = finder
        return finder
    }
}

/// The parameters of a nearby search, from the query string, checked field by field.
struct NearbyRequest: Sendable {
    var query: NearbyIndex.Query
    var coord: CoordinateSystem
    /// False when no (valid) point was given: the query's origin is then a placeholder.
    var hasOrigin = true

    static func parse(_ req: Request, _ snap: SiteFinder.Snapshot, _ v: inout Validator, required: Bool = true) -> NearbyRequest {
        var coord = CoordinateSystem.wgs84
        if let raw = req.query[String.self, at: "coord"], !raw.isEmpty {
            if let c = CoordinateSystem(rawValue: raw.lowercased()) { coord = c } else {
                v.add("coord", "unknown", "error.field.oneOf", ["values": "wgs84, gcj02"])
            }
        }
        func number(_ name: String) -> Double? {
            guard let raw = req.query[String.self, at: name], !raw.isEmpty else {
                if required { v.add(name, "required") }
                return nil
            }
            guard let d = Double(raw.trimmingCharacters(in: .whitespaces)), d.isFinite else { v.add(name, "format", "error.field.number"); return nil }
            return d
        }
        let lat = number("lat"), lng = number("lng")
        var origin: GeoPoint?
        if let lat, let lng {
            do { origin = try GeoPoint(checkingLat: lat, lng: lng) } catch {
                switch error {
                case .latitude: v.add("lat", "range", "error.field.lat")
                case .longitude: v.add("lng", "range", "error.field.lng")
                }
            }
        }
        var q = NearbyIndex.Query(origin: GeoPoint(lat: 0, lng: 0), now: Date().timeIntervalSince1970)
        if req.query[String.self, at: "limit"].map({ !$0.isEmpty }) == true {
            q.limit = PageRequest.int(req, "limit", default: SiteRules.nearbyDefaultLimit, range: SiteRules.nearbyLimit, &v)
        }
        if req.query[String.self, at: "radius"].map({ !$0.isEmpty }) == true {
            q.radius = Double(PageRequest.int(req, "radius", default: 5000, range: SiteRules.radiusRange, &v))
        }
        if let type = req.query[String.self, at: "type"], !type.isEmpty {
            if snap.typeCodes.contains(type) { q.type = type } else {
                v.add("type", "unknown", "error.field.oneOf", ["values": snap.types.map(\.code).joined(separator: ", ")])
            }
        }
        var amenities: [String] = []
        for raw in req.query[[String].self, at: "amenity"] ?? [] {
            for code in raw.split(separator: ",").map(String.init) where !code.isEmpty {
                if snap.amenityCodes.contains(code) { amenities.append(code) } else {
                    v.add("amenity", "unknown", "error.field.oneOf", ["values": snap.amenities.map(\.code).joined(separator: ", ")])
                }
            }
        }
        q.amenities = amenities
        if let raw = req.query[String.self, at: "openNow"], !raw.isEmpty {
            switch raw.lowercased() {
            case "true", "1", "yes", "on": q.openNow = true
            case "false", "0", "no", "off": q.openNow = false
            default: v.add("openNow", "format", "error.field.boolean")
            }
        }
        guard let origin else { return NearbyRequest(query: q, coord: coord, hasOrigin: false) }
        q.origin = origin.wgs84(from: coord)
        return NearbyRequest(query: q, coord: coord)
    }

    func answer(_ snap: SiteFinder.Snapshot) -> NearbyDTO {
        let hits = snap.index.nearest(query)
        let items = hits.map { hit -> NearbyItemDTO in
            let e = snap.index.entries[hit.index], p = snap.payloads[hit.index]
            let shown = e.point.converted(to: coord)
            return NearbyItemDTO(id: e.id, name: p.name, type: e.type, lat: Self.round(shown.lat), lng: Self.round(shown.lng),
                                 distanceMeters: Int(hit.distance.rounded()), openNow: hit.openNow, amenities: e.amenities,
                                 address: p.address, hostKind: p.hostKind, hostName: p.hostName, state: p.state)
        }
        let o = query.origin.converted(to: coord)
        return NearbyDTO(items: items, coord: coord, origin: .init(lat: Self.round(o.lat), lng: Self.round(o.lng)))
    }

    /// Seven decimals: about a centimetre, and no float noise in the JSON.
    static func round(_ x: Double) -> Double { (x * 1e7).rounded() / 1e7 }
}
