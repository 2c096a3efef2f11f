import ConsoleKit
import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import NIOConcurrencyHelpers
import Testing
import VaporTesting
@testable import Gonghui

/// Hardship files made by inserting the models directly (the filing workflow is tested elsewhere).
enum ArchiveFiles {
    static func day(_ offset: Int) -> String { ShanghaiClock.today().adding(days: offset).description }

    @discardableResult
    static func file(_ app: Application, under org: Organization, state: HouseholdState = .active, category: HouseholdCategory = .deep,
                     causes: String = "illness", changedOn: String? = nil, closedOn: String? = nil, name: String = "王建国") async throws -> HardshipHousehold {
        let h = HardshipHousehold()
        h.orgID = org.id!
        h.fileNumber = "T" + UUID().uuidString.prefix(12)
        h.subjectName = name
        h.subjectSex = "M"
        h.state = state
        h.category = category
        h.migrantWorker = false
        h.singleParent = false
        h.causes = causes
        h.householdSize = 3
        h.annualIncomeFen = 2_400_000
        h.medicalFen = 0
        h.disabilityFen = 0
        h.schoolingFen = 0
        h.housingFen = 0
        h.otherExpenseFen = 0
        h.recoverAid = false
        h.changedOn = changedOn ?? day(0)
        h.closedOn = closedOn
        try await h.create(on: app.db)
        let p = HardshipPerson()
        p.householdID = h.id!
        p.name = name
        p.relation = "self"
        p.idCipher = Data([1, 2, 3])
        p.idIndex = UUID().uuidString
        p.birthDate = "1980-01-01"
        p.monthlyIncomeFen = 0
        p.active = !state.isClosed
        try await p.create(on: app.db)
        try await event(app, h, "submit", at: Date())
        return h
    }

    static func event(_ app: Application, _ h: HardshipHousehold, _ action: String, at: Date) async throws {
        let e = HouseholdEvent()
        e.householdID = h.id!
        e.action = action
        e.at = at
        try await e.create(on: app.db)
    }
}

/// A console that keeps what a command prints.
final class CapturedConsole: Console, @unchecked Sendable {
    let lines = NIOLockedValueBox<[String]>([])
    var userInfo: [AnySendableHashable: any Sendable] = [:]
    var size: (width: Int, height: Int) { (120, 40) }
    func input(isSecure: Bool) -> String { "" }
    func output(_ text: ConsoleText, newLine: Bool) { lines.withLockedValue { $0.append(text.description) } }
    func clear(_ type: ConsoleClear) {}
    func report(error: String, newLine: Bool) { lines.withLockedValue { $0.append(error) } }
    var text: String { lines.withLockedValue { $0.joined(separator: "\n") } }
}

extension Application {
    /// Runs `gonghui <arguments>` through the app's commands and answers what it printed.
    func runCommand(_ name: String, _ arguments: [String]) async throws -> String {
        let console = CapturedConsole()
        var context = CommandContext(console: console, input: CommandInput(arguments: ["gonghui"] + arguments))
        context.application = self
        let command = try #require(asyncCommands.commands[name])
        try await command.run(using: &context)
        return console.text
    }
}
