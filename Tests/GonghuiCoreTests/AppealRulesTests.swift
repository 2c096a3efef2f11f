import Testing
@testable import GonghuiCore

@Suite struct WorkingCalendarTests {
    static func d(_ s: String) -> CalendarDate { try! CalendarDate(parsing: s) }

    /// National Day 2026: 1–7 October off; Sunday 20 September and Saturday 10 October worked (调休).
    static let calendar = WorkingCalendar(holidays: (1...7).map { d("2026-10-0\($0)") }, workdays: [d("2026-09-20"), d("2026-10-10")])

    @Test func holidaysAreSkippedAndMakeUpDaysCount() {
        let c = Self.calendar
        #expect(!c.isWorkingDay(Self.d("2026-10-01")))
        #expect(c.isWorkingDay(Self.d("2026-10-10"))) // a Saturday, worked
        #expect(c.isWorkingDay(Self.d("2026-09-20"))) // a Sunday, worked
        #expect(!c.isWorkingDay(Self.d("2026-10-11"))) // an ordinary Sunday
        // Received Wednesday 30 September: the 5 working days are 8 (Thu), 9 (Fri), 10 (Sat, worked), 12 and 13 October.
        #expect(CalendarDate(dayNumber: c.adding(workingDays: 5, to: Self.d("2026-09-30").dayNumber)) == Self.d("2026-10-13"))
        // Without the holiday table it would have been 7 October.
        #expect(CalendarDate(dayNumber: WorkingCalendar().adding(workingDays: 5, to: Self.d("2026-09-30").dayNumber)) == Self.d("2026-10-07"))
        #expect(c.workingDays(after: Self.d("2026-09-30").dayNumber, through: Self.d("2026-10-12").dayNumber) == 4)
    }

    @Test func deadlinesFallAtMidnightInBeijingAndMoveOnByTimePaused() {
        let c = Self.calendar
        // Received Friday 2026-11-20 at 23:30 in Beijing (15:30Z): day 5 is Friday the 27th; due at its end.
        let received = Double(Self.d("2026-11-20").dayNumber) * 86_400 + 15.5 * 3600
        let due = c.deadline(afterEpoch: received, workingDays: 5)
        #expect(due == Double(Self.d("2026-11-28").dayNumber) * 86_400 - 8 * 3600)
        // Paused from Monday 23rd to Wednesday 25th: two working days (24th, 25th) added → Tuesday 1 December.
        let extended = c.extend(deadlineEpoch: due, pausedFrom: Double(Self.d("2026-11-23").dayNumber) * 86_400,
                                to: Double(Self.d("2026-11-25").dayNumber) * 86_400 + 3600)
        #expect(extended == Double(Self.d("2026-12-02").dayNumber) * 86_400 - 8 * 3600)
    }
}

@Suite struct AppealRulesTests {
    @Test func theStateMachine() {
        #expect(AppealRules.next(.received, .accept) == .accepted)
        #expect(AppealRules.next(.accepted, .start) == .inProgress)
        #expect(AppealRules.next(.inProgress, .pause) == .waiting)
        #expect(AppealRules.next(.waiting, .start) == .inProgress)
        #expect(AppealRules.next(.inProgress, .resolve) == .resolved)
        #expect(AppealRules.next(.resolved, .close) == .closed)
        #expect(AppealRules.next(.closed, .reopen) == .reopened)
        #expect(AppealRules.next(.reopened, .start) == .inProgress)
        #expect(AppealRules.next(.inProgress, .reroute) == .received)
        #expect(AppealRules.next(.received, .close) == nil)
        #expect(AppealRules.next(.closed, .reroute) == nil)
        #expect(AppealRules.next(.received, .resolve) == nil)
        #expect(!AppealState.waiting.clockRuns && AppealState.waiting.isOpen && !AppealState.resolved.isOpen)
    }

    @Test func trackingNumbersCarryACheckDigit() throws {
        let n = TrackingNumber.make(day: try CalendarDate(parsing: "2026-11-21"), serial: 42)
        #expect(n.count == 11 && n.hasPrefix("2611210042"))
        #expect(TrackingNumber.parse(TrackingNumber.display(n)) == n)
        #expect(TrackingNumber.parse("２６１１２１ ００４２ " + String(n.last!)) == n)
        // Any one digit changed, or two neighbours swapped, is caught.
        for i in 0..<11 {
            var digits = Array(n)
            digits[i] = Character(String((Int(String(digits[i]))! + 1) % 10))
            #expect(TrackingNumber.parse(String(digits)) == nil)
        }
        #expect(TrackingNumber.parse("123") == nil)
    }
}
