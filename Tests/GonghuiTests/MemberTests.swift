import Crypto
import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Logging
import Testing
import VaporTesting
@testable import Gonghui

/// Valid resident ID numbers for tests: a Chaoyang address code, a birth date, a sequence.
func residentID(_ sequence: Int, born: String = "19900101", area: String = "110105") -> String {
    let seq = String(format: "%03d", sequence % 1000)
    let body = area + born + seq
    return body + String(ResidentID.checkCharacter(for: body)!)
}

func applicationJSON(name: String = "王小红", id: String, phone: String = "13800138000", orgId: Int? = nil,
                     employer: String = "北京华联科技有限公司", extra: String = "") -> String {
    var json = "{\"name\":\"\(name)\",\"idNumber\":\"\(id)\",\"phone\":\"\(phone)\",\"employerName\":\"\(employer)\""
    if let orgId { json += ",\"orgId\":\(orgId)" }
    return json + extra + "}"
}

extension LogCapture {
    /// The code in the newest text message the development SMS driver wrote to the log.
    func lastCode() -> String? {
        guard let line = lines.withLockedValue({ $0.last { $0.contains("SMS (development driver)") } }) else { return nil }
        let digits = line.split(whereSeparator: { !$0.isNumber }).map(String.init)
        return digits.first { $0.count == 6 }
    }
}

