import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// The registry's columns in exports, the template and imports; headers in either language.
enum SiteColumns {
    static let all: [(key: String, labelKey: String, width: Double)] = [
        ("name", "sites.field.name", 30), ("type", "sites.field.type", 20), ("hostKind", "sites.field.hostKind", 12),
        ("hostName", "sites.field.hostName", 24), ("org", "sites.field.orgId", 22), ("address", "field.address", 30),
        ("lat", "field.lat", 11), ("lng", "field.lng", 12), ("coord", "sites.field.coord", 8), ("hours", "sites.field.hours", 30),
        ("amenities", "sites.field.amenities", 36), ("openToNonMembers", "sites.field.openToNonMembers", 10),
        ("stepFree", "sites.field.stepFree", 10), ("phone", "sites.field.phone", 14), ("state", "sites.field.state", 10),
        ("verifiedOn", "sites.field.verifiedOn", 12),
    ]

    static let aliases: [String: String] = {
        var map: [String: String] = [:]
        let table: [(String, [String])] = [
            ("name", ["站点名称", "名称", "name"]), ("type", ["站点类型", "类型", "type"]),
            ("hostKind", ["承载单位类型", "依托单位类型", "host kind", "hostkind"]), ("hostName", ["承载单位", "承载单位名称", "依托单位", "host", "host name", "hostname"]),
            ("org", ["管理工会", "所属工会", "管理单位", "managing union", "union", "orgid"]), ("address", ["地址", "详细地址", "address"]),
            ("lat", ["纬度", "latitude", "lat"]), ("lng", ["经度", "longitude", "lng", "lon"]), ("coord", ["坐标系", "coordinate system", "coord"]),
            ("hours", ["开放时间", "营业时间", "opening hours", "hours"]), ("amenities", ["服务设施", "设施", "服务项目", "amenities"]),
            ("openToNonMembers", ["对非会员开放", "open to non-members", "opentononmembers"]), ("stepFree", ["无障碍入口", "无障碍", "step-free", "stepfree"]),
            ("phone", ["联系电话", "电话", "phone"]), ("state", ["状态", "运行状态", "state"]), ("verifiedOn", ["最近核实日期", "核实日期", "last verified", "verifiedon"]),
        ]
        for (key, names) in table { for name in names { map[name.lowercased()] = key } }
        return map
    }()

    static func cells(_ s: Site, orgName: String, amenities: [String], typeName: String, _ req: Request) -> [Cell] {
        [.text(s.name), .text(typeName), .text(req.t("sites.host.\(s.hostKind.rawValue)")), .text(s.hostName ?? ""), .text(orgName),
         .text(s.address ?? ""), .number(s.lat), .number(s.lng), .text("wgs84"), .text(s.hours), .text(amenities.joined(separator: "、")),
         .text(req.t(s.openToNonMembers ? "common.yes" : "common.no")), .text(req.t(s.stepFree ? "common.yes" : "common.no")),
         .text(s.phone ?? ""), .text(req.t("sites.state.\(s.state.rawValue)")), .text(s.verifiedOn ?? "")]
    }

    /// Name and place to within about ten metres: the same station twice, in a file or against the registry.
    static func key(name: String, lat: Double, lng: Double) -> String {
        "\(name)|\(Int((lat * 10_000).rounded()))|\(Int((lng * 10_000).rounded()))"
    }
}

/// Imports sites from a sheet: every bad row reported with line, column and reason, stations
/// already registered or repeated in the file reported and not imported twice, the good rows in.
struct SiteImporter {
    let db: any Database
    let localizer: Localizer
    let lang: Lang
    /// The node the file is for: rows name their managing union below it, or land on it.
    let root: Organization
    let jobID: Int
    /// Problems of bad rows after which the import stops (`ImportLimits`).
    var maxProblems = ImportLimits.maxProblems

    typealias Outcome = SheetOutcome

