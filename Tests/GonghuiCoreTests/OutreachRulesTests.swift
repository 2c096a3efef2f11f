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

    @Test func aMonthOwesOneMeetingPerWeekWhoseThursdayFallsInIt() throws {
        // November 2026 starts on a Sunday: its weeks start on the 2nd, 9th, 16th and 23rd; the week
        // of Monday the 30th is December's (its Thursday is 3 December), so December shows it.
        #expect(MeetingCalendar.weekStarts(year: 2026, month: 11).map(\.description)
                == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"])
        #expect(MeetingCalendar.weekStarts(year: 2026, month: 12).map(\.description)
                == ["2026-11-30", "2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28"])
        // Every week belongs to exactly one month, across a year's end too.
        var all: [String] = []
        for (y, m) in [(2026, 11), (2026, 12), (2027, 1), (2027, 2)] { all += MeetingCalendar.weekStarts(year: y, month: m).map(\.description) }
        #expect(Set(all).count == all.count && all.count == 4 + 5 + 4 + 4)
        #expect(MeetingCalendar.weekStarts(year: 2027, month: 1).first?.description == "2027-01-04")
        // February 2027 starts on a Monday: four weeks.
        #expect(MeetingCalendar.weekStarts(year: 2027, month: 2).count == 4)
        #expect(MeetingCalendar.weekStart(of: try CalendarDate(parsing: "2026-11-29")).description == "2026-11-23")
        // A meeting on Sunday 1 November belongs to the week of 26 October, not to November's weeks.
        let held = MeetingCalendar.weeksCovered(year: 2026, month: 11, meetings: [
            try CalendarDate(parsing: "2026-11-01"), try CalendarDate(parsing: "2026-11-04"), try CalendarDate(parsing: "2026-11-06"),
            try CalendarDate(parsing: "2026-11-18"),
        ])
        #expect(held.map(\.held) == [2, 0, 1, 0])
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
