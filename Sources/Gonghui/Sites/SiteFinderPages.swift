import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The public finder, phone first and no sign-in: `/sites` lists the nearest sites (to the phone's
/// location, or to a district or place the worker picks) and works without JavaScript; the map is
/// added where Leaflet loads. `/sites/{id}` is one site with its hours, amenities, navigate links,
/// rating and "I used this station".
struct SiteFinderPages: RouteCollection {
    static let deviceCookie = "gh_device"

    func boot(routes: any RoutesBuilder) throws {
        routes.get("sites", use: list)
        routes.get("sites", ":id", use: detail)
        routes.post("sites", ":id", "used", use: used)
        routes.post("sites", ":id", "rate", use: rate)
    }

    struct Chip: Encodable {
        let value: String
        let label: String
        let icon: String
        let selected: Bool
    }

    struct Item: Encodable {
        let id: Int
        let name: String
        let icon: String
        let typeName: String
        let distance: String
        let open: Bool
        let stateLabel: String
        let address: String
        let amenities: [Chip]
        let href: String
        /// In the map tiles' coordinate system.
        let mapLat: Double
        let mapLng: Double
    }

    struct MapConfig: Encodable {
        let tiles: String
        let attribution: String
        /// nil: no Leaflet on this server, the page is a list.
        let leaflet: String?
        let originLat: Double
        let originLng: Double
    }

    struct ListPage: Encodable {
        let page: PageContext
        let heading: String
        let originLabel: String
        let located: Bool
        let lat: String
        let lng: String
        let place: String
        let districts: [FormField.Choice]
        let types: [FormField.Choice]
        let amenities: [Chip]
        let openNow: Bool
        let items: [Item]
        let map: MapConfig
        let notice: String?
        let errors: [String]
    }

    /// Distances as people say them: `350 米`, `1.2 公里`.
    static func distance(_ metres: Double, _ req: Request) -> String {
        if metres < 1000 { return req.t("finder.metres", ["n": String(Int((metres / 10).rounded() * 10))]) }
        return req.t("finder.km", ["n": String(format: "%.1f", metres / 1000)])
    }

    /// 西城区总工会 → 西城区: workers pick a place, not a federation.
    static func shortName(_ name: String) -> String {
        name.hasSuffix("总工会") && name.count > 3 ? String(name.dropLast(3)) : name
    }

    static func mapSystem(_ req: Request) -> CoordinateSystem {
        CoordinateSystem(rawValue: req.application.gonghui.mapTilesCoord) ?? .gcj02
    }

    /// Where leaflet.js and leaflet.css are: the configured place, else this server's copy of Debian's
    /// libjs-leaflet. Never a CDN by default (the pages' Content-Security-Policy allows this site's
    /// scripts only); without Leaflet the finder is a list.
    static func leafletBase(_ req: Request) -> String? {
        if let url = req.application.gonghui.leafletURL { return url }
        return FileManager.default.fileExists(atPath: debianLeaflet + "leaflet.js") ? "/vendor/leaflet" : nil
    }

    static let debianLeaflet = "/usr/share/javascript/leaflet/"

    func ensureDevice(_ req: Request, _ response: Response) {
        guard req.cookies[Self.deviceCookie] == nil else { return }
        response.cookies[Self.deviceCookie] = HTTPCookies.Value(string: UUID().uuidString, expires: Date(timeIntervalSinceNow: 365 * 86_400),
                                                                maxAge: nil, domain: nil, path: "/", isSecure: false, isHTTPOnly: true, sameSite: .lax)
    }

    @Sendable func list(req: Request) async throws -> Response {
        let snap = try await req.application.siteFinder.snapshot(req.application)
        let lang = req.lang
        var v = Validator()
        let hasPoint = !(req.query[String.self, at: "lat"] ?? "").isEmpty
        var nearby = NearbyRequest.parse(req, snap, &v, required: hasPoint)
        let errors = v.issues.map { req.message(for: $0) }
        let districtID = req.query[String.self, at: "district"].flatMap { Int($0) }
        let place = Normalize.singleLine(req.query[String.self, at: "place"] ?? "")
        let districts = OrgOrder.sorted(try await Organization.query(on: req.db).filter(\.$kind == .district).all())
        let district = districts.first { $0.id == districtID }
        var originLabel = req.t("finder.nearYou")
        var notice: String?
        let located = nearby.hasOrigin
        if !located {
            var origin: GeoPoint?
            if let district {
                if let known = DistrictPlace.find(code: district.divisionCode, name: district.name)?.centre { origin = known } else {
                    origin = try await Self.centre(of: district, on: req.db)
                }
                originLabel = req.t("finder.nearPlace", ["place": Self.shortName(district.name)])
            }
            if !place.isEmpty {
                // A place named by a site's name or address: the match nearest the chosen district, else the first.
                let matches = snap.payloads.indices.filter { snap.payloads[$0].name.contains(place) || (snap.payloads[$0].address ?? "").contains(place) }
                let best = origin.map { o in matches.min { snap.index.entries[$0].point.distance(to: o) < snap.index.entries[$1].point.distance(to: o) } } ?? matches.first
                if let hit = best {
                    origin = snap.index.entries[hit].point
                    originLabel = req.t("finder.nearPlace", ["place": place])
                } else {
                    notice = req.t("finder.placeNotFound", ["place": place])
                }
            }
            if origin == nil {
                originLabel = req.t("finder.nearCentre")
                if notice == nil { notice = req.t("finder.pickOrLocate") }
            }
            // Tiananmen when nothing else is known: the city's centre.
            nearby.query.origin = origin ?? GeoPoint(lat: 39.9087, lng: 116.3975)
        }
        let hits = snap.index.nearest(nearby.query)
        let amenityRows = Dictionary(uniqueKeysWithValues: snap.amenities.map { ($0.code, $0) })
        let typeRows = Dictionary(uniqueKeysWithValues: snap.types.map { ($0.code, $0) })
        let system = Self.mapSystem(req)
        let fromQuery = located ? "?from=\(nearby.query.origin.lat),\(nearby.query.origin.lng)" : ""
        let items = hits.map { hit -> Item in
            let e = snap.index.entries[hit.index], p = snap.payloads[hit.index]
            let shown = e.point.converted(to: system)
            return Item(id: e.id, name: p.name, icon: typeRows[e.type]?.icon ?? "•", typeName: typeRows[e.type]?.name(lang) ?? e.type,
                        distance: Self.distance(hit.distance, req), open: hit.openNow,
                        stateLabel: req.t(p.state == .temporarilyClosed ? "finder.paused" : hit.openNow ? "finder.openNow" : "finder.closedNow"),
                        address: p.address ?? "", amenities: e.amenities.compactMap { amenityRows[$0] }.map { Chip(value: $0.code, label: $0.name(lang), icon: $0.icon, selected: false) },
                        href: "/sites/\(e.id)\(fromQuery)", mapLat: shown.lat, mapLng: shown.lng)
        }
        if items.isEmpty, errors.isEmpty { notice = req.t("finder.none") }
        let origin = nearby.query.origin.converted(to: system)
        let selectedAmenities = Set(nearby.query.amenities)
        let page = ListPage(
            page: req.pageContext(), heading: req.t("finder.title"), originLabel: originLabel, located: located,
            lat: located ? String(nearby.query.origin.lat) : "", lng: located ? String(nearby.query.origin.lng) : "", place: place,
            districts: [FormField.Choice(value: "", label: req.t("finder.pickDistrict"), selected: district == nil)]
                + districts.map { FormField.Choice(value: String($0.id ?? 0), label: Self.shortName($0.name), selected: $0.id == district?.id) },
            types: [FormField.Choice(value: "", label: req.t("finder.allTypes"), selected: nearby.query.type == nil)]
                + snap.types.map { FormField.Choice(value: $0.code, label: $0.icon + " " + $0.name(lang), selected: $0.code == nearby.query.type) },
            amenities: snap.amenities.map { Chip(value: $0.code, label: $0.name(lang), icon: $0.icon, selected: selectedAmenities.contains($0.code)) },
            openNow: nearby.query.openNow, items: items,
            map: MapConfig(tiles: req.application.gonghui.mapTiles, attribution: req.application.gonghui.mapAttribution,
                           leaflet: Self.leafletBase(req), originLat: origin.lat, originLng: origin.lng),
            notice: notice, errors: errors)
        let response = try await req.view.render("sites/finder", page).encodeResponse(status: v.issues.isEmpty ? .ok : .unprocessableEntity, for: req)
        ensureDevice(req, response)
        return response
    }

    /// The mean of a district's sites, for cities without a table of district centres.
    static func centre(of district: Organization, on db: any Database) async throws -> GeoPoint? {
        let sites = try await Site.query(on: db).join(Organization.self, on: \Site.$orgID == \Organization.$id)
            .filter(Organization.self, \.$path >= district.path).filter(Organization.self, \.$path < district.treePath.upperBound)
            .filter(\.$state != .retired).limit(2000).all()
        guard !sites.isEmpty else { return nil }
        return GeoPoint(lat: sites.map(\.lat).reduce(0, +) / Double(sites.count), lng: sites.map(\.lng).reduce(0, +) / Double(sites.count))
    }

    struct Day: Encodable {
        let label: String
        let hours: String
        let today: Bool
    }

    struct Link: Encodable {
        let label: String
        let href: String
    }

    struct Comment: Encodable {
        let stars: String
        let text: String
        let at: String
    }

    struct DetailPage: Encodable {
        let page: PageContext
        let id: Int
        let name: String
        let icon: String
        let typeName: String
        let open: Bool
        let stateLabel: String
        let nextChange: String?
        let distance: String?
        let address: String
        let host: String
        let orgName: String
        let phone: String?
        let days: [Day]
        let exceptions: [String]
        let amenities: [Chip]
        let openToNonMembers: Bool
        let stepFree: Bool
        let navigate: [Link]
        let useCount: Int
        let ratingAverage: String?
        let ratingCount: Int
        let comments: [Comment]
        let alert: String?
        let ratingError: String?
        let backHref: String
        let map: MapConfig
    }

    static func navigateLinks(_ name: String, _ p: GeoPoint) -> [Link] {
        let g = p.converted(to: .gcj02)
        let label = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let gl = String(format: "%.6f", g.lat), gn = String(format: "%.6f", g.lng)
        return [
            // Amap reads GCJ-02 (coordinate=gaode); Baidu is told the point is WGS-84; Apple Maps in China draws GCJ-02.
            Link(label: "高德地图 Amap", href: "https://uri.amap.com/navigation?to=\(gn),\(gl),\(label)&mode=walk&coordinate=gaode&callnative=1"),
            Link(label: "百度地图 Baidu", href: "https://api.map.baidu.com/marker?location=\(String(format: "%.6f,%.6f", p.lat, p.lng))&title=\(label)&content=\(label)&coord_type=wgs84&output=html&src=gonghui"),
            Link(label: "Apple 地图", href: "https://maps.apple.com/?daddr=\(gl),\(gn)&q=\(label)&dirflg=w"),
        ]
    }

    func renderDetail(_ req: Request, _ site: Site, alert: String? = nil, ratingError: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let service = SiteService(request: req)
        let dto = try await service.detail(site)
        let lang = req.lang
        let type = try await SiteType.find(site.typeCode, on: req.db)
        let amenityRows = try await Amenity.query(on: req.db).sort(\.$sortOrder).all()
        let todayIndex = ShanghaiClock.today().weekdayIndex
        let weekly = site.weekly
        let days = (0..<7).map { d in
            Day(label: req.t("sites.day.\(d + 1)"), hours: weekly.days[d].isEmpty ? req.t("sites.closedDay")
                    : weekly.days[d] == [DayInterval(open: 0, close: 1440)] ? req.t("sites.allDay")
                    : weekly.days[d].map { $0.text.replacingOccurrences(of: "-", with: "–") }.joined(separator: "  "),
                today: d == todayIndex)
        }
        var distance: String?
        if let from = req.query[String.self, at: "from"], case let parts = from.split(separator: ",").compactMap({ Double($0) }), parts.count == 2,
           let origin = try? GeoPoint(checkingLat: parts[0], lng: parts[1]) {
            distance = Self.distance(origin.distance(to: site.point), req)
        }
        let next = dto.nextChange.map { change -> String in
            let day = String(change.at.prefix(10)), time = String(change.at.suffix(5))
            let when = day == ShanghaiClock.today().description ? time
                : day == ShanghaiClock.today().adding(days: 1).description ? req.t("finder.tomorrow", ["time": time]) : "\(day.suffix(5)) \(time)"
            return req.t(change.open ? "finder.opensAt" : "finder.closesAt", ["time": when])
        }
        let comments = try await SiteFeedback(request: req).comments(site).map {
            Comment(stars: String(repeating: "★", count: $0.stars) + String(repeating: "☆", count: 5 - $0.stars), text: $0.comment ?? "",
                    at: String(MeetingTime.local($0.at).prefix(10)))
        }
        let shown = site.point.converted(to: Self.mapSystem(req))
        let page = DetailPage(
            page: req.pageContext(), id: dto.id, name: site.name, icon: type?.icon ?? "•", typeName: type?.name(lang) ?? site.typeCode,
            open: dto.openNow, stateLabel: req.t(site.state == .temporarilyClosed ? "finder.paused" : dto.openNow ? "finder.openNow" : "finder.closedNow"),
            nextChange: next, distance: distance, address: site.address ?? "",
            host: [req.t("sites.host.\(site.hostKind.rawValue)"), site.hostName].compactMap { $0 }.joined(separator: " · "),
            orgName: dto.orgName ?? "", phone: site.phone, days: days,
            exceptions: dto.exceptions.map { e in
                (e.from == e.to ? e.from : "\(e.from) – \(e.to)") + " " + (e.closed ? req.t("sites.closedDay") : e.hours) + (e.note.map { "（\($0)）" } ?? "")
            },
            amenities: amenityRows.filter { dto.amenities.contains($0.id ?? "") }.map { Chip(value: $0.id ?? "", label: $0.name(lang), icon: $0.icon, selected: true) },
            openToNonMembers: site.openToNonMembers, stepFree: site.stepFree, navigate: Self.navigateLinks(site.name, site.point),
            useCount: site.useCount, ratingAverage: site.ratingAverage.map { String(format: "%.1f", $0) }, ratingCount: site.ratingCount,
            comments: comments, alert: alert, ratingError: ratingError,
            backHref: req.query[String.self, at: "from"].map { f in
                let p = f.split(separator: ",")
                return p.count == 2 ? "/sites?lat=\(p[0])&lng=\(p[1])" : "/sites"
            } ?? "/sites",
            map: MapConfig(tiles: req.application.gonghui.mapTiles, attribution: req.application.gonghui.mapAttribution,
                           leaflet: Self.leafletBase(req), originLat: shown.lat, originLng: shown.lng))
        let response = try await req.view.render("sites/site", page).encodeResponse(status: status, for: req)
        ensureDevice(req, response)
        return response
    }

    @Sendable func detail(req: Request) async throws -> Response {
        try await renderDetail(req, try await SiteService(request: req).findPublic(try req.idParameter()))
    }

    @Sendable func used(req: Request) async throws -> Response {
        let service = SiteService(request: req)
        let site = try await service.findPublic(try req.idParameter())
        let counted = try await SiteFeedback(request: req).use(site)
        let fresh = try await service.findPublic(try site.requireID())
        return try await renderDetail(req, fresh, alert: req.t(counted ? "finder.usedThanks" : "finder.usedAlready"))
    }

    struct RateForm: Decodable {
        var stars: String?
        var comment: String?
    }

    @Sendable func rate(req: Request) async throws -> Response {
        let service = SiteService(request: req)
        let site = try await service.findPublic(try req.idParameter())
        let form = try req.content.decode(RateForm.self)
        do {
            try await SiteFeedback(request: req).rate(site, RatingInput(stars: form.stars.flatMap { Int($0) } ?? (form.stars == nil ? nil : -1), comment: form.comment))
        } catch let error as AppError {
            return try await renderDetail(req, site, ratingError: req.refusal(error), status: error.status)
        }
        return try await renderDetail(req, try await service.findPublic(try site.requireID()), alert: req.t("finder.ratedThanks"))
    }

    /// Debian's libjs-leaflet, when installed: the map works without reaching a CDN.
    @Sendable func leaflet(req: Request) async throws -> Response {
        let parts = req.parameters.getCatchall()
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != ".." && !$0.hasPrefix(".") }) else { throw AppError.notFound }
        let path = Self.debianLeaflet + parts.joined(separator: "/")
        guard FileManager.default.fileExists(atPath: path) else { throw AppError.notFound }
        return try await req.fileio.asyncStreamFile(at: path)
    }
}