@Suite struct MemberApplicationTests {
    @Test func aWorkerAppliesAndStaffApproveIntoAMemberWithACard() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let id = residentID(21)
            let created = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: id, orgId: f.jianwai.id!))
            #expect(created.status == .created, "\(created.body.string)")
            #expect(created.json["status"] as? String == "pending")
            let appID = try #require(created.json["id"] as? Int)

            let jianwai = try await app.token("jianwai")
            let queue = try await app.send(.GET, "/api/v1/member-applications?status=pending", jianwai)
            let items = queue.json["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["id"] as? Int } == [appID])
            #expect(items.first?["idNumberMasked"] as? String == "110105********" + String(id.suffix(4)))
            #expect(!queue.body.string.contains(id))
            #expect(!queue.body.string.contains("13800138000"))

            // It sits with the street: the street names the union on approval.
            let noUnion = try await app.send(.POST, "/api/v1/member-applications/\(appID)/approve", jianwai, json: "{}")
            #expect(noUnion.status == .unprocessableEntity)
            #expect(noUnion.problemFields == ["orgId"])
            let approved = try await app.send(.POST, "/api/v1/member-applications/\(appID)/approve", jianwai, json: "{\"orgId\":\(f.jianwaiUnion.id!)}")
            #expect(approved.status == .ok, "\(approved.body.string)")
            let memberID = try #require(approved.json["memberId"] as? Int)
            let card = try #require(approved.json["cardNumber"] as? String)
            #expect((try? CardNumber(parsing: card)) != nil)
            #expect(card.hasPrefix("1100"))

            let member = try await app.send(.GET, "/api/v1/members/\(memberID)", jianwai)
            #expect(member.json["idNumberMasked"] as? String == ResidentID.mask(id))
            #expect(member.json["phoneMasked"] as? String == "138****8000")
            #expect(member.json["orgId"] as? Int == f.jianwaiUnion.id!)
            #expect(member.json["sex"] as? String == (Int(String(id.dropLast().suffix(1)))! % 2 == 1 ? "M" : "F"))
            #expect(!member.body.string.contains(id))

            // Approving twice is refused with a message. Applying again with a member's ID number is
            // answered like any application (the public form does not tell whose number is a member's);
            // staff find it already a member when they approve it.
            #expect(try await app.send(.POST, "/api/v1/member-applications/\(appID)/approve", jianwai, json: "{\"orgId\":\(f.jianwaiUnion.id!)}").status == .conflict)
            let again = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(name: "别人", id: id, phone: "13900001111"))
            let fresh = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(name: "别人", id: residentID(77), phone: "13900001112"))
            #expect(again.status == fresh.status && again.json.keys.sorted() == fresh.json.keys.sorted())
            #expect(again.json["status"] as? String == "pending")
            #expect(!again.body.string.contains("王小红") && !again.body.string.contains("华联"))
            let refused = try await app.send(.POST, "/api/v1/member-applications/\(again.json["id"] as! Int)/approve", try await app.token("admin"),
                                             json: "{\"orgId\":\(f.jianwaiUnion.id!)}")
            #expect(refused.status == .conflict)
            #expect((refused.json["detail"] as? String)?.contains("已是在册会员") == true)
            #expect(try await app.auditCount("member.application.approve") == 1)
        }
    }

    @Test func everyBadFieldIsNamedInOneProblem() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let bad = try await app.send(.POST, "/api/v1/member-applications", json: """
                {"name":"123","idNumber":"11010519491231003X","phone":"1234","employerName":"","employerCreditCode":"91350100M000100Y44","orgId":999999}
                """)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.headers.contentType?.description.hasPrefix("application/problem+json") == true)
            #expect(Set(bad.problemFields) == ["name", "idNumber", "phone", "employerName", "employerCreditCode", "orgId"])
            let codes = (bad.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            #expect(codes.contains("checksum"))
            let young = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(1, born: "20150101")))
            #expect(young.problemFields == ["idNumber"])
            #expect((young.json["errors"] as? [[String: Any]])?.first?["code"] as? String == "tooYoung")
            let typed = try await app.send(.POST, "/api/v1/member-applications", json: "{\"name\":\"王\",\"idNumber\":110105,\"phone\":\"13800138000\",\"employerName\":\"x\"}")
            #expect(typed.status == .unprocessableEntity)
            #expect(typed.problemFields == ["idNumber"])
            var english = HTTPHeaders()
            english.add(name: .acceptLanguage, value: "en")
            let en = try await app.send(.POST, "/api/v1/member-applications", english, json: applicationJSON(id: "11010519491231003X"))
            #expect((en.json["errors"] as? [[String: Any]])?.first?["message"] as? String == "The ID number's check character does not match; please check for a typo")
            // Full-width digits and a lowercase x are fine.
            let wide = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: "１１０１０５１９４９１２３１００２ｘ", phone: "+86 138 0013 8000"))
            #expect(wide.status == .created, "\(wide.body.string)")
            #expect(try await app.auditCount("member.application.submit") == 1)
        }
    }

    @Test func anApplicationWithoutAUnionGoesToTheCityAndARepeatIsTheSameApplication() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let id = residentID(33)
            let first = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: id))
            let second = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(name: "王晓红", id: id))
            #expect(first.json["id"] as? Int == second.json["id"] as? Int)
            // someone else who knows the number cannot take the application over with another phone
            let takeover = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: id, phone: "13911112222"))
            #expect(takeover.status == .conflict)
            let stored = try await MemberApplication.query(on: app.db).all()
            #expect(stored.count == 1)
            #expect(stored.first?.orgID == f.city.id)
            #expect(stored.first?.phone == "13800138000")
            #expect(stored.first?.name == "王晓红")
            // A district account does not see the city's unassigned queue; the city does.
            let chaoyang = try await app.token("chaoyang")
            #expect((try await app.send(.GET, "/api/v1/member-applications", chaoyang).json["total"] as? Int) == 0)
            let admin = try await app.token("admin")
            #expect((try await app.send(.GET, "/api/v1/member-applications", admin).json["total"] as? Int) == 1)
            // the city passes it to Chaoyang, which then sees it and can pass it to its street, not to Haidian's
            let appID = first.json["id"] as! Int
            let assigned = try await app.send(.POST, "/api/v1/member-applications/\(appID)/assign", admin, json: "{\"orgId\":\(f.chaoyang.id!)}")
            #expect(assigned.json["orgId"] as? Int == f.chaoyang.id!)
            #expect((try await app.send(.GET, "/api/v1/member-applications", chaoyang).json["total"] as? Int) == 1)
            let across = try await app.send(.POST, "/api/v1/member-applications/\(appID)/assign", chaoyang, json: "{\"orgId\":\(f.zhongguancun.id!)}")
            #expect(across.problemFields == ["orgId"])
            #expect(try await app.send(.POST, "/api/v1/member-applications/\(appID)/assign", try await app.token("haidian"), json: "{\"orgId\":\(f.zhongguancun.id!)}").status == .notFound)
            let down = try await app.send(.POST, "/api/v1/member-applications/\(appID)/assign", chaoyang, json: "{\"orgId\":\(f.jianwai.id!)}")
            #expect(down.json["orgId"] as? Int == f.jianwai.id!)
            #expect(try await app.auditCount("member.application.assign") == 2)
            // and the street's console page offers its approval
            let street = try await ConsoleSession.signIn(app, "jianwai")
            let page = try await street.get("/console/applications/\(appID)")
            #expect(page.status == .ok)
            #expect(page.body.string.contains(f.jianwaiUnion.name))
        }
    }

    @Test func rejectAndRequestInfoNeedAReasonAndTheApplicantReadsItByCode() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            let f = try await Fixture.make(app)
            let id = residentID(45)
            let created = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: id, phone: "13712345678", orgId: f.jianwaiUnion.id!))
            let appID = created.json["id"] as! Int
            let union = try await app.token("jwunion")
            let noReason = try await app.send(.POST, "/api/v1/member-applications/\(appID)/request-info", union, json: "{}")
            #expect(noReason.problemFields == ["reason"])
            let info = try await app.send(.POST, "/api/v1/member-applications/\(appID)/request-info", union, json: "{\"reason\":\"请补充工作单位全称\"}")
            #expect(info.json["status"] as? String == "needsInfo")

            // The applicant: code to the phone, then the status.
            let sent = try await app.send(.POST, "/api/v1/member-applications/status-code", json: "{\"phone\":\"13712345678\"}")
            #expect(sent.status == .accepted)
            let code = try #require(capture.lastCode())
            #expect(!capture.lines.withLockedValue { $0.joined() }.contains("13712345678"))
            let wrong = try await app.send(.POST, "/api/v1/member-applications/status", json: "{\"phone\":\"13712345678\",\"code\":\"\(code == "000000" ? "111111" : "000000")\"}")
            #expect(wrong.problemFields == ["code"])
            let status = try await app.send(.POST, "/api/v1/member-applications/status", json: "{\"phone\":\"13712345678\",\"code\":\"\(code)\"}")
            let items = status.json["items"] as? [[String: Any]] ?? []
            #expect(items.first?["status"] as? String == "needsInfo")
            #expect(items.first?["reason"] as? String == "请补充工作单位全称")
            // A code is spent once.
            #expect(try await app.send(.POST, "/api/v1/member-applications/status", json: "{\"phone\":\"13712345678\",\"code\":\"\(code)\"}").problemFields == ["code"])
            // Another code within a minute is refused with Retry-After.
            let soon = try await app.send(.POST, "/api/v1/member-applications/status-code", json: "{\"phone\":\"13712345678\"}")
            #expect(soon.status == .tooManyRequests)
            #expect(soon.headers.first(name: .retryAfter) != nil)

            // Resubmitting brings it back to pending; then a rejection with a reason.
            _ = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: id, phone: "13712345678", orgId: f.jianwaiUnion.id!, employer: "北京华联科技股份有限公司"))
            #expect(try await MemberApplication.find(appID, on: app.db)?.status == .pending)
            let rejected = try await app.send(.POST, "/api/v1/member-applications/\(appID)/reject", union, json: "{\"reason\":\"非本单位职工\"}")
            #expect(rejected.json["status"] as? String == "rejected")
            #expect(try await app.send(.POST, "/api/v1/member-applications/\(appID)/approve", union, json: "{}").status == .conflict)
        }
    }

    @Test func codesExpireAndFiveWrongTriesLockTheCode() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            _ = try await Fixture.make(app)
            _ = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(7), phone: "13600000001"))
            _ = try await app.send(.POST, "/api/v1/member-applications/status-code", json: "{\"phone\":\"13600000001\"}")
            let code = try #require(capture.lastCode())
            let wrong = code == "999999" ? "000000" : "999999"
            for _ in 0..<5 {
                #expect(try await app.send(.POST, "/api/v1/member-applications/status", json: "{\"phone\":\"13600000001\",\"code\":\"\(wrong)\"}").status == .unprocessableEntity)
            }
            #expect(try await app.send(.POST, "/api/v1/member-applications/status", json: "{\"phone\":\"13600000001\",\"code\":\"\(code)\"}").status == .tooManyRequests)
            // An expired code is refused.
            try await OneTimeCode.query(on: app.db).set(\.$expiresAt, to: Date().addingTimeInterval(-1)).set(\.$attempts, to: 0).update()
            let expired = try await app.send(.POST, "/api/v1/member-applications/status", json: "{\"phone\":\"13600000001\",\"code\":\"\(code)\"}")
            #expect((expired.json["errors"] as? [[String: Any]])?.first?["code"] as? String == "expired")
        }
    }
}

