import Fluent
import Foundation
import GonghuiCore
import Vapor

extension SiteService {
    /// What a page of sites needs besides the rows, read in five queries whatever the page's size.
    struct Lookups {
        var orgs: [Int: Organization] = [:]
        var types: [String: SiteType] = [:]
        var exceptions: [Int: [SiteException]] = [:]
        var amenities: [Int: [String]] = [:]
    }

    func lookups(for sites: [Site]) async throws -> Lookups {
        let ids = sites.compactMap(\.id)
        guard !ids.isEmpty else { return Lookups() }
        var l = Lookups()
        let orgIDs = Array(Set(sites.map(\.orgID)))
        for org in try await Organization.query(on: db).filter(\.$id ~~ orgIDs).all() { l.orgs[org.id ?? 0] = org }
        for type in try await SiteType.query(on: db).all() { l.types[type.id ?? ""] = type }
        let upcoming = try await SiteException.query(on: db).filter(\.$siteID ~~ ids).filter(\.$toOn >= ShanghaiClock.today().description)
            .sort(\.$fromOn).sort(\.$id).all()
        for e in upcoming { l.exceptions[e.siteID, default: []].append(e) }
        let order = try await Amenity.query(on: db).sort(\.$sortOrder).all().compactMap(\.id)
        var codes: [Int: Set<String>] = [:]
        for a in try await SiteAmenity.query(on: db).filter(\.$siteID ~~ ids).all() { codes[a.siteID, default: []].insert(a.amenityCode) }
        for (id, set) in codes { l.amenities[id] = order.filter(set.contains) }
        return l
    }
}