    func run(reader: any RowReader, onProgress: (Outcome, Int, Int) async throws -> Void) async throws -> Outcome {
        var outcome = Outcome()
        outcome.budget = ProblemBudget(max: maxProblems)
        guard let header = try reader.next() else { outcome.missing = ["站点名称", "站点类型", "纬度", "经度", "坐标系"]; return outcome }
        var columns: [String: Int] = [:]
        for (i, cell) in header.cells.enumerated() {
            if let field = SiteColumns.aliases[Normalize.singleLine(cell).lowercased()], columns[field] == nil { columns[field] = i }
        }
        outcome.missing = [("name", "站点名称"), ("type", "站点类型"), ("lat", "纬度"), ("lng", "经度"), ("coord", "坐标系")].filter { columns[$0.0] == nil }.map(\.1)
        guard outcome.missing.isEmpty else { return outcome }

        // Labels in either language, or codes, for every value a column can hold.
        var types: [String: String] = [:], amenities: [String: String] = [:]
        for t in try await SiteType.query(on: db).all() { for k in [t.id!, t.nameZh, t.nameEn.lowercased()] { types[k] = t.id } }
        for a in try await Amenity.query(on: db).all() { for k in [a.id!, a.nameZh, a.nameEn.lowercased()] { amenities[k] = a.id } }
        func label<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ prefix: String, _ text: String) -> T? where T.RawValue == String {
            if let v = T(rawValue: text) { return v }
            return T.allCases.first { c in Lang.allCases.contains { localizer.text("\(prefix).\(c.rawValue)", $0).lowercased() == text.lowercased() } }
        }
        let nodes = try await Organization.query(on: db).inSubtree(root.treePath).all()
        var byName: [String: Int] = [:]
        for n in nodes { byName[n.name] = byName[n.name] == nil ? n.id : -1 }
        let ids = Set(nodes.compactMap(\.id))
        var seen = Set<String>()
        var pending: [(line: Int, site: Site, amenities: [String], key: String)] = []
        var problems: [ImportProblem] = []
        let today = ShanghaiClock.today()

        func problem(_ line: Int, _ field: String, _ code: String, _ key: String, _ args: [String: String] = [:]) {
            let p = ImportProblem()
            p.jobID = jobID
            p.line = line
            let labelKey = SiteColumns.all.first { $0.key == field }?.labelKey ?? "field.\(field)"
            p.column = localizer.text(labelKey, lang)
            p.code = code
            var a = args
            a["field"] = p.column
            p.message = localizer.text(key, lang, a)
            problems.append(p)
        }

        func flush() async throws {
            let batch = pending
            pending.removeAll()
            var existing = Set<String>()
            if !batch.isEmpty {
                for s in try await Site.query(on: db).filter(\.$name ~~ Array(Set(batch.map(\.site.name)))).all() {
                    existing.insert(SiteColumns.key(name: s.name, lat: s.lat, lng: s.lng))
                }
            }
            let fresh = batch.filter { !existing.contains($0.key) }
            for row in batch where existing.contains(row.key) {
                problem(row.line, "name", "duplicate", "error.import.siteRegistered")
                outcome.duplicates += 1
            }
            // Bad rows' problems are all listed; rows found already registered while there is room.
            let found = batch.count - fresh.count
            let kept = outcome.budget.list(bad: problems.count - found, found: found)
            let report = problems.prefix(problems.count - found + kept)
            problems.removeAll()
            try await db.transaction { tx in
                for row in fresh {
                    try await row.site.create(on: tx)
                    for code in row.amenities { try await SiteAmenity(siteID: row.site.requireID(), code: code).create(on: tx) }
                }
                for p in report { try await p.create(on: tx) }
            }
            outcome.imported += fresh.count
            try await onProgress(outcome, reader.bytesRead, reader.totalBytes)
        }

