import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// The site registry: create, change, retire, exceptions, search and coverage. The API and the
/// console both go through here; every staff read goes through scope.
struct SiteService {
    let request: Request
    var db: any Database { request.db }

    // MARK: reading

    /// A site in the caller's subtree (retired ones included); 404 otherwise.
    func find(_ id: Int) async throws -> Site {
        let scope = try request.scope
        guard let site = try await scope.records(Site.self, orgField: \.$orgID, on: db).filter(\.$id == id).first() else {
            throw AppError.notFound
        }
        return site
    }

    /// A site the public may see: anything not retired.
    func findPublic(_ id: Int) async throws -> Site {
        guard let site = try await Site.query(on: db).filter(\.$id == id).filter(\.$state != .retired).first() else { throw AppError.notFound }
        return site
    }

    func exceptions(_ site: Site, upcomingOnly: Bool) async throws -> [SiteException] {
        var q = SiteException.query(on: db).filter(\.$siteID == (try site.requireID()))
        if upcomingOnly { q = q.filter(\.$toOn >= ShanghaiClock.today().description) }
        return try await q.sort(\.$fromOn).sort(\.$id).all()
    }

    func amenities(_ site: Site) async throws -> [String] {
        let codes = try await SiteAmenity.query(on: db).filter(\.$siteID == site.requireID()).all(\.$amenityCode)
        let order = try await Amenity.query(on: db).sort(\.$sortOrder).all().compactMap(\.id)
        return order.filter(codes.contains)
    }

    func detail(_ site: Site, coord: CoordinateSystem = .wgs84, now: Date = Date(), lookups: Lookups? = nil) async throws -> SiteDTO {
        let lang = request.lang
        var l = Lookups()
        if let lookups { l = lookups } else { l = try await self.lookups(for: [site]) }
        let org = l.orgs[site.orgID]
        let type = l.types[site.typeCode]
        let id = try site.requireID()
        let exceptions = l.exceptions[id] ?? []
        let schedule = SiteSchedule(weekly: site.weekly, exceptions: exceptions.compactMap(\.rule))
        let epoch = now.timeIntervalSince1970
        let open = site.state == .open && schedule.isOpen(atEpoch: epoch)
        let next = site.state == .open ? schedule.nextChange(atEpoch: epoch) : nil
        let shown = site.point.converted(to: coord)
        var days: [ScheduleDTO] = []
        for (d, openings) in site.weekly.days.enumerated() {
            for o in openings { days.append(ScheduleDTO(day: d + 1, open: DayInterval.clock(o.open), close: DayInterval.clock(o.close))) }
        }
        return SiteDTO(
            id: try site.requireID(), name: site.name, type: site.typeCode, typeName: type?.name(lang) ?? site.typeCode,
            hostKind: site.hostKind, hostName: site.hostName, orgId: site.orgID, orgName: org?.name, address: site.address,
            lat: NearbyRequest.round(shown.lat), lng: NearbyRequest.round(shown.lng), coord: coord, hours: site.hours, schedule: days,
            exceptions: exceptions.map { SiteExceptionDTO(id: $0.id ?? 0, from: $0.fromOn, to: $0.toOn, hours: $0.hours, closed: $0.hours.isEmpty, note: $0.note) },
            amenities: l.amenities[id] ?? [], openToNonMembers: site.openToNonMembers, stepFree: site.stepFree, phone: site.phone,
            state: site.state, verifiedOn: site.verifiedOn,
            stale: SiteRules.isStale(verifiedOn: site.verifiedDate, today: ShanghaiClock.today(now)), openNow: open,
            nextChange: next.map { SiteDTO.NextChange(open: $0.open, at: CalendarDate(dayNumber: $0.day).description + "T" + DayInterval.clock($0.minute)) },
            ratingAverage: site.ratingAverage, ratingCount: site.ratingCount, useCount: site.useCount, updatedAt: site.updatedAt)
    }

