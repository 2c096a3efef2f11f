import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Many clients at once, on both engines: nobody sees a 500 and nothing is stored twice.
@Suite struct ConcurrencyTests {
    /// Sends every request at once and answers the responses in the order given. A client told 503
    /// (the database busy past its wait, on a loaded machine) sends the same request again, as the
    /// app does after `Retry-After`; a 503 must have stored nothing, or the retry would show it.
    static func all(_ app: Application, _ requests: [(HTTPHeaders, String)], path: String) async throws -> [TestingHTTPResponse] {
        try await withThrowingTaskGroup(of: (Int, TestingHTTPResponse).self) { group in
            for (index, (headers, json)) in requests.enumerated() {
                group.addTask {
                    var response = try await app.send(.POST, path, headers, json: json)
                    for _ in 0..<50 where response.status == .serviceUnavailable {
                        #expect(response.headers.first(name: .retryAfter) != nil)
                        response = try await app.send(.POST, path, headers, json: json)
                    }
                    return (index, response)
                }
            }
            var answers = [TestingHTTPResponse?](repeating: nil, count: requests.count)
            for try await (index, response) in group { answers[index] = response }
            return answers.map { $0! }
        }
    }

    @Test func sixteenClientsFilingAppealsAtOnceEachGetOneAppealAndNoError() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            // 16 clients, 8 appeals each, every one different.
            let requests = (0..<128).map { n in
                (HTTPHeaders(), appealJSON(phone: "139\(String(format: "%08d", n))", orgId: f.jianwai.id!, description: "第 \(n) 号：拖欠工资"))
            }
            let answers = try await Self.all(app, requests, path: "/api/v1/appeals")
            #expect(answers.allSatisfy { $0.status == .created }, "\(Set(answers.map(\.status.code)))")
            let numbers = Set(answers.compactMap { $0.json["trackingNumber"] as? String })
            #expect(numbers.count == 128)
            #expect(try await Appeal.query(on: app.db).count() == 128)
            #expect(try await AppealEvent.query(on: app.db).count() == 128)
            #expect(try await app.auditCount("appeal.create") == 128)
            // The tallies count each appeal once.
            let tallied = try await app.db.sql.raw("SELECT CAST(SUM(received) AS BIGINT) AS n FROM appeal_tallies").first()
            #expect(try tallied?.decode(column: "n", as: Int.self) == 128)
        }
    }

    @Test func theSameIdempotencyKeySentEightTimesAtOnceMakesOneAppeal() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            var requests: [(HTTPHeaders, String)] = []
            for key in 0..<20 {
                for _ in 0..<8 {
                    var headers = HTTPHeaders()
                    headers.add(name: "Idempotency-Key", value: "retry-\(key)")
                    requests.append((headers, appealJSON(channel: "app", phone: "1370000\(String(format: "%04d", key))", orgId: f.jianwai.id!,
                                                         description: "合同问题 \(key)")))
                }
            }
            let answers = try await Self.all(app, requests.shuffled(), path: "/api/v1/appeals")
            #expect(answers.allSatisfy { $0.status == .created || $0.status == .ok }, "\(Set(answers.map(\.status.code)))")
            #expect(answers.filter { $0.status == .created }.count == 20)
            #expect(try await Appeal.query(on: app.db).count() == 20)
            #expect(Set(answers.compactMap { $0.json["trackingNumber"] as? String }).count == 20)
        }
    }

    @Test func aDoubleTappedAppealWithoutAKeyIsStillOneAppeal() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let requests = (0..<10).map { _ in (HTTPHeaders(), appealJSON(phone: "13911110000", orgId: f.jianwai.id!)) }
            let answers = try await Self.all(app, requests, path: "/api/v1/appeals")
            #expect(answers.allSatisfy { $0.status == .created || $0.status == .ok }, "\(Set(answers.map(\.status.code)))")
            #expect(try await Appeal.query(on: app.db).count() == 1)
        }
    }

    @Test func aDoubleTappedJoiningApplicationIsOneOpenApplicationPerIDNumber() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            var requests: [(HTTPHeaders, String)] = []
            for person in 0..<20 {
                for _ in 0..<5 {
                    requests.append((HTTPHeaders(), applicationJSON(id: residentID(300 + person), phone: "1380000\(String(format: "%04d", person))",
                                                                    orgId: f.jianwaiUnion.id!)))
                }
            }
            let answers = try await Self.all(app, requests.shuffled(), path: "/api/v1/member-applications")
            #expect(answers.allSatisfy { $0.status == .created || $0.status == .ok }, "\(Set(answers.map(\.status.code)))")
            #expect(try await MemberApplication.query(on: app.db).count() == 20)
        }
    }
}