@Suite struct FieldCipherTests {
    /// The blind index is what every stored member is found and kept unique by: it must not change
    /// with the way it is computed. Pinned to HMAC-SHA256 under the HKDF-derived key, first 16 bytes.
    @Test func theBlindIndexIsTheKeyedHMACAndStable() throws {
        let key = [UInt8](repeating: 7, count: 32)
        let cipher = FieldCipher(dataKey: key)
        let indexKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: key), info: Data("gonghui/hmac/resident-id".utf8), outputByteCount: 32)
        for id in ["11010519491231002X", "110105199001010011", "", "王"] {
            let expected = HMAC<SHA256>.authenticationCode(for: Array(id.utf8), using: indexKey).prefix(16).map { String(format: "%02x", $0) }.joined()
            #expect(cipher.blindIndex(id) == expected)
            #expect(cipher.blindIndex(id) == cipher.blindIndex(id))
        }
        #expect(cipher.blindIndex("11010519491231002X") != cipher.blindIndex("11010519491231003X"))
        #expect(try cipher.open(cipher.seal("11010519491231002X")) == "11010519491231002X")
    }
}

@Suite struct MemberScopeAndPrivacyTests {
    /// Makes an approved member in the given union through the API.
    static func member(_ app: Application, seq: Int, union: Organization, staff: String, phone: String = "13800138000",
                       name: String = "王小红", employer: String = "北京华联科技有限公司") async throws -> (id: Int, card: String, idNumber: String) {
        let id = residentID(seq)
        let created = try await app.send(.POST, "/api/v1/member-applications",
                                         json: applicationJSON(name: name, id: id, phone: phone, orgId: union.id!, employer: employer))
        let auth = try await app.token(staff)
        let approved = try await app.send(.POST, "/api/v1/member-applications/\(created.json["id"] as! Int)/approve", auth, json: "{}")
        return (approved.json["memberId"] as! Int, approved.json["cardNumber"] as! String, id)
    }

