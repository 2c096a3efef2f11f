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
        /// Each site's part of the nearby answer that does not depend on the asker, as JSON.
        let fragments: [String]
        let types: [SiteType.Row]
        let amenities: [SiteType.Row]
        let typeCodes: Set<String>
        let amenityCodes: Set<String>
        let loadedAt: Date
        let version: String

        init(index: NearbyIndex, payloads: [Payload], types: [SiteType.Row], amenities: [SiteType.Row], loadedAt: Date, version: String) {
            self.version = version
            self.index = index
            self.payloads = payloads
            self.types = types
            self.amenities = amenities
            self.loadedAt = loadedAt
            typeCodes = Set(types.map(\.code))
            amenityCodes = Set(amenities.map(\.code))
            fragments = zip(index.entries, payloads).map { e, p in
                "{\"id\":\(e.id),\"name\":\(JSONText.quote(p.name)),\"type\":\(JSONText.quote(e.type)),\"amenities\":["
                    + e.amenities.map { JSONText.quote($0) }.joined(separator: ",") + "],\"address\":\(JSONText.quote(p.address))"
                    + ",\"hostKind\":\"\(p.hostKind.rawValue)\",\"hostName\":\(JSONText.quote(p.hostName)),\"state\":\"\(p.state.rawValue)\""
            }
        }
    }

    private struct State {
        var snapshot: Snapshot?
        var checkedAt = Date.distantPast
        var dirty = true
        var refreshing = false
    }

    let maxAge: TimeInterval
    private let state = NIOLockedValueBox(State())
    /// The background check, if one is running (at most one: see `refreshing`).
    private let inflight = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// Waits for a background check to end: the app's shutdown calls it before the databases close.
    func drain() async {
        if let task = inflight.withLockedValue({ $0 }) { await task.value }
    }

    struct Drain: LifecycleHandler {
        func shutdownAsync(_ application: Application) async { await application.siteFinder.drain() }
    }

    init(maxAge: TimeInterval = 30) {
        self.maxAge = maxAge
    }

    /// Call after any change to sites, their amenities, exceptions or the catalogues.
    func invalidate() {
        state.withLockedValue { $0.dirty = true }
    }

    /// The current snapshot: loaded now when missing or dirty (a write in this process). Every
    /// `maxAge` seconds a background task asks the database whether another process changed
    /// anything, and reloads only then; requests meanwhile are answered from the snapshot held.
    func snapshot(_ app: Application) async throws -> Snapshot {
        enum Plan { case use(Snapshot), load, check(Snapshot) }
        let now = Date()
        let plan: Plan = state.withLockedValue { s in
            guard let snap = s.snapshot, !s.dirty else { return .load }
            if now.timeIntervalSince(s.checkedAt) > maxAge, !s.refreshing {
                s.refreshing = true
                s.checkedAt = now
                return .check(snap)
            }
            return .use(snap)
        }
        switch plan {
        case let .use(snap):
            return snap
        case .load:
            let fresh = try await Self.load(on: app.db)
            state.withLockedValue { s in
                s.snapshot = fresh
                s.dirty = false
                s.checkedAt = Date()
            }
            return fresh
        case let .check(old):
            // The handle is taken now, while the app is surely running; shutdown waits for the task (`drain`).
            let db = app.db, logger = app.logger
            let task = Task.detached { [self] in
                defer { state.withLockedValue { $0.refreshing = false } }
                do {
                    guard try await Self.version(on: db) != old.version else { return }
                    let fresh = try await Self.load(on: db)
                    state.withLockedValue { s in if !s.dirty { s.snapshot = fresh } }
                } catch {
                    logger.warning("site finder refresh failed; answering from the snapshot held")
                }
            }
            inflight.withLockedValue { $0 = task }
            return old
        }
    }

    /// What changes when anything the finder shows changes: sites (a save touches updated_at),
    /// exceptions, the catalogues.
    static func version(on db: any Database) async throws -> String {
        let row = try await (db as! any SQLDatabase).raw("""
            SELECT (SELECT COUNT(*) FROM sites) AS a, (SELECT MAX(updated_at) FROM sites) AS b, (SELECT COUNT(*) FROM site_exceptions) AS c,
            (SELECT MAX(id) FROM site_exceptions) AS d, (SELECT COUNT(*) FROM site_types) AS e, (SELECT COUNT(*) FROM amenities) AS f
            """).first()
        guard let row else { return "" }
        let a = try row.decode(column: "a", as: Int.self), c = try row.decode(column: "c", as: Int.self)
        let b = try row.decode(column: "b", as: Date?.self), d = try row.decode(column: "d", as: Int?.self)
        let e = try row.decode(column: "e", as: Int.self), f = try row.decode(column: "f", as: Int.self)
        return "\(a)|\(b?.timeIntervalSince1970 ?? 0)|\(c)|\(d ?? 0)|\(e)|\(f)"
    }

    static func load(on db: any Database) async throws -> Snapshot {
        let sql = db as! any SQLDatabase
        // Read before the rows, so a change made during the load shows as a new version next time.
        let version = try await version(on: db)
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
        let types = try await SiteType.query(on: db).sort(\.$sortOrder).all().map(\.row)
        let amenityRows = try await Amenity.query(on: db).sort(\.$sortOrder).all().map(\.row)
        return Snapshot(index: NearbyIndex(entries), payloads: payloads, types: types, amenities: amenityRows, loadedAt: Date(), version: version)
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

/// A query string read once: `req.query[…]` decodes the whole string again for every key, which
/// on the finder's hot path cost more than the search itself.
struct QueryString: Sendable {
    private var values: [String: [String]] = [:]

    init(_ raw: String?) {
        for pair in (raw ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                guard s.contains(where: { $0 == "%" || $0 == "+" }) else { return String(s) }
                return s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            var key = decode(parts[0])
            if key.hasSuffix("[]") { key.removeLast(2) }
            values[key, default: []].append(parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The value when the key is given once and not empty.
    subscript(_ key: String) -> String? {
        guard let list = values[key], list.count == 1, let first = list.first, !first.isEmpty else { return nil }
        return first
    }

    func all(_ key: String) -> [String] { values[key] ?? [] }
    func has(_ key: String) -> Bool { values[key]?.contains { !$0.isEmpty } ?? false }
}

/// The parameters of a nearby search, from the query string, checked field by field.
struct NearbyRequest: Sendable {
    var query: NearbyIndex.Query
    var coord: CoordinateSystem
    /// False when no (valid) point was given: the query's origin is then a placeholder.
    var hasOrigin = true

    static func parse(_ req: Request, _ snap: SiteFinder.Snapshot, _ v: inout Validator, required: Bool = true) -> NearbyRequest {
        let qs = QueryString(req.url.query)
        var coord = CoordinateSystem.wgs84
        if qs.has("coord") {
            if let raw = qs["coord"], let c = CoordinateSystem(rawValue: raw.lowercased()) { coord = c } else {
                v.add("coord", "unknown", "error.field.oneOf", ["values": "wgs84, gcj02"])
            }
        }
        func number(_ name: String) -> Double? {
            guard qs.has(name) else {
                if required { v.add(name, "required") }
                return nil
            }
            guard let raw = qs[name], let d = Double(raw.trimmingCharacters(in: .whitespaces)), d.isFinite else { v.add(name, "format", "error.field.number"); return nil }
            return d
        }
        func int(_ name: String, _ range: ClosedRange<Int>) -> Int? {
            guard qs.has(name) else { return nil }
            guard let raw = qs[name], let n = Int(raw), range.contains(n) else {
                v.add(name, "range", nil, ["min": String(range.lowerBound), "max": String(range.upperBound)])
                return nil
            }
            return n
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
        q.limit = int("limit", SiteRules.nearbyLimit) ?? SiteRules.nearbyDefaultLimit
        q.radius = int("radius", SiteRules.radiusRange).map(Double.init)
        if qs.has("type") {
            if let type = qs["type"], snap.typeCodes.contains(type) { q.type = type } else {
                v.add("type", "unknown", "error.field.oneOf", ["values": snap.types.map(\.code).joined(separator: ", ")])
            }
        }
        var amenities: [String] = []
        for raw in qs.all("amenity") {
            for code in raw.split(separator: ",").map(String.init) where !code.isEmpty {
                if snap.amenityCodes.contains(code) { amenities.append(code) } else {
                    v.add("amenity", "unknown", "error.field.oneOf", ["values": snap.amenities.map(\.code).joined(separator: ", ")])
                }
            }
        }
        q.amenities = amenities
        if qs.has("openNow") {
            switch qs["openNow"]?.lowercased() {
            case "true", "1", "yes", "on": q.openNow = true
            case "false", "0", "no", "off": q.openNow = false
            default: v.add("openNow", "format", "error.field.boolean")
            }
        }
        guard let origin else { return NearbyRequest(query: q, coord: coord, hasOrigin: false) }
        q.origin = origin.wgs84(from: coord)
        return NearbyRequest(query: q, coord: coord)
    }

    /// The answer of `GET /api/v1/sites/nearby`, written straight into bytes from each site's
    /// fragment prepared with the snapshot: `{"items":[{"id","name","type","lat","lng","distanceMeters",
    /// "openNow","amenities",…}],"coord","origin"}`.
    func json(_ snap: SiteFinder.Snapshot) -> ByteBuffer {
        let hits = snap.index.nearest(query)
        var out = ByteBuffer()
        out.reserveCapacity(200 + hits.count * 320)
        out.writeStaticString("{\"items\":[")
        for (n, hit) in hits.enumerated() {
            let shown = snap.index.entries[hit.index].point.converted(to: coord)
            if n > 0 { out.writeStaticString(",") }
            out.writeString(snap.fragments[hit.index])
            out.writeString(",\"lat\":\(Self.round(shown.lat)),\"lng\":\(Self.round(shown.lng)),\"distanceMeters\":\(Int(hit.distance.rounded()))")
            out.writeStaticString(hit.openNow ? ",\"openNow\":true}" : ",\"openNow\":false}")
        }
        let o = query.origin.converted(to: coord)
        out.writeString("],\"coord\":\"\(coord.rawValue)\",\"origin\":{\"lat\":\(Self.round(o.lat)),\"lng\":\(Self.round(o.lng))}}")
        return out
    }

    /// Seven decimals: about a centimetre, and no float noise in the JSON.
    static func round(_ x: Double) -> Double { (x * 1e7).rounded() / 1e7 }
}

/// JSON string literals, for the answers written by hand.
enum JSONText {
    static func quote(_ s: String?) -> String {
        guard let s else { return "null" }
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
