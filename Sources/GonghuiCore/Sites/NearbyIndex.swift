import Foundation

/// The nearest-site search, in memory: a city's 12,000 sites fit in a few megabytes.
///
/// Sites sit in a grid of cells 0.01° on a side (about 1 km); a search visits rings of cells
/// outward from the asker's cell and stops once nothing outside the rings can be nearer than the
/// ones found, so a search in town looks at a few dozen sites, not all of them. Far outside the
/// grid, or when the rings would cost more than a pass over everything, it makes that one pass.
/// Candidates are ranked by an equirectangular distance (exact enough to pick them); a few more
/// than asked are kept and measured by great circle before the final order.
public struct NearbyIndex: Sendable {
    public struct Entry: Sendable {
        public let id: Int
        public let point: GeoPoint
        public let type: String
        public let amenities: [String]
        public let schedule: SiteSchedule
        /// Temporarily closed: listed, never open.
        public let closed: Bool

        public init(id: Int, point: GeoPoint, type: String, amenities: [String], schedule: SiteSchedule, closed: Bool) {
            self.id = id
            self.point = point
            self.type = type
            self.amenities = amenities
            self.schedule = schedule
            self.closed = closed
        }
    }

    public struct Query: Sendable {
        public var origin: GeoPoint
        public var limit: Int
        /// Metres; nil for no limit.
        public var radius: Double?
        public var type: String?
        /// Every one of these must be present.
        public var amenities: [String]
        public var openNow: Bool
        /// Seconds since 1970: the moment "open now" refers to.
        public var now: Double

        public init(origin: GeoPoint, limit: Int = SiteRules.nearbyDefaultLimit, radius: Double? = nil, type: String? = nil,
                    amenities: [String] = [], openNow: Bool = false, now: Double) {
            self.origin = origin
            self.limit = limit
            self.radius = radius
            self.type = type
            self.amenities = amenities
            self.openNow = openNow
            self.now = now
        }
    }

    public struct Hit: Sendable, Equatable {
        /// Position in `entries`.
        public let index: Int
        public let distance: Double
        public let openNow: Bool
    }

    public let entries: [Entry]
    // Parallel arrays for the hot loop.
    private let lats: [Double]
    private let lngs: [Double]
    private let types: [Int32]
    private let bits: [UInt64]
    private let words: Int
    private let typeCodes: [String: Int32]
    private let amenityBits: [String: Int]
    // The grid: entry indices ordered by cell, and each cell's range in that order.
    static let cell = 0.01
    private let order: [Int]
    private let cells: [Int: Range<Int>]
    private let cellBounds: (minY: Int, maxY: Int, minX: Int, maxX: Int)

    static func cellOf(lat: Double, lng: Double) -> (y: Int, x: Int) {
        (Int((lat / cell).rounded(.down)), Int((lng / cell).rounded(.down)))
    }

    static func key(_ y: Int, _ x: Int) -> Int { (y + 20_000) &* 100_000 &+ (x + 40_000) }

    public init(_ entries: [Entry]) {
        self.entries = entries
        var typeCodes: [String: Int32] = [:]
        var amenityBits: [String: Int] = [:]
        for e in entries {
            if typeCodes[e.type] == nil { typeCodes[e.type] = Int32(typeCodes.count) }
            for a in e.amenities where amenityBits[a] == nil { amenityBits[a] = amenityBits.count }
        }
        let words = max(1, (amenityBits.count + 63) / 64)
        var bits = [UInt64](repeating: 0, count: entries.count * words)
        for (i, e) in entries.enumerated() {
            for a in e.amenities {
                let b = amenityBits[a]!
                bits[i * words + b / 64] |= 1 << UInt64(b % 64)
            }
        }
        self.lats = entries.map(\.point.lat)
        self.lngs = entries.map(\.point.lng)
        self.types = entries.map { typeCodes[$0.type]! }
        self.bits = bits
        self.words = words
        self.typeCodes = typeCodes
        self.amenityBits = amenityBits
        var keyed: [(key: Int, index: Int)] = []
        keyed.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() {
            let c = Self.cellOf(lat: e.point.lat, lng: e.point.lng)
            keyed.append((Self.key(c.y, c.x), i))
        }
        keyed.sort { (a: (key: Int, index: Int), b: (key: Int, index: Int)) -> Bool in a.key < b.key || (a.key == b.key && a.index < b.index) }
        order = keyed.map { $0.index }
        var cells: [Int: Range<Int>] = [:]
        var start = 0
        for j in keyed.indices.dropFirst().map({ $0 }) + [keyed.count] where !keyed.isEmpty && (j == keyed.count || keyed[j].key != keyed[start].key) {
            cells[keyed[start].key] = start..<j
            start = j
        }
        self.cells = cells
        var b = (minY: Int.max, maxY: Int.min, minX: Int.max, maxX: Int.min)
        for e in entries {
            let c = Self.cellOf(lat: e.point.lat, lng: e.point.lng)
            b = (min(b.minY, c.y), max(b.maxY, c.y), min(b.minX, c.x), max(b.maxX, c.x))
        }
        cellBounds = b
    }