    @Test func siblingDistrictsCannotReachEachOthersMembersOrApplications() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let ours = try await Self.member(app, seq: 101, union: f.jianwaiUnion, staff: "jianwai")
            let theirs = try await Self.member(app, seq: 102, union: f.zgcUnion, staff: "zgc")
            let pending = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(103), orgId: f.zgcUnion.id!))
            let pendingID = pending.json["id"] as! Int
            let chaoyang = try await app.token("chaoyang")
            #expect(try await app.send(.GET, "/api/v1/members/\(theirs.id)", chaoyang).status == .notFound)
            #expect(try await app.send(.PATCH, "/api/v1/members/\(theirs.id)", chaoyang, json: "{\"status\":\"left\"}").status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/members/\(theirs.id)/reveal", chaoyang).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/members/\(theirs.id)/card", chaoyang, json: "{\"action\":\"lost\"}").status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/members/\(theirs.id)/transfers", chaoyang, json: "{\"toOrgId\":\(f.jianwaiUnion.id!)}").status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/member-applications/\(pendingID)", chaoyang).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/member-applications/\(pendingID)/approve", chaoyang, json: "{\"orgId\":\(f.jianwaiUnion.id!)}").status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/member-applications/\(pendingID)/reject", chaoyang, json: "{\"reason\":\"x\"}").status == .notFound)
            // search by their exact ID number, card and phone finds nothing
            for q in [theirs.idNumber, theirs.card, "13800138000"] {
                let found = try await app.send(.GET, "/api/v1/members?q=\(q)", chaoyang)
                let ids = (found.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
                #expect(!ids.contains(theirs.id))
            }
            let own = try await app.send(.GET, "/api/v1/members?q=\(ours.idNumber)", chaoyang)
            #expect((own.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int } == [ours.id])
            // names and employers by their beginning; a mistyped card number finds nothing, not names
            for q in ["王小", "王小红", "北京华联"] {
                let found = try await app.send(.GET, "/api/v1/members?q=\(q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", chaoyang)
                #expect((found.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int } == [ours.id], "\(q)")
            }
            let typo = String(ours.card.dropLast()) + String((Int(String(ours.card.last!))! + 1) % 10)
            #expect((try await app.send(.GET, "/api/v1/members?q=\(typo)", chaoyang).json["total"] as? Int) == 0)
            #expect(try await app.send(.GET, "/api/v1/members?orgId=\(f.zgcUnion.id!)", chaoyang).status == .notFound)
            let export = try await app.send(.GET, "/api/v1/members/export?format=csv", chaoyang)
            #expect(export.status == .ok)
            #expect(export.body.string.contains(ours.card) && !export.body.string.contains(theirs.card))
            // approving into the other side's union is refused
            let mine = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(104), orgId: f.jianwai.id!))
            let steal = try await app.send(.POST, "/api/v1/member-applications/\(mine.json["id"] as! Int)/approve", chaoyang, json: "{\"orgId\":\(f.zgcUnion.id!)}")
            #expect(steal.problemFields == ["orgId"])
            // a hotline agent keeps no rosters
            let hotline = try await app.token("hotline")
            #expect(try await app.send(.GET, "/api/v1/members", hotline).status == .forbidden)
            #expect(try await Member.find(theirs.id, on: app.db)?.status == .active)
        }
    }

    @Test func idNumbersAreEncryptedMaskedAndRevealedOnlyWithPermissionAndAudit() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            app.logger.logLevel = .trace
            let f = try await Fixture.make(app)
            let m = try await Self.member(app, seq: 201, union: f.jianwaiUnion, staff: "jianwai")
            // in the database: neither the number nor its tail in clear
            let rows = try await (app.db as! any SQLDatabase).raw("SELECT * FROM members").all()
            for row in rows {
                for column in row.allColumns {
                    if let text = try? row.decode(column: column, as: String.self) { #expect(!text.contains(m.idNumber)) }
                    if let data = try? row.decode(column: column, as: Data.self) { #expect(!String(decoding: data, as: UTF8.self).contains(m.idNumber)) }
                }
            }
            let apps = try await (app.db as! any SQLDatabase).raw("SELECT * FROM member_applications").all()
            for row in apps { for column in row.allColumns { if let text = try? row.decode(column: column, as: String.self) { #expect(!text.contains(m.idNumber)) } } }
            // union admins see it masked only
            let union = try await app.token("jwunion")
            #expect(try await app.send(.POST, "/api/v1/members/\(m.id)/reveal", union).status == .forbidden)
            #expect(try await app.send(.GET, "/api/v1/members/export?format=csv&whole=true", union).status == .forbidden)
            let street = try await app.token("jianwai")
            let reveal = try await app.send(.POST, "/api/v1/members/\(m.id)/reveal", street)
            #expect(reveal.json["idNumber"] as? String == m.idNumber)
            #expect(try await app.auditCount("member.reveal") == 1)
            let masked = try await app.send(.GET, "/api/v1/members/export?format=csv", street)
            #expect(masked.body.string.contains(ResidentID.mask(m.idNumber)) && !masked.body.string.contains(m.idNumber))
            let whole = try await app.send(.GET, "/api/v1/members/export?format=csv&whole=true", street)
            #expect(whole.body.string.contains(m.idNumber))
            #expect(try await app.auditCount("member.export") == 1)
            #expect(try await app.auditCount("member.export.whole") == 1)
            // searching by a whole number and exporting: the audit line holds it masked only
            _ = try await app.send(.GET, "/api/v1/members/export?format=csv&q=\(m.idNumber)", street)
            let details = try await AuditEvent.query(on: app.db).filter(\.$action == "member.export").all().compactMap(\.details)
            #expect(details.contains { $0.contains(ResidentID.mask(m.idNumber)) })
            #expect(!details.contains { $0.contains(m.idNumber) })
            // a hotline agent in scope still cannot open a member
            #expect(try await app.send(.GET, "/api/v1/members/\(m.id)", try await app.token("hotline")).status == .forbidden)
            let xlsx = try await app.send(.GET, "/api/v1/members/export?format=xlsx", street)
            #expect(xlsx.status == .ok)
            #expect(xlsx.body.readableBytesView.starts(with: [0x50, 0x4B, 0x03, 0x04]))
            // never in a log line
            let log = capture.lines.withLockedValue { $0.joined(separator: "\n") }
            #expect(!log.contains(m.idNumber))
            #expect(!log.contains("13800138000"))
        }
    }

    @Test func statusCardAndHistory() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let m = try await Self.member(app, seq: 301, union: f.jianwaiUnion, staff: "jianwai")
            let auth = try await app.token("jwunion")
            let lost = try await app.send(.POST, "/api/v1/members/\(m.id)/card", auth, json: "{\"action\":\"lost\"}")
            #expect(lost.json["cardState"] as? String == "lost")
            let replaced = try await app.send(.POST, "/api/v1/members/\(m.id)/card", auth, json: "{\"action\":\"replace\"}")
            let newCard = try #require(replaced.json["cardNumber"] as? String)
            #expect(newCard != m.card && (try? CardNumber(parsing: newCard)) != nil)
            let bad = try await app.send(.PATCH, "/api/v1/members/\(m.id)", auth, json: "{\"status\":\"gone\",\"phone\":\"12\"}")
            #expect(Set(bad.problemFields) == ["status", "phone"])
            let left = try await app.send(.PATCH, "/api/v1/members/\(m.id)", auth, json: "{\"status\":\"left\",\"note\":\"离职\"}")
            #expect(left.json["status"] as? String == "left")
            let kinds = (left.json["history"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(kinds == ["joined", "cardLost", "cardReplaced", "statusChanged"])
            // deleting the union is blocked while it holds members
            let admin = try await app.token("admin")
            let delete = try await app.send(.DELETE, "/api/v1/orgs/\(f.jianwaiUnion.id!)", admin)
            #expect(delete.status == .conflict)
        }
    }
}

@Suite struct MemberSelfServiceTests {
    @Test func aMemberSignsInByCodeSeesTheCardChangesThePhoneAndTransfers() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            let f = try await Fixture.make(app)
            let m = try await MemberScopeAndPrivacyTests.member(app, seq: 401, union: f.jianwaiUnion, staff: "jianwai", phone: "13511112222")
            // an unknown number gets the same answer and no message
            func smsCount() -> Int { capture.lines.withLockedValue { $0.filter { $0.contains("SMS (development driver)") }.count } }
            let before = smsCount()
            #expect(try await app.send(.POST, "/api/v1/member-auth/code", json: "{\"phone\":\"13599998888\"}").status == .accepted)
            #expect(smsCount() == before)
            // and a second try within the minute is refused the same way as for a real member's number
            #expect(try await app.send(.POST, "/api/v1/member-auth/code", json: "{\"phone\":\"13599998888\"}").status == .tooManyRequests)
            #expect(try await app.send(.POST, "/api/v1/member-auth/code", json: "{\"phone\":\"13511112222\"}").status == .accepted)
            let code = try #require(capture.lastCode())
            let login = try await app.send(.POST, "/api/v1/member-auth/login", json: "{\"phone\":\"13511112222\",\"code\":\"\(code)\"}")
            #expect(login.status == .ok, "\(login.body.string)")
            let token = try #require(login.json["token"] as? String)
            #expect(token.hasPrefix("ghm_"))
            var auth = HTTPHeaders()
            auth.bearerAuthorization = .init(token: token)
            let card = try await app.send(.GET, "/api/v1/me/card", auth)
            #expect(card.json["cardNumber"] as? String == m.card)
            #expect(card.json["unionName"] as? String == f.jianwaiUnion.name)
            // a member token is not a staff token, and the reverse
            #expect(try await app.send(.GET, "/api/v1/members", auth).status == .unauthorized)
            #expect(try await app.send(.GET, "/api/v1/me/card", try await app.token("jianwai")).status == .unauthorized)

            // a new number, confirmed by a code sent to it
            #expect(try await app.send(.POST, "/api/v1/me/phone/code", auth, json: "{\"phone\":\"13633334444\"}").status == .accepted)
            let phoneCode = try #require(capture.lastCode())
            let changed = try await app.send(.POST, "/api/v1/me/phone", auth, json: "{\"phone\":\"13633334444\",\"code\":\"\(phoneCode)\"}")
            #expect(changed.status == .ok)
            #expect(try await Member.find(m.id, on: app.db)?.phone == "13633334444")

            // a transfer to a union in another district, accepted by its staff; the card follows
            let unions = try await app.send(.GET, "/api/v1/unions?q=中科", auth)
            #expect((unions.json["items"] as? [[String: Any]])?.first?["id"] as? Int == f.zgcUnion.id!)
            let asked = try await app.send(.POST, "/api/v1/me/transfers", auth, json: "{\"toOrgId\":\(f.zgcUnion.id!),\"reason\":\"换工作\"}")
            #expect(asked.status == .created, "\(asked.body.string)")
            let transferID = try #require(asked.json["id"] as? Int)
            #expect(try await app.send(.POST, "/api/v1/me/transfers", auth, json: "{\"toOrgId\":\(f.zgcUnion.id!)}").status == .conflict)
            // the sending side cannot accept it; the receiving side can
            let jianwai = try await app.token("jianwai")
            #expect(try await app.send(.POST, "/api/v1/member-transfers/\(transferID)/accept", jianwai).status == .notFound)
            let zgc = try await app.token("zgc")
            let incoming = try await app.send(.GET, "/api/v1/member-transfers?direction=incoming&status=pending", zgc)
            #expect((incoming.json["items"] as? [[String: Any]])?.count == 1)
            let accepted = try await app.send(.POST, "/api/v1/member-transfers/\(transferID)/accept", zgc)
            #expect(accepted.json["status"] as? String == "accepted")
            let moved = try await Member.find(m.id, on: app.db)
            #expect(moved?.orgID == f.zgcUnion.id && moved?.cardNumber == m.card)
            // the new side sees the member, the old side no longer does
            #expect(try await app.send(.GET, "/api/v1/members/\(m.id)", zgc).status == .ok)
            #expect(try await app.send(.GET, "/api/v1/members/\(m.id)", jianwai).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/me/logout", auth).status == .noContent)
            #expect(try await app.send(.GET, "/api/v1/me/card", auth).status == .unauthorized)
        }
    }

    @Test func aFormerMemberOfAnotherDistrictIsNotPulledInAndLeavingCancelsATransfer() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let m = try await MemberScopeAndPrivacyTests.member(app, seq: 701, union: f.zgcUnion, staff: "zgc")
            let zgc = try await app.token("zgc")
            // a transfer waits; then the member leaves: the transfer is cancelled, not accepted later
            let asked = try await app.send(.POST, "/api/v1/members/\(m.id)/transfers", zgc, json: "{\"toOrgId\":\(f.jianwaiUnion.id!)}")
            #expect(asked.status == .created)
            _ = try await app.send(.PATCH, "/api/v1/members/\(m.id)", zgc, json: "{\"status\":\"left\"}")
            let jianwai = try await app.token("jianwai")
            let accept = try await app.send(.POST, "/api/v1/member-transfers/\(asked.json["id"] as! Int)/accept", jianwai)
            #expect(accept.status == .conflict)
            #expect(try await Member.find(m.id, on: app.db)?.orgID == f.zgcUnion.id)
            // the former member applies in Chaoyang: staff there cannot pull Haidian's record in
            let again = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: m.idNumber, phone: "13700007777", orgId: f.jianwaiUnion.id!))
            #expect(again.status == .created)
            let approve = try await app.send(.POST, "/api/v1/member-applications/\(again.json["id"] as! Int)/approve", jianwai, json: "{}")
            #expect(approve.status == .conflict)
            #expect((approve.json["detail"] as? String)?.contains("其他工会") == true)
            #expect(try await Member.find(m.id, on: app.db)?.orgID == f.zgcUnion.id)
            // the union holding the record can bring the member back
            let zgcApp = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(702), orgId: f.zgcUnion.id!))
            #expect(try await app.send(.POST, "/api/v1/member-applications/\(zgcApp.json["id"] as! Int)/approve", zgc, json: "{}").status == .ok)
            let restored = try await app.send(.PATCH, "/api/v1/members/\(m.id)", zgc, json: "{\"status\":\"active\"}")
            #expect(restored.json["status"] as? String == "active")
        }
    }
}