    struct Filter: Sendable {
        var q: String?
        var orgID: Int?
        var type: String?
        var amenity: String?
        var state: SiteState?
        var stale: Bool?

        var query: String {
            var parts: [String] = []
            if let q { parts.append("q=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
            if let orgID { parts.append("orgId=\(orgID)") }
            if let type { parts.append("type=\(type)") }
            if let amenity { parts.append("amenity=\(amenity)") }
            if let state { parts.append("state=\(state.rawValue)") }
            if let stale { parts.append("stale=\(stale)") }
            return parts.joined(separator: "&")
        }
    }

    static func filter(from req: Request, _ v: inout Validator) -> Filter {
        var f = Filter()
        f.q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 100)
        f.orgID = req.optionalID("orgId", &v)
        if let t = req.query[String.self, at: "type"], !t.isEmpty { f.type = t }
        if let a = req.query[String.self, at: "amenity"], !a.isEmpty { f.amenity = a }
        f.state = EnterpriseService.choice(req, "state", &v)
        if let raw = req.query[String.self, at: "stale"], !raw.isEmpty {
            if raw == "true" || raw == "1" { f.stale = true } else if raw == "false" || raw == "0" { f.stale = false } else { v.add("stale", "format", "error.field.boolean") }
        }
        return f
    }

    func query(_ f: Filter) async throws -> QueryBuilder<Site> {
        let scope = try request.scope
        var v = Validator()
        if let t = f.type, try await known(t, SiteType.self) == false { v.add("type", "unknown", "error.field.oneOf", ["values": try await typeCodes()]) }
        if let a = f.amenity, try await known(a, Amenity.self) == false { v.add("amenity", "unknown", "error.field.oneOf", ["values": try await amenityCodes()]) }
        try v.check()
        var query = scope.records(Site.self, orgField: \.$orgID, on: db)
        if let orgID = f.orgID {
            let org = try await scope.org(orgID, on: db)
            query = query.filter(Organization.self, \.$path >= org.path).filter(Organization.self, \.$path < org.treePath.upperBound)
        }
        if let t = f.type { query = query.filter(\.$typeCode == t) }
        if let state = f.state { query = query.filter(\.$state == state) } else { query = query.filter(\.$state != .retired) }
        if let a = f.amenity {
            query = query.join(SiteAmenity.self, on: \Site.$id == \SiteAmenity.$siteID).filter(SiteAmenity.self, \.$amenityCode == a)
        }
        if let stale = f.stale {
            let cutoff = ShanghaiClock.today().adding(days: -SiteRules.staleAfterDays).description
            if stale {
                query = query.group(.or) { $0.filter(\.$verifiedOn == nil).filter(\.$verifiedOn < cutoff) }
            } else {
                query = query.filter(\.$verifiedOn >= cutoff)
            }
        }
        if let q = f.q { query = try await query.matching(q, .sites) }
        return query
    }

    func page(_ f: Filter, _ paging: PageRequest) async throws -> Paged<SiteDTO> {
        let query = try await query(f)
        let total = try await query.count()
        let rows = try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        // The page's organisations, types, exceptions and amenities in one query each, not per row.
        let lookups = try await lookups(for: rows)
        var items: [SiteDTO] = []
        for site in rows { items.append(try await detail(site, lookups: lookups)) }
        return Paged(items: items, page: paging.page, per: paging.per, total: total)
    }

    /// Whether a code is in a catalogue; one that is not shaped like a code is not looked up.
    func known<Entry: Model>(_ code: String, _ entry: Entry.Type) async throws -> Bool where Entry.IDValue == String {
        guard SiteRules.isCode(code) else { return false }
        return try await Entry.find(code, on: db) != nil
    }

    func typeCodes() async throws -> String { try await SiteType.query(on: db).sort(\.$sortOrder).all().compactMap(\.id).joined(separator: ", ") }
    func amenityCodes() async throws -> String { try await Amenity.query(on: db).sort(\.$sortOrder).all().compactMap(\.id).joined(separator: ", ") }