        while let row = try reader.next() {
            outcome.rowsRead += 1
            let line = row.line
            func cell(_ key: String) -> String {
                guard let i = columns[key], i < row.cells.count else { return "" }
                return Normalize.singleLine(row.cells[i])
            }
            func flag(_ key: String, default value: Bool) -> Bool {
                let t = cell(key).lowercased()
                if t.isEmpty { return value }
                if ["是", "yes", "true", "1", "y", "有"].contains(t) { return true }
                if ["否", "no", "false", "0", "n", "无"].contains(t) { return false }
                problem(line, key, "format", "error.field.boolean")
                return value
            }
            let before = problems.count
            let s = Site()
            s.ratingCount = 0
            s.ratingSum = 0
            s.useCount = 0
            s.name = cell("name")
            if s.name.isEmpty { problem(line, "name", "required", "error.field.required") } else if s.name.count > 100 {
                problem(line, "name", "tooLong", "error.field.tooLong", ["max": "100"])
            }
            if let t = types[cell("type")] ?? types[cell("type").lowercased()] { s.typeCode = t } else {
                problem(line, "type", cell("type").isEmpty ? "required" : "unknown", cell("type").isEmpty ? "error.field.required" : "error.import.unknownValue")
            }
            s.hostKind = .other
            if !cell("hostKind").isEmpty { if let k = label(HostKind.self, "sites.host", cell("hostKind")) { s.hostKind = k } else { problem(line, "hostKind", "unknown", "error.import.unknownValue") } }
            s.hostName = cell("hostName").isEmpty ? nil : String(cell("hostName").prefix(100))
            let orgText = cell("org")
            if orgText.isEmpty { s.orgID = root.id! } else if let id = byName[orgText] ?? Int(orgText).flatMap({ ids.contains($0) ? $0 : nil }), id > 0 {
                s.orgID = id
            } else if byName[orgText] == -1 { problem(line, "org", "ambiguous", "error.import.orgAmbiguous", ["name": orgText]) } else {
                problem(line, "org", "notFound", "error.import.orgUnknown", ["name": orgText])
            }
            s.address = cell("address").isEmpty ? nil : String(cell("address").prefix(200))
            let system = CoordinateSystem(rawValue: cell("coord").lowercased().replacingOccurrences(of: "-", with: ""))
                ?? (["国测局", "火星坐标", "高德", "腾讯"].contains(cell("coord")) ? .gcj02 : nil)
            if system == nil { problem(line, "coord", cell("coord").isEmpty ? "required" : "unknown", "error.site.coordRequired") }
            let lat = Double(Normalize.identifier(cell("lat"))), lng = Double(Normalize.identifier(cell("lng")))
            if lat == nil || !(lat!.isFinite && (-90...90).contains(lat!)) { problem(line, "lat", cell("lat").isEmpty ? "required" : "range", "error.field.lat") }
            if lng == nil || !(lng!.isFinite && (-180...180).contains(lng!)) { problem(line, "lng", cell("lng").isEmpty ? "required" : "range", "error.field.lng") }
            if let lat, let lng, let system, let p = try? GeoPoint(checkingLat: lat, lng: lng) {
                let w = p.wgs84(from: system)
                (s.lat, s.lng) = (w.lat, w.lng)
            }
            do { s.hours = try WeeklyHours(parsing: cell("hours")).text } catch {
                let issue = SiteService.hoursIssue(error, field: "hours")
                problem(line, "hours", issue.code, issue.key, issue.args)
            }
            var codes: [String] = []
            for part in cell("amenities").split(whereSeparator: { "、,，;；/ ".contains($0) }).map(String.init) {
                if let c = amenities[part] ?? amenities[part.lowercased()] { if !codes.contains(c) { codes.append(c) } } else {
                    problem(line, "amenities", "unknown", "error.import.unknownAmenity", ["name": part])
                }
            }
            s.openToNonMembers = flag("openToNonMembers", default: true)
            s.stepFree = flag("stepFree", default: false)
            if !cell("phone").isEmpty { if let p = ContactPhone.normalise(cell("phone")) { s.phone = p } else { problem(line, "phone", "format", "error.field.phone") } }
            s.state = .open
            if !cell("state").isEmpty { if let st = label(SiteState.self, "sites.state", cell("state")) { s.state = st } else { problem(line, "state", "unknown", "error.import.unknownValue") } }
            s.verifiedOn = today.description
            if !cell("verifiedOn").isEmpty {
                if let d = try? CalendarDate(parsing: cell("verifiedOn")), d <= today { s.verifiedOn = d.description } else { problem(line, "verifiedOn", "format", "error.field.date") }
            }
            if problems.count > before {
                outcome.failed += 1
            } else {
                let key = SiteColumns.key(name: s.name, lat: s.lat, lng: s.lng)
                if seen.contains(key) {
                    problem(line, "name", "duplicateInFile", "error.import.siteRepeated")
                    outcome.duplicates += 1
                } else {
                    seen.insert(key)
                    pending.append((line, s, codes, key))
                }
            }
            outcome.budget.countBad(problems.count - before)
            if outcome.budget.exhausted {
                outcome.stoppedAt = line
                break
            }
            if pending.count >= 500 || problems.count >= 500 { try await flush() }
        }
        try await flush()
        return outcome
    }
}

/// Import jobs, the template, the problem report and the export, for the API and the console.
enum SiteFiles {
    static func makeJob(root: Organization, staffID: Int?, fileName: String, totalBytes: Int, on db: any Database) async throws -> ImportJob {
        let job = try await RosterImports.makeJob(union: root, staffID: staffID, fileName: fileName, totalBytes: totalBytes, on: db)
        job.kind = "sites"
        try await job.save(on: db)
        return job
    }

    /// Starts the job in the background and answers it at once.
    static func start(_ req: Request, root: Organization, fileName: String, body: ByteBuffer) async throws -> ImportJob {
        let scope = try req.scope
        let job = try await makeJob(root: root, staffID: scope.staffID, fileName: fileName, totalBytes: body.readableBytes, on: req.db)
        let path = try await RosterFiles.saveUpload(req, body)
        let app = req.application
        let lang = req.lang
        let actor = (scope.staffID, scope.username)
        let ip = req.clientAddress
        app.imports.track(Task.detached {
            _ = await execute(job: job, path: path, root: root, app: app, lang: lang, actor: actor, ip: ip, removeFile: true)
        })
        return job
    }

