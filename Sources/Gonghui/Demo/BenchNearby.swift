import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// `gonghui bench-nearby [--points FILE]`: the server-side half of `scripts/bench/nearby`.
///
/// Seeds the federation tree and Beijing's 12,000 sites into the configured (empty) database, then
/// times the nearest-10 query as `/api/v1/sites/nearby` runs it (the index search alone, and the
/// search with the JSON answer it writes) for 20,000 points where workers are, a quarter of them asking "open now"
/// and a quarter an amenity. For comparison it times the same search done in SQL (a bounding box on
/// the indexed coordinates, widened until ten are found) on the same database in the same run.
/// Writes the points for wrk to `--points`.
struct BenchNearbyCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "points", help: "Where to write the query points for wrk (lat,lng per line)") var points: String?
        @Option(name: "queries", help: "How many queries to time (default 20,000)") var queries: Int?
        init() {}
    }

    var help: String { "Times the nearest-site query at Beijing scale (12,000 sites)." }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let console = context.console
        try await app.autoMigrate()
        let db = app.db
        if try await Organization.query(on: db).filter(\.$kind == .street).count() == 0 {
            _ = try await Seeder(db: db, progress: { console.info($0) }).seed(.beijing)
        }
        _ = try await SiteSeeder(db: db, progress: { console.info($0) }).seed(.beijing)
        let sites = try await Site.query(on: db).filter(\.$state != .retired).count()

        var started = DispatchTime.now().uptimeNanoseconds
        let snap = try await SiteFinder.load(on: db)
        let loadMs = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6

        // Where workers ask from: near the sites (people are where stations are), up to ~2 km away.
        var r = SiteSeeder.Stream(state: 7)
        let count = signature.queries ?? 20_000
        var queries: [NearbyRequest] = []
        queries.reserveCapacity(count)
        let now = Date().timeIntervalSince1970
        for i in 0..<count {
            let base = snap.index.entries[Int(r.next() * Double(snap.index.count))].point
            let origin = GeoPoint(lat: base.lat + (r.next() - 0.5) * 0.036, lng: base.lng + (r.next() - 0.5) * 0.047)
            var q = NearbyIndex.Query(origin: origin, limit: 10, now: now)
            if i % 4 == 1 { q.openNow = true }
            if i % 4 == 2 { q.amenities = ["microwave"] }
            queries.append(NearbyRequest(query: q, coord: .wgs84))
        }
        if let path = signature.points {
            try queries.map { String(format: "%.6f,%.6f", $0.query.origin.lat, $0.query.origin.lng) }.joined(separator: "\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }

        var found = 0
        for q in queries.prefix(1000) { found += snap.index.nearest(q.query).count + q.json(snap).readableBytes } // warm-up
        var search: [Double] = [], withJSON: [Double] = []
        search.reserveCapacity(count)
        withJSON.reserveCapacity(count)
        for q in queries {
            started = DispatchTime.now().uptimeNanoseconds
            let hits = snap.index.nearest(q.query)
            let mid = DispatchTime.now().uptimeNanoseconds
            let body = q.json(snap)
            let end = DispatchTime.now().uptimeNanoseconds
            found += hits.count + (body.readableBytes > 0 ? 1 : 0)
            search.append(Double(mid - started) / 1e6)
            withJSON.append(Double(end - mid) / 1e6) // json() makes its own search
        }
        search.sort()
        withJSON.sort()

        // The same search in SQL, for comparison: a box around the point, widened until ten are found.
        let sql = db as! any SQLDatabase
        var viaSQL: [Double] = []
        for q in queries.prefix(2000) {
            started = DispatchTime.now().uptimeNanoseconds
            var half = 0.01
            while true {
                let o = q.query.origin
                let rows = try await sql.raw("""
                    SELECT id, lat, lng FROM sites WHERE state <> 'retired' AND lat BETWEEN \(bind: o.lat - half) AND \(bind: o.lat + half)
                    AND lng BETWEEN \(bind: o.lng - half * 1.3) AND \(bind: o.lng + half * 1.3)
                    """).all()
                if rows.count >= 10 || half > 2 {
                    let ranked = try rows.map { row in o.distance(to: GeoPoint(lat: try row.decode(column: "lat", as: Double.self), lng: try row.decode(column: "lng", as: Double.self))) }
                    found += ranked.sorted().prefix(10).count
                    break
                }
                half *= 2
            }
            viaSQL.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
        }
        viaSQL.sort()
        func ms(_ x: Double) -> String { String(format: "%.3f ms", x) }
        console.print("sites in the finder: \(sites) (of 12,000 seeded; retired ones leave it); snapshot load \(String(format: "%.0f", loadMs)) ms")
        console.print("nearest-10, index search,         \(count) queries: p50 \(ms(Self.percentile(search, 0.5)))  p99 \(ms(Self.percentile(search, 0.99)))  max \(ms(search.last!))")
        console.print("nearest-10, search + JSON answer, \(count) queries: p50 \(ms(Self.percentile(withJSON, 0.5)))  p99 \(ms(Self.percentile(withJSON, 0.99)))  max \(ms(withJSON.last!))")
        console.print("for comparison, the same search in SQL (bounding box), 2000 queries: p50 \(ms(Self.percentile(viaSQL, 0.5)))  p99 \(ms(Self.percentile(viaSQL, 0.99)))")
        console.print("goal p99 < 5 ms: \(Self.percentile(withJSON, 0.99) < 5 ? "met" : "NOT met")   (checksum \(found))")
    }
}
