import Fluent
import Foundation
import NIOPosix
import Testing
import VaporTesting
@testable import Gonghui
#if canImport(Glibc)
import Glibc
#endif

/// A port nobody listens on, for a test that needs a real connection (and so a peer address).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

extension Application {
    /// Signs in through a real connection from 127.0.0.1, as the client `forwardedFor` behind a proxy.
    func login(_ username: String, _ password: String, from forwardedFor: String? = nil,
               on tester: any TestingApplicationTester) async throws -> TestingHTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let forwardedFor { headers.add(name: .xForwardedFor, value: forwardedFor) }
        return try await tester.sendRequest(.POST, "/api/v1/auth/login", headers: headers,
                                            body: ByteBuffer(string: "{\"username\":\"\(username)\",\"password\":\"\(password)\"}"))
    }
}

@Suite struct SignInAbuseTests {
    /// Wrong passwords slow the name down from that address, and from everywhere only after many;
    /// nobody can lock an account for its owner, and a name backing off is answered exactly as a
    /// wrong password, known or unknown.
    @Test func failuresBackOffPerAddressAndNameInsteadOfLocking() async throws {
        try await withApp(configured: { $0.trustedProxies = [IPRange("127.0.0.1")!] }) { app in
            _ = try await Fixture.make(app)
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: freePort()))
            for _ in 1...6 {
                #expect(try await app.login("admin", "wrong-pass1", from: "203.0.113.7", on: tester).status == .unauthorized)
                #expect(try await app.login("nobody", "wrong-pass1", from: "203.0.113.7", on: tester).status == .unauthorized)
            }
            // from the attacker's address the right password is now answered as a wrong one ...
            let held = try await app.login("admin", Fixture.password, from: "203.0.113.7", on: tester)
            let unknown = try await app.login("nobody", Fixture.password, from: "203.0.113.7", on: tester)
            #expect(held.status == .unauthorized)
            #expect(held.status == unknown.status && held.json["title"] as? String == unknown.json["title"] as? String)
            #expect(held.json["title"] as? String == "用户名或密码错误")
            #expect(held.headers.first(name: .retryAfter) == nil)
            // ... while the admin signs in from the office as usual
            #expect(try await app.login("admin", Fixture.password, from: "198.51.100.20", on: tester).status == .ok)
            #expect(try await app.auditCount("auth.login.failed") == 14)