    /// Runs the job to the end; never throws (a failure is the job's state).
    static func execute(job: ImportJob, path: String, root: Organization, app: Application, lang: Lang,
                        actor: (id: Int, username: String)?, ip: String?, removeFile: Bool,
                        onProgress: (@Sendable (SheetOutcome, Int, Int) -> Void)? = nil) async -> ImportJob {
        let finished = await SheetImports.execute(job: job, path: path, root: root, app: app, lang: lang, actor: actor, ip: ip, removeFile: removeFile,
                                                  action: "site.import", onProgress: onProgress) { reader, jobID, progress in
            try await SiteImporter(db: app.db, localizer: app.localizer, lang: lang, root: root, jobID: jobID).run(reader: reader, onProgress: progress)
        }
        app.siteFinder.invalidate()
        return finished
    }

    /// `POST /api/v1/site-imports?orgId=&fileName=`: the file is the body; 202 with the job.
    @Sendable static func upload(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsSites)
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let fileName = v.text(req.query[String.self, at: "fileName"], "fileName", required: false, max: 200) ?? "upload"
        let body = req.body.data
        if body == nil || body!.readableBytes == 0 { v.add("body", "required", "error.import.empty") }
        try v.check()
        let root = try await scope.org(orgID ?? scope.rootID, on: req.db)
        let job = try await start(req, root: root, fileName: fileName, body: body!)
        return try await ImportJobDTO(job).encodeResponse(status: .accepted, for: req)
    }

    @Sendable static func show(req: Request) async throws -> ImportJobDTO {
        ImportJobDTO(try await RosterFiles.job(req, try req.idParameter()))
    }

    @Sendable static func problems(req: Request) async throws -> Response {
        try await RosterFileController().problems(req: req)
    }

    @Sendable static func template(req: Request) async throws -> Response {
        let format = try RosterFiles.format(req)
        return try await RosterFiles.download(req, name: "site-template", format: format, header: SiteColumns.all.map { req.t($0.labelKey) },
                                              widths: SiteColumns.all.map(\.width)) { add in
            try add([.text("建外SOHO暖心驿站"), .text("户外劳动者暖心驿站"), .text(req.t("sites.host.convenienceStore")), .text("好邻居便利店（建外SOHO店）"),
                     .text("建外街道"), .text("朝阳区东三环中路39号"), .number(39.9066), .number(116.4617), .text("gcj02"),
                     .text("周一至周五 07:00-22:00；周六、周日 09:00-20:00"), .text("饮用水、微波炉、手机充电、休息座椅"), .text(req.t("common.yes")),
                     .text(req.t("common.no")), .text("010-65123456"), .text(req.t("sites.state.open")), .text(ShanghaiClock.today().description)])
        }
    }

    /// The registry as XLSX or CSV, with the filters of the list; audited.
    @Sendable static func export(req: Request) async throws -> Response {
        var v = Validator()
        let filter = SiteService.filter(from: req, &v)
        try v.check()
        let format = try RosterFiles.format(req)
        let scope = try req.scope
        let service = SiteService(request: req)
        let total = try await service.query(filter).count()
        let root = try await Organization.find(filter.orgID ?? scope.rootID, on: req.db)
        try await req.audit.record("site.export", targetType: "org", targetID: root?.id, org: root,
                                   details: ["rows": String(total), "format": format, "filter": filter.query])
        let types = Dictionary(uniqueKeysWithValues: try await SiteType.query(on: req.db).all().map { ($0.id ?? "", $0.name(req.lang)) })
        let amenityNames = Dictionary(uniqueKeysWithValues: try await Amenity.query(on: req.db).all().map { ($0.id ?? "", $0.name(req.lang)) })
        return try await RosterFiles.download(req, name: "sites", format: format, header: SiteColumns.all.map { req.t($0.labelKey) },
                                              widths: SiteColumns.all.map(\.width)) { add in
            var lastID = Int.max
            var names: [Int: String] = [:]
            while true {
                let batch = try await service.query(filter).filter(\.$id < lastID).sort(\.$id, .descending).limit(2000).all()
                if batch.isEmpty { break }
                let missing = Set(batch.map(\.orgID)).filter { names[$0] == nil }
                if !missing.isEmpty {
                    for org in try await Organization.query(on: req.db).filter(\.$id ~~ Array(missing)).all() { names[org.id ?? 0] = org.name }
                }
                var amenities: [Int: [String]] = [:]
                for a in try await SiteAmenity.query(on: req.db).filter(\.$siteID ~~ batch.compactMap(\.id)).sort(\.$id).all() {
                    amenities[a.siteID, default: []].append(amenityNames[a.amenityCode] ?? a.amenityCode)
                }
                for s in batch {
                    try add(SiteColumns.cells(s, orgName: names[s.orgID] ?? "", amenities: amenities[s.id ?? 0] ?? [], typeName: types[s.typeCode] ?? s.typeCode, req))
                }
                lastID = batch.last?.id ?? 0
            }
        }
    }
}
