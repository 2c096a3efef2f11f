import Foundation
import GonghuiCore
import Vapor

/// `POST /api/v1/meetings` and `PATCH /api/v1/meetings/{id}`.
struct MeetingInput: Content {
    var kind: String?
    var series: String?
    var orgId: Int?
    var title: String?
    var startsAt: String?
    var endsAt: String?
    var place: String?
    var lat: Double?
    var lng: Double?
    var staffPresent: [String]?
    var consultations: Int?
    var recordsCollected: Int?
    var note: String?
    /// Enterprise meetings: the firms visited (their outcomes can follow later).
    var enterpriseIds: [Int]?
}

/// `POST /api/v1/meetings/{id}/enterprises`: one firm's part in an enterprise meeting.
struct VisitInput: Content {
    var enterpriseId: Int?
    var outcome: String?
    var services: [Int]?
    var note: String?
}

/// `POST /api/v1/meetings/{id}/tasks`.
struct TaskInput: Content {
    var title: String?
    var enterpriseId: Int?
    var ownerStaffId: Int?
    var dueOn: String?
}

struct MeetingStatsDTO: Content {
    /// Applications made through the meeting's booth link, and how they stand.
    let applications: Int
    let approved: Int
    let pending: Int
    let rejected: Int
    let consultations: Int
    let recordsCollected: Int
    let staffPresent: Int
    let enterprises: Int
    let withoutUnion: Int
    let intents: Int
    let founded: Int
}

struct MeetingDTO: Content {
    struct Visit: Content {
        let enterpriseId: Int
        let name: String
        let creditCode: String
        let statusBefore: UnionStatus
        let unionStatus: UnionStatus
        let outcome: VisitOutcome
        let services: [Int]
        let note: String?
    }

    struct Task: Content {
        let id: Int
        let title: String
        let enterpriseId: Int?
        let ownerStaffId: Int?
        let ownerName: String?
        let dueOn: String
        let done: Bool
        let overdue: Bool
    }

    let id: Int
    let kind: MeetingKind
    let series: MeetingSeries
    let orgId: Int
    let orgName: String?
    let title: String?
    let startsAt: Date
    let endsAt: Date?
    let heldOn: String
    let place: String
    let lat: Double?
    let lng: Double?
    let staffPresent: [String]
    let consultations: Int
    let recordsCollected: Int
    let note: String?
    /// The booth's link: `/join` with the organiser and the meeting filled in.
    let joinPath: String
    var enterprises: [Visit]?
    var tasks: [Task]?
    var stats: MeetingStatsDTO?

    init(_ m: Meeting, orgName: String?) {
        id = m.id ?? 0
        kind = m.kind
        series = m.series
        orgId = m.orgID
        self.orgName = orgName
        title = m.title
        startsAt = m.startsAt
        endsAt = m.endsAt
        heldOn = m.heldOn
        place = m.place
        lat = m.lat
        lng = m.lng
        staffPresent = (m.staffPresent ?? "").split(separator: "、").map(String.init)
        consultations = m.consultations
        recordsCollected = m.recordsCollected
        note = m.note
        joinPath = "/join?org=\(m.orgID)&meeting=\(m.id ?? 0)"
    }
}