            // many addresses together hold the name back (20 failures), until an administrator lifts it
            for n in 1...21 {
                _ = try await app.login("haidian", "wrong-pass1", from: "192.0.2.\(n)", on: tester)
            }
            #expect(try await app.login("haidian", Fixture.password, from: "198.51.100.20", on: tester).status == .unauthorized)
            let admin = try await app.token("admin")
            let staff = try #require(try await StaffUser.query(on: app.db).filter(\.$username == "haidian").first())
            #expect(try await app.send(.GET, "/api/v1/staff/\(staff.id!)", admin).json["locked"] as? Bool == true)
            let unlocked = try await app.send(.PATCH, "/api/v1/staff/\(staff.id!)", admin, json: "{\"unlock\":true}")
            #expect(unlocked.json["locked"] as? Bool == false)
            #expect(try await app.login("haidian", Fixture.password, from: "198.51.100.20", on: tester).status == .ok)
        }
    }

    /// `X-Forwarded-For` counts only from a configured proxy, and only up to the first hop that is
    /// not one: a forged header neither changes the audit's address nor escapes a per-address limit.
    @Test func forwardedForIsBelievedOnlyFromConfiguredProxies() async throws {
        let proxies = [IPRange("10.0.0.0/8")!, IPRange("::1")!]
        #expect(ClientAddress.resolve(remote: "198.51.100.9", forwardedFor: ["1.2.3.4"], trusted: []) == "198.51.100.9")
        #expect(ClientAddress.resolve(remote: "198.51.100.9", forwardedFor: ["1.2.3.4"], trusted: proxies) == "198.51.100.9")
        #expect(ClientAddress.resolve(remote: "10.1.2.3", forwardedFor: ["1.2.3.4"], trusted: proxies) == "1.2.3.4")
        // the client may write anything to the left of what the proxies add
        #expect(ClientAddress.resolve(remote: "10.1.2.3", forwardedFor: ["6.6.6.6, 1.2.3.4", "10.9.9.9"], trusted: proxies) == "1.2.3.4")
        #expect(ClientAddress.resolve(remote: "10.1.2.3", forwardedFor: ["nonsense"], trusted: proxies) == "10.1.2.3")
        #expect(ClientAddress.resolve(remote: "::1", forwardedFor: ["::ffff:192.0.2.1"], trusted: proxies) == "192.0.2.1")
        #expect(IPRange("10.0.0.0/33") == nil && IPRange("example.org") == nil)
        #expect(throws: GonghuiConfig.Problem.self) { try GonghuiConfig.fromEnvironment(["GONGHUI_TRUSTED_PROXIES": "10.0.0.0/8,proxy"]) }
        #expect(try GonghuiConfig.fromEnvironment(["GONGHUI_TRUSTED_PROXIES": "10.0.0.0/8, ::1"]).trustedProxies.count == 2)

        try await withApp { app in
            _ = try await Fixture.make(app)
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: freePort()))
            #expect(try await app.login("admin", Fixture.password, from: "6.6.6.6", on: tester).status == .ok)
            let event = try #require(try await AuditEvent.query(on: app.db).filter(\.$action == "auth.login").first())
            #expect(event.ip == "127.0.0.1")
        }
    }

    /// Codes are counted per address and per number apart: asking for a member's codes from one
    /// address never stops them arriving from another, and a number's own cap lasts an hour.
    @Test func codeRequestsAreCountedPerAddressAndPerNumber() async throws {
        try await withApp(configured: { $0.trustedProxies = [IPRange("127.0.0.1")!] }) { app in
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: freePort()))
            func ask(_ phone: String, from address: String) async throws -> TestingHTTPResponse {
                try await tester.sendRequest(.POST, "/api/v1/member-auth/code",
                                             headers: ["Content-Type": "application/json", "X-Forwarded-For": address],
                                             body: ByteBuffer(string: "{\"phone\":\"\(phone)\"}"))
            }
            #expect(try await ask("13912345678", from: "203.0.113.7").status == .accepted)
            #expect(try await ask("13912345678", from: "203.0.113.7").status == .tooManyRequests)
            #expect(try await ask("13912345678", from: "198.51.100.20").status == .accepted)
            // a day of requests from the attacker's address holds that address only
            for _ in 1...10 {
                let code = OneTimeCode()
                (code.phone, code.purpose, code.codeHash, code.expiresAt, code.attempts, code.ip) =
                    ("13900000001", "signIn", "x", Date(), 0, "203.0.113.7")
                try await code.create(on: app.db)
                code.createdAt = Date().addingTimeInterval(-7200)
                try await code.save(on: app.db)
            }
            let attacker = try await ask("13900000001", from: "203.0.113.7")
            #expect(attacker.status == .tooManyRequests)
            #expect(attacker.json["detail"] as? String == "该号码今天获取验证码的次数已达上限，请明天再试。")
            #expect(try await ask("13900000001", from: "198.51.100.20").status == .accepted)
            // ten an hour from everywhere together, then a wait of at most an hour
            for n in 1...9 { #expect(try await ask("13900000002", from: "192.0.2.\(n)").status == .accepted) }
            #expect(try await ask("13900000002", from: "192.0.2.10").status == .accepted)
            let flooded = try await ask("13900000002", from: "192.0.2.11")
            #expect(flooded.status == .tooManyRequests)
            let wait = Int(flooded.headers.first(name: .retryAfter) ?? "") ?? 0
            #expect((1...3600).contains(wait))
        }
    }

    /// Bcrypt runs on its own threads, a bounded number waiting; beyond that, 503 at once.
    @Test func passwordWorkIsBoundedAndOffTheRequestThreads() async throws {
        let work = PasswordWork(cost: 4, threads: 1, maxWaiting: 2)
        let hash = try await work.hash("secret123")
        #expect(try await work.verify("secret123", created: hash))
        #expect(try await !work.verify("wrong", created: hash))
        let gate = DispatchSemaphore(value: 0)
        let held = (0..<2).map { _ in Task { try await work.run { gate.wait(); return MultiThreadedEventLoopGroup.currentEventLoop == nil } } }
        while work.inFlight < 2 { await Task.yield() }
        await #expect(throws: AppError.self) { _ = try await work.verify("secret123", created: hash) }
        gate.signal()
        gate.signal()
        for task in held { #expect(try await task.value) }
        #expect(work.inFlight == 0)
        try await work.pool.shutdownGracefully()
    }
}