    // MARK: writing

    func create(_ input: SiteInput) async throws -> Site {
        let scope = try request.scope
        try scope.require(scope.role.keepsSites)
        var v = Validator()
        let site = Site()
        site.hostKind = .other
        site.hours = ""
        site.openToNonMembers = true
        site.stepFree = false
        site.state = .open
        site.verifiedOn = ShanghaiClock.today().description
        site.ratingCount = 0
        site.ratingSum = 0
        site.useCount = 0
        site.orgID = 0
        site.lat = 0
        site.lng = 0
        site.typeCode = ""
        site.name = v.text(input.name, "name", required: true, max: 100) ?? ""
        for (key, present) in [("type", input.type != nil), ("orgId", input.orgId != nil), ("lat", input.lat != nil), ("lng", input.lng != nil),
                               ("coord", input.coord.map { !$0.isEmpty } ?? false)] where !present {
            v.add(key, "required")
        }
        let amenities = try await apply(input, to: site, creating: true, &v)
        if input.state == SiteState.retired.rawValue { v.add("state", "unknown", "error.field.oneOf", ["values": "open, temporarilyClosed"]) }
        try v.check()
        let org = try await Organization.find(site.orgID, on: db)
        try await db.transaction { tx in
            try await site.create(on: tx)
            for code in amenities ?? [] { try await SiteAmenity(siteID: site.requireID(), code: code).create(on: tx) }
            try await request.audit.record("site.create", targetType: "site", targetID: site.id, org: org,
                                           details: ["type": site.typeCode, "name": site.name], on: tx)
        }
        request.application.siteFinder.invalidate()
        return site
    }

    func update(_ id: Int, _ input: SiteInput) async throws -> Site {
        let scope = try request.scope
        try scope.require(scope.role.tendsSites)
        let site = try await find(id)
        if !scope.role.keepsSites {
            let others = input.present.subtracting(SiteInput.keeperFields)
            if !others.isEmpty {
                throw AppError(.forbidden, "error.forbidden", detail: "error.site.keeperFields",
                               fields: others.sorted().map { FieldIssue($0, "notAllowed", "error.field.outsideScope") })
            }
        }
        var v = Validator()
        if input.has(.name), let name = v.text(input.name, "name", required: true, max: 100) { site.name = name }
        if (input.has(.lat) || input.has(.lng)) && !(input.coord.map { !$0.isEmpty } ?? false) { v.add("coord", "required", "error.site.coordRequired") }
        if input.has(.state), input.state == SiteState.retired.rawValue, !scope.role.keepsSites {
            v.add("state", "unknown", "error.field.oneOf", ["values": "open, temporarilyClosed"])
        }
        let amenities = try await apply(input, to: site, creating: false, &v)
        try v.check()
        let org = try await Organization.find(site.orgID, on: db)
        try await db.transaction { tx in
            try await site.save(on: tx)
            if let amenities {
                try await SiteAmenity.query(on: tx).filter(\.$siteID == id).delete()
                for code in amenities { try await SiteAmenity(siteID: id, code: code).create(on: tx) }
            }
            try await request.audit.record("site.update", targetType: "site", targetID: id, org: org,
                                           details: ["fields": input.present.sorted().joined(separator: ",")], on: tx)
        }
        request.application.siteFinder.invalidate()
        return site
    }