    public var count: Int { entries.count }

    /// The nearest entries that pass the filters, nearest first.
    public func nearest(_ q: Query) -> [Hit] {
        guard q.limit > 0, !entries.isEmpty else { return [] }
        var wantType: Int32 = -1
        if let type = q.type {
            guard let t = typeCodes[type] else { return [] }
            wantType = t
        }
        var mask = [UInt64](repeating: 0, count: words)
        for a in q.amenities {
            guard let b = amenityBits[a] else { return [] }
            mask[b / 64] |= 1 << UInt64(b % 64)
        }
        let needsMask = !q.amenities.isEmpty
        let (day, minute) = SiteSchedule.local(q.now)
        let lat0 = q.origin.lat, lng0 = q.origin.lng
        let k = cos(lat0 * .pi / 180)
        let metresPerDegree = GeoPoint.earthRadius * .pi / 180
        // Squared degrees-of-latitude; the radius with 1 % room for the approximation.
        let limit2 = q.radius.map { r in let d = r * 1.01 / metresPerDegree + 0.0005; return d * d } ?? .infinity
        let keep = min(entries.count, q.limit + 8)
        var best: [(d2: Double, i: Int, open: Bool)] = []
        best.reserveCapacity(keep + 1)
        var worst = limit2
        @inline(__always) func consider(_ i: Int) {
            let dy = lats[i] - lat0
            var dx = lngs[i] - lng0
            if dx > 180 { dx -= 360 } else if dx < -180 { dx += 360 }
            dx *= k
            let d2 = dx * dx + dy * dy
            if d2 >= worst { return }
            if wantType >= 0, types[i] != wantType { return }
            if needsMask {
                for w in 0..<words where bits[i * words + w] & mask[w] != mask[w] { return }
            }
            let open = !entries[i].closed && entries[i].schedule.isOpen(day: day, minute: minute)
            if q.openNow, !open { return }
            var at = best.count
            while at > 0, best[at - 1].d2 > d2 { at -= 1 }
            best.insert((d2, i, open), at: at)
            if best.count > keep { best.removeLast() }
            if best.count == keep { worst = min(limit2, best[best.count - 1].d2) }
        }
        let (cy, cx) = Self.cellOf(lat: lat0, lng: lng0)
        let reach = max(abs(cy - cellBounds.minY), abs(cellBounds.maxY - cy), abs(cx - cellBounds.minX), abs(cellBounds.maxX - cx))
        var visited = 0
        var rings = true
        var r = 0
        func visit(_ y: Int, _ x: Int) {
            visited += 1
            guard let range = cells[Self.key(y, x)] else { return }
            for j in range { consider(order[j]) }
        }
        while rings, r <= reach {
            if r == 0 { visit(cy, cx) } else {
                for x in (cx - r)...(cx + r) {
                    visit(cy - r, x)
                    visit(cy + r, x)
                }
                for y in (cy - r + 1)..<(cy + r) {
                    visit(y, cx - r)
                    visit(y, cx + r)
                }
            }
            // Nothing outside the rings is nearer than r cells (east–west shrunk by cos(latitude)).
            let bound = Double(r) * Self.cell * min(1, k)
            if bound * bound >= worst { break }
            if visited > entries.count / 2 { rings = false }
            r += 1
        }
        if !rings {
            // The rings would cost more than one pass: make it (what was found stays found).
            best.removeAll(keepingCapacity: true)
            worst = limit2
            for i in 0..<lats.count { consider(i) }
        }
        var hits = best.map { Hit(index: $0.i, distance: q.origin.distance(to: entries[$0.i].point), openNow: $0.open) }
        if let r = q.radius { hits.removeAll { $0.distance > r } }
        hits.sort { $0.distance < $1.distance || ($0.distance == $1.distance && entries[$0.index].id < entries[$1.index].id) }
        return Array(hits.prefix(q.limit))
    }
}
