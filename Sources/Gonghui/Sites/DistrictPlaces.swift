import Foundation
import GonghuiCore

/// The city's districts as places on the map: a centre for "near this district" and the extent the
/// seeder spreads sites over. Read from `Resources/Data/beijing-district-extents.csv` (WGS-84,
/// approximate: bounding boxes and centres from public maps, and the 2020 census in 10,000s).
struct DistrictPlace: Sendable {
    let code: String
    let name: String
    let centre: GeoPoint
    let south: Double
    let west: Double
    let north: Double
    let east: Double
    let population: Double

    func contains(_ p: GeoPoint) -> Bool { p.lat >= south && p.lat <= north && p.lng >= west && p.lng <= east }

    /// Half the diagonal, in metres: how far the district reaches from its centre.
    var reach: Double { GeoPoint(lat: south, lng: west).distance(to: GeoPoint(lat: north, lng: east)) / 2 }

    static func load(path: String) -> [DistrictPlace] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 9, let lat = Double(f[2]), let lng = Double(f[3]), let s = Double(f[4]), let w = Double(f[5]),
                  let n = Double(f[6]), let e = Double(f[7]), let pop = Double(f[8]) else { return nil }
            return DistrictPlace(code: f[0], name: f[1], centre: GeoPoint(lat: lat, lng: lng), south: s, west: w, north: n, east: e, population: pop)
        }
    }

    /// Beijing's, when this is Beijing's federation.
    static let beijing: [DistrictPlace] = load(path: AppPaths.root() + "Resources/Data/beijing-district-extents.csv")

    static func find(code: String?, name: String) -> DistrictPlace? {
        beijing.first { ($0.code == code && code?.isEmpty == false) || $0.name == name }
    }
}