    /// Applies the fields the input names (create: all, with defaults); answers the new amenity
    /// list when it is to be replaced.
    private func apply(_ input: SiteInput, to site: Site, creating: Bool, _ v: inout Validator) async throws -> [String]? {
        let scope = try request.scope
        func has(_ key: SiteInput.CodingKeys) -> Bool { creating || input.has(key) }
        if has(.type), let raw = input.type {
            if try await known(raw, SiteType.self) { site.typeCode = raw } else {
                v.add("type", "unknown", "error.field.oneOf", ["values": try await typeCodes()])
            }
        }
        if has(.hostKind), let raw = input.hostKind, !raw.isEmpty {
            if let kind = HostKind(rawValue: raw) { site.hostKind = kind } else {
                v.add("hostKind", "unknown", "error.field.oneOf", ["values": HostKind.allCases.map(\.rawValue).joined(separator: ", ")])
            }
        }
        if has(.hostName) { site.hostName = v.text(input.hostName, "hostName", required: false, max: 100) }
        if has(.address) { site.address = v.text(input.address, "address", required: false, max: 200) }
        if has(.orgId), let orgID = input.orgId {
            if (try? await scope.org(orgID, on: db)) != nil { site.orgID = orgID } else { v.add("orgId", "notFound") }
        }
        if has(.lat) || has(.lng) || has(.coord) {
            var system: CoordinateSystem?
            if let raw = input.coord, !raw.isEmpty {
                if let c = CoordinateSystem(rawValue: raw.lowercased()) { system = c } else {
                    v.add("coord", "unknown", "error.field.oneOf", ["values": "wgs84, gcj02"])
                }
            }
            if let lat = input.lat, !(lat.isFinite && (-90...90).contains(lat)) { v.add("lat", "range", "error.field.lat") }
            if let lng = input.lng, !(lng.isFinite && (-180...180).contains(lng)) { v.add("lng", "range", "error.field.lng") }
            if !creating, input.lat == nil || input.lng == nil, input.has(.lat) || input.has(.lng) { v.add("lat", "pair", "error.field.coordinatePair") }
            if let lat = input.lat, let lng = input.lng, let system, let p = try? GeoPoint(checkingLat: lat, lng: lng) {
                let w = p.wgs84(from: system)
                site.lat = w.lat
                site.lng = w.lng
            }
        }
        if has(.hours) {
            let raw = input.hours ?? ""
            if raw.count > 300 { v.add("hours", "tooLong", nil, ["max": "300"]) } else {
                do { site.hours = try WeeklyHours(parsing: raw).text } catch { v.add(Self.hoursIssue(error, field: "hours")) }
            }
        }
        if has(.phone) {
            if let raw = input.phone, !Normalize.singleLine(raw).isEmpty {
                if let p = ContactPhone.normalise(raw) { site.phone = p } else { v.add("phone", "format", "error.field.phone") }
            } else { site.phone = nil }
        }
        if input.has(.openToNonMembers) || creating, let b = input.openToNonMembers { site.openToNonMembers = b }
        if input.has(.stepFree) || creating, let b = input.stepFree { site.stepFree = b }
        if has(.state), let raw = input.state, !raw.isEmpty {
            if let s = SiteState(rawValue: raw) { site.state = s } else {
                v.add("state", "unknown", "error.field.oneOf", ["values": SiteState.allCases.map(\.rawValue).joined(separator: ", ")])
            }
        }
        if has(.verifiedOn), let raw = input.verifiedOn, !raw.isEmpty {
            if let d = try? CalendarDate(parsing: raw) {
                if d > ShanghaiClock.today() { v.add("verifiedOn", "future", "error.field.date.future") } else { site.verifiedOn = d.description }
            } else { v.add("verifiedOn", "format", "error.field.date") }
        }
        guard has(.amenities) else { return nil }
        let known = Set(try await Amenity.query(on: db).all().compactMap(\.id))
        var codes: [String] = []
        for (i, code) in (input.amenities ?? []).enumerated() {
            if known.contains(code) { if !codes.contains(code) { codes.append(code) } } else {
                v.add("amenities[\(i)]", "unknown", "error.field.oneOf", ["values": try await amenityCodes()])
            }
        }
        return codes
    }

    /// A field issue for bad hours, with the part at fault in the message.
    static func hoursIssue(_ error: WeeklyHours.ParseError, field: String) -> FieldIssue {
        switch error {
        case let .format(part): FieldIssue(field, "format", "error.site.hours.format", ["part": part])
        case let .time(text): FieldIssue(field, "time", "error.site.hours.time", ["part": text])
        case let .endBeforeStart(text): FieldIssue(field, "endBeforeStart", "error.site.hours.endBeforeStart", ["part": text])
        case let .overlap(day, text): FieldIssue(field, "overlap", "error.site.hours.overlap", ["part": text, "day": String(day + 1)])
        }
    }

