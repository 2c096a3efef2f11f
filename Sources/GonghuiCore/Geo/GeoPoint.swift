import Foundation

/// The coordinate systems a point can arrive in. GPS and browsers give WGS-84; Amap, Tencent and
/// Apple Maps in China draw in GCJ-02 (国测局坐标), offset from WGS-84 by up to several hundred metres.
public enum CoordinateSystem: String, CaseIterable, Codable, Sendable {
    case wgs84, gcj02
}

/// A point on the earth in degrees. The platform stores WGS-84 and converts at the edges.
public struct GeoPoint: Hashable, Sendable, CustomStringConvertible {
    public let lat: Double
    public let lng: Double

    public enum RangeError: Error, Equatable, Sendable {
        /// The latitude is not a number in -90…90.
        case latitude
        /// The longitude is not a number in -180…180.
        case longitude
    }

    public init(lat: Double, lng: Double) {
        self.lat = lat
        self.lng = lng
    }

    /// A point only when both numbers are finite and in range: the field at fault is named.
    public init(checkingLat lat: Double, lng: Double) throws(RangeError) {
        guard lat.isFinite, (-90...90).contains(lat) else { throw .latitude }
        guard lng.isFinite, (-180...180).contains(lng) else { throw .longitude }
        self.init(lat: lat, lng: lng)
    }

    public var description: String { String(format: "%.6f,%.6f", lat, lng) }

    /// Mean earth radius (IUGG), metres.
    public static let earthRadius = 6_371_008.8

    /// Great-circle distance in metres (haversine): exact enough for "the nearest station".
    public func distance(to other: GeoPoint) -> Double {
        let p1 = lat * .pi / 180, p2 = other.lat * .pi / 180
        let dp = p2 - p1, dl = (other.lng - lng) * .pi / 180
        let a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2)
        return 2 * Self.earthRadius * asin(min(1, sqrt(a)))
    }

    /// The point in `system`, from WGS-84.
    public func converted(to system: CoordinateSystem) -> GeoPoint {
        switch system {
        case .wgs84: self
        case .gcj02: GCJ02.fromWGS84(self)
        }
    }

    /// The WGS-84 point for a point given in `system`.
    public func wgs84(from system: CoordinateSystem) -> GeoPoint {
        switch system {
        case .wgs84: self
        case .gcj02: GCJ02.toWGS84(self)
        }
    }
}

/// The published GCJ-02 transformation (the constants of the Krasovsky ellipsoid the standard
/// uses) and its inverse by fixed-point iteration, which has no closed form.
public enum GCJ02 {
    static let a = 6_378_245.0
    static let ee = 0.006_693_421_622_965_943_23

    /// The transformation applies inside China's rough bounding box only; outside it, GCJ-02 is WGS-84.
    public static func isOutsideChina(_ p: GeoPoint) -> Bool {
        p.lng < 72.004 || p.lng > 137.8347 || p.lat < 0.8293 || p.lat > 55.8271
    }

    public static func fromWGS84(_ p: GeoPoint) -> GeoPoint {
        guard !isOutsideChina(p) else { return p }
        let (dLat, dLng) = delta(p)
        return GeoPoint(lat: p.lat + dLat, lng: p.lng + dLng)
    }

    /// Iterates w ← w − (f(w) − g) from w = g; converges to well under a millimetre in a few steps.
    public static func toWGS84(_ g: GeoPoint) -> GeoPoint {
        guard !isOutsideChina(g) else { return g }
        var lat = g.lat, lng = g.lng
        for _ in 0..<30 {
            let f = fromWGS84(GeoPoint(lat: lat, lng: lng))
            let dLat = f.lat - g.lat, dLng = f.lng - g.lng
            lat -= dLat
            lng -= dLng
            if abs(dLat) < 1e-10 && abs(dLng) < 1e-10 { break }
        }
        return GeoPoint(lat: lat, lng: lng)
    }

    static func delta(_ p: GeoPoint) -> (Double, Double) {
        let x = p.lng - 105, y = p.lat - 35
        var dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
        dLat += (20 * sin(6 * x * .pi) + 20 * sin(2 * x * .pi)) * 2 / 3
        dLat += (20 * sin(y * .pi) + 40 * sin(y / 3 * .pi)) * 2 / 3
        dLat += (160 * sin(y / 12 * .pi) + 320 * sin(y * .pi / 30)) * 2 / 3
        var dLng = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
        dLng += (20 * sin(6 * x * .pi) + 20 * sin(2 * x * .pi)) * 2 / 3
        dLng += (20 * sin(x * .pi) + 40 * sin(x / 3 * .pi)) * 2 / 3
        dLng += (150 * sin(x / 12 * .pi) + 300 * sin(x / 30 * .pi)) * 2 / 3
        let radLat = p.lat / 180 * .pi
        var magic = sin(radLat)
        magic = 1 - ee * magic * magic
        let sqrtMagic = sqrt(magic)
        dLat = (dLat * 180) / ((a * (1 - ee)) / (magic * sqrtMagic) * .pi)
        dLng = (dLng * 180) / (a / sqrtMagic * cos(radLat) * .pi)
        return (dLat, dLng)
    }
}
