import Testing
@testable import GonghuiCore

@Suite struct OutreachRulesTests {
    @Test func dayNumbersRoundTripAndWeekdaysAreRight() throws {
        #expect(try CalendarDate(parsing: "1970-01-01").dayNumber == 0)
        #expect(try CalendarDate(parsing: "2000-03-01").dayNumber == 11_017)
        for n in stride(from: -25_000, through: 80_000, by: 97) {
            #expect(CalendarDate(dayNumber: n).dayNumber == n)
        }
        // 2026-11-23 is a Monday; 2024-02-29 a Thursday; 2026-11-21 a Saturday.
        #expect(try CalendarDate(parsing: "2026-11-23").weekdayIndex == 0)
        #expect(try CalendarDate(parsing: "2024-02-29").weekdayIndex == 3)
        #expect(try CalendarDate(parsing: "2026-11-21").weekdayIndex == 5)
        #expect(try CalendarDate(parsing: "2024-02-28").adding(days: 2).description == "2024-03-01")
        #expect(try CalendarDate(parsing: "2023-02-28").adding(days: 1).description == "2023-03-01")
    }

    @Test func aMonthOwesOneMeetingPerWeekThatStartsInIt() throws {
        // November 2026 starts on a Sunday: its weeks start on the 2nd, 9th, 16th, 23rd and 30th.
        #expect(MeetingCalendar.weekStarts(year: 2026, month: 11).map(\.description)
                == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"])
        // February 2027 starts on a Monday: four weeks.
        #expect(MeetingCalendar.weekStarts(year: 2027, month: 2).count == 4)
        #expect(MeetingCalendar.weekStart(of: try CalendarDate(parsing: "2026-11-29")).description == "2026-11-23")
        // A meeting on Sunday 1 November belongs to the week of 26 October, not to November's weeks.
        let held = MeetingCalendar.weeksCovered(year: 2026, month: 11, meetings: [
            try CalendarDate(parsing: "2026-11-01"), try CalendarDate(parsing: "2026-11-04"), try CalendarDate(parsing: "2026-11-06"),
            try CalendarDate(parsing: "2026-11-18"),
        ])
        #expect(held.map(\.held) == [2, 0, 1, 0, 0])
    }

    @Test func sizeFollowsHeadcountAndTheRateIsCoveredOverAll() {
        #expect(EnterpriseSize(headcount: 0) == .micro)
        #expect(EnterpriseSize(headcount: 19) == .micro)
        #expect(EnterpriseSize(headcount: 20) == .small)
        #expect(EnterpriseSize(headcount: 299) == .small)
        #expect(EnterpriseSize(headcount: 300) == .medium)
        #expect(EnterpriseSize(headcount: 1000) == .large)
        #expect(CoverageRate(covered: 0, total: 0).percent == nil)
        #expect(CoverageRate(covered: 1, total: 3).percent == 33.3)
        #expect(CoverageRate(covered: 2, total: 3).percent == 66.7)
        #expect(UnionStatus.coveredStatuses == [.founded, .standard])
        #expect(MeetingSeries.visit.fits(.enterprise) && !MeetingSeries.visit.fits(.worker))
        #expect(MeetingSeries.weekly.fits(.worker) && !MeetingSeries.weekly.fits(.enterprise))
    }
}