    func retire(_ id: Int, reason: String?) async throws -> Site {
        let scope = try request.scope
        try scope.require(scope.role.keepsSites)
        let site = try await find(id)
        site.state = .retired
        let org = try await Organization.find(site.orgID, on: db)
        try await db.transaction { tx in
            try await site.save(on: tx)
            try await request.audit.record("site.retire", targetType: "site", targetID: id, org: org,
                                           details: reason.map { ["reason": String($0.prefix(200))] } ?? [:], on: tx)
        }
        request.application.siteFinder.invalidate()
        return site
    }

    func verify(_ id: Int) async throws -> Site {
        let scope = try request.scope
        try scope.require(scope.role.tendsSites)
        let site = try await find(id)
        site.verifiedOn = ShanghaiClock.today().description
        try await site.save(on: db)
        try await request.audit.record("site.verify", targetType: "site", targetID: id, org: try await Organization.find(site.orgID, on: db))
        return site
    }

    func addException(_ id: Int, _ input: SiteExceptionInput) async throws -> SiteException {
        let scope = try request.scope
        try scope.require(scope.role.tendsSites)
        let site = try await find(id)
        var v = Validator()
        let e = SiteException()
        e.siteID = id
        var from: CalendarDate?
        if let raw = input.from, !raw.isEmpty {
            if let d = try? CalendarDate(parsing: raw) { from = d } else { v.add("from", "format", "error.field.date") }
        } else { v.add("from", "required") }
        var to = from
        if let raw = input.to, !raw.isEmpty {
            if let d = try? CalendarDate(parsing: raw) { to = d } else { v.add("to", "format", "error.field.date") }
        }
        if let from, let to {
            if to < from { v.add("to", "order", "error.site.exception.order") }
            if to.dayNumber - from.dayNumber > 366 { v.add("to", "range", "error.site.exception.tooLong") }
            e.fromOn = from.description
            e.toOn = to.description
        }
        e.hours = ""
        if let raw = input.hours.map(Normalize.singleLine), !raw.isEmpty, !["closed", "休息", "闭馆", "关闭"].contains(raw) {
            do {
                let week = try WeeklyHours(parsing: "Mo " + raw)
                e.hours = week.days[0].map(\.text).joined(separator: ",")
            } catch {
                // The error names what was typed, without the "Mo " the parser was given.
                switch error {
                case .format: v.add(FieldIssue("hours", "format", "error.site.hours.format", ["part": raw]))
                default: v.add(Self.hoursIssue(error, field: "hours"))
                }
            }
        }
        e.note = v.text(input.note, "note", required: false, max: 100)
        try v.check()
        try await db.transaction { tx in
            try await e.create(on: tx)
            try await request.audit.record("site.exception.add", targetType: "site", targetID: id, org: try await Organization.find(site.orgID, on: tx),
                                           details: ["from": e.fromOn, "to": e.toOn, "hours": e.hours.isEmpty ? "closed" : e.hours], on: tx)
        }
        request.application.siteFinder.invalidate()
        return e
    }

    func removeException(_ id: Int, _ exceptionID: Int) async throws {
        let scope = try request.scope
        try scope.require(scope.role.tendsSites)
        let site = try await find(id)
        guard let e = try await SiteException.query(on: db).filter(\.$id == exceptionID).filter(\.$siteID == id).first() else { throw AppError.notFound }
        try await db.transaction { tx in
            try await e.delete(on: tx)
            try await request.audit.record("site.exception.remove", targetType: "site", targetID: id, org: try await Organization.find(site.orgID, on: tx),
                                           details: ["from": e.fromOn, "to": e.toOn], on: tx)
        }
        request.application.siteFinder.invalidate()
    }
}
